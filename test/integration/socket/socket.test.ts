import { chmod } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import unix from 'unix-dgram';
import { call } from '../../../agent/wire/client.js';
import { cleanup, cli, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon } from '../../support/harness.js';

/** A JSON line (an answer, an event) as the test reads it: any field, and the error body of a refusal. */
type JsonLine = Record<string, unknown> & { error: { code: string; message: string } };

function open(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path, () => resolve(s));
    s.once('error', reject);
  });
}

/** Collects newline-delimited JSON responses until `count` arrived. */
function collect(socket: Socket, count: number, timeoutMs: number): Promise<Array<JsonLine>> {
  return new Promise((resolve, reject) => {
    const out: Array<JsonLine> = [];
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`only ${out.length} of ${count} responses within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        out.push(JSON.parse(buf.slice(0, nl)) as JsonLine);
        buf = buf.slice(nl + 1);
        if (out.length === count) {
          clearTimeout(timer);
          resolve(out);
        }
      }
    });
  });
}

t.test('10,000 malformed frames: each answered with an error naming the problem; the daemon keeps serving', async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());

  const kinds: Array<[string, RegExp]> = [
    ['{"v":1,"id":1,"method":"status"', /not valid JSON/],
    ['[1,2,3]', /invalid request: expected a JSON object/],
    ['"just a string"', /invalid request: expected a JSON object/],
    ['{"v":1,"method":"status"}', /invalid request: id: /],
    ['{"v":2,"id":"a","method":"status"}', /v: unsupported protocol version/],
    ['{"v":1,"id":"b","method":"reboot"}', /unknown method: method is not one of status, login/],
    ['{"v":1,"id":"c","method":"login","params":{"role":"admin","password":"x"}}', /invalid params for login: role: /],
    ['{"v":1,"id":"d","method":"login","params":{"role":"user","password":42}}', /invalid params for login: password: /],
    ['{"v":1,"id":"e","method":"login","params":{"role":"user","password":""}}', /password: must not be empty/],
    ['{"v":1,"id":"f","method":"status","params":{"x":1}}', /invalid params for status: unknown key \(/],
    ['{"v":1,"id":"g","method":"status","extra":true}', /invalid request: unknown key \(/],
    ['\u0000\u0001binary\u00ff', /not valid JSON/],
  ];
  const oversized = `{"v":1,"id":"big","method":"status","pad":"${'x'.repeat(70 * 1024)}"}`;
  const TOTAL = 10_000;
  const OVERSIZED_EVERY = 500;
  const lines: string[] = [];
  const expected: RegExp[] = [];
  for (let i = 0; i < TOTAL; i++) {
    if (i % OVERSIZED_EVERY === 0) {
      lines.push(oversized);
      expected.push(/exceeds 65536 bytes/);
    } else {
      const [line, re] = kinds[i % kinds.length] as [string, RegExp];
      lines.push(line);
      expected.push(re);
    }
  }
  // Two connections share the flood; a third client asks for status in the middle of it.
  const halves = [lines.slice(0, TOTAL / 2), lines.slice(TOTAL / 2)];
  const sockets = await Promise.all(halves.map(() => open(env.socket)));
  const replies = sockets.map((s, i) => collect(s, (halves[i] as string[]).length, 60_000));
  sockets.forEach((s, i) => s.write(`${(halves[i] as string[]).join('\n')}\n`));
  const during = await call(env.socket, 'status', {}, { timeoutMs: 5000 });
  t.match(during, { provisioned: true }, 'status answered during the flood');
  const answers = (await Promise.all(replies)).flat();
  for (const s of sockets) s.destroy();
  t.equal(answers.length, TOTAL, 'one error response per frame');
  let mismatched = 0;
  answers.forEach((a, i) => {
    if (a.ok !== false || a.error?.code !== 'invalid' || !(expected[i] as RegExp).test(String(a.error?.message))) mismatched++;
  });
  t.equal(mismatched, 0, 'every response is an "invalid" error naming the problem');
  t.ok(
    answers.some((a) => a.id === 'b' && /unknown method/.test(String(a.error?.message))),
    'a request with a usable id gets its id back',
  );
  const status = await cli(env, ['status', '--json']);
  t.equal(status.code, 0, 'status still answers');
  t.equal((await cli(env, ['login', 'user', '--stdin'], `${DEFAULTS.user}\n`)).code, 3, 'logins still work');
  const events = await cli(env, ['events', '--json', '--limit', '10000']);
  const invalid = events.stdout.split('\n').filter((l) => l.includes('"InvalidMessages"')).length;
  t.ok(invalid >= 1 && invalid <= 4, `InvalidMessages aggregated per interval, not a line per frame (${invalid})`);
});

t.test('idle connections are closed', async (t) => {
  const env = await makeEnv({ socketIdleTimeoutMs: 300 });
  t.teardown(() => cleanup(env));
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  const s = await open(env.socket);
  const t0 = performance.now();
  await new Promise((resolve) => s.on('close', resolve));
  const ms = performance.now() - t0;
  t.ok(ms >= 250 && ms < 3000, `closed after ${Math.round(ms)} ms`);
});

t.test('the socket is 0660; a state directory others can read stops the daemon with the path named', async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  const { stat } = await import('node:fs/promises');
  t.equal((await stat(env.socket)).mode & 0o777, 0o660);
  await daemon.stop();
  await chmod(env.stateDir, 0o755);
  const r = await cli(null, ['daemon', '--config', env.configPath]);
  t.not(r.code, 0);
  t.match(r.stderr, new RegExp(`${env.stateDir} is accessible to group or others \\(mode 0755\\); fix it with: chmod 0700`));
});

t.test('SIGTERM: the change in progress finishes, then exit 0', async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  let daemon = await startDaemon(env);
  const pw = 'Harbor-Violet-46-Quill';
  const change = call(env.socket, 'passwd', { role: 'operator', currentPassword: DEFAULTS.operator, newPassword: pw });
  await sleep(30);
  const code = await daemon.stop();
  t.same(await change, { role: 'operator', changed: true }, 'the in-flight change was answered');
  t.equal(code, 0);
  daemon = await startDaemon(env);
  t.equal((await cli(env, ['login', 'operator', '--stdin'], `${pw}\n`)).code, 0);
  await daemon.stop();
});

t.test('sd_notify: READY=1 once the socket serves, then WATCHDOG=1 as asked', async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  const notifyPath = join(env.dir, 'notify.sock');
  const messages: Array<{ text: string; socketServes: Promise<boolean> }> = [];
  const listener = unix.createSocket('unix_dgram', (msg: Buffer) => {
    const text = msg.toString();
    // Connect right away: READY must mean the socket already serves.
    const socketServes = open(env.socket).then(
      (s) => (s.destroy(), true),
      () => false,
    );
    messages.push({ text, socketServes });
  });
  listener.bind(notifyPath);
  t.teardown(() => listener.close());
  const daemon = await startDaemon(env, { NOTIFY_SOCKET: notifyPath, WATCHDOG_USEC: '200000' }, false);
  const deadline = Date.now() + 10_000;
  while (!messages.some((m) => m.text === 'WATCHDOG=1') && Date.now() < deadline) await sleep(20);
  await daemon.stop();
  const ready = messages.find((m) => m.text === 'READY=1');
  t.ok(ready, 'READY=1 sent');
  t.equal(await ready?.socketServes, true, 'the control socket served when READY=1 arrived');
  t.ok(
    messages.some((m) => m.text === 'WATCHDOG=1'),
    'WATCHDOG=1 sent',
  );
  t.ok(
    messages.some((m) => m.text === 'STOPPING=1'),
    'STOPPING=1 on SIGTERM',
  );
});

t.test('a request waiting behind slow work is not cut off as idle', async (t) => {
  // Idle timeout 100 ms; the queued logins together take several times that.
  const env = await makeEnv({ socketIdleTimeoutMs: 100, maxConcurrentHashes: 1, argon2: { memoryKiB: 32 * 1024, timeCost: 3, parallelism: 1 } });
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  const s = await open(env.socket);
  const lines = Array.from({ length: 12 }, (_, i) => JSON.stringify({ v: 1, id: i, method: 'login', params: { role: 'user', password: DEFAULTS.user } }));
  const t0 = performance.now();
  const replies = collect(s, 12, 30_000);
  s.write(`${lines.join('\n')}\n`);
  const answers = await replies;
  const ms = performance.now() - t0;
  s.destroy();
  t.ok(ms > 3 * 100, `the queued work took several idle timeouts (${Math.round(ms)} ms)`);
  t.equal(answers.length, 12);
  t.ok(
    answers.every((a) => a.error?.code === 'mustChange'),
    'every login was answered',
  );
});
