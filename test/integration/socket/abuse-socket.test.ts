// A hostile local client on the control socket (threat model: a compromised web server in group
// ccguard): floods, followers, requests left behind, forged origins, values that must not come back.
// Real daemon, real Unix socket, raw bytes.
// tap: serial (the daemon's memory and answer times during floods: files beside it would be measured too)
import { spawn } from 'node:child_process';
import { chmod, readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { SOCKET_LIMITS } from '../../../agent/daemon/socket/index.js';
import { call } from '../../../agent/wire/client.js';
import { allLogText, BIN, cleanup, cli, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon, type Env } from '../../support/harness.js';

/** A JSON line (an answer, an event) as the test reads it: any field, and the error body of a refusal. */
type JsonLine = Record<string, unknown> & { error: { code: string; message: string } };

function open(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path, () => resolve(s));
    s.once('error', reject);
  });
}

/** Newline-delimited JSON lines as they arrive on `socket`. */
function lines(socket: Socket, onLine: (message: JsonLine) => void): void {
  let buf = '';
  socket.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) !== -1) {
      onLine(JSON.parse(buf.slice(0, nl)) as JsonLine);
      buf = buf.slice(nl + 1);
    }
  });
}

/** Sends raw lines on a new connection and resolves with the first `count` answers. */
async function ask(path: string, raw: string[], count = raw.length, timeoutMs = 10_000): Promise<Array<JsonLine>> {
  const socket = await open(path);
  const out: Array<JsonLine> = [];
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${out.length} of ${count} answers within ${timeoutMs} ms`)), timeoutMs);
      lines(socket, (m) => {
        out.push(m);
        if (out.length === count) {
          clearTimeout(timer);
          resolve(out);
        }
      });
      socket.write(`${raw.join('\n')}\n`);
    });
  } finally {
    socket.destroy();
  }
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) / 1024;
}

async function securityEvents(env: Env): Promise<Array<JsonLine>> {
  const r = await cli(env, ['events', '--json', '--limit', '10000']);
  if (r.code !== 0) throw new Error(`events failed (${r.code}): ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as JsonLine);
}

/** Milliseconds one call takes, or Infinity when it fails for another reason than a refusal. */
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn().catch((err: { code?: string }) => {
    if (err.code !== 'mustChange' && err.code !== 'refused') throw err;
  });
  return performance.now() - t0;
}

/** Wrong logins are free up to 100 here, so every one is hashed and recorded. */
const MANY_FREE_FAILURES = { throttle: { freeFailures: 100, baseDelayMs: 1, maxDelayMs: 10 } };

t.test('64 connections × 200 pipelined events, never read: memory bounded, status and login still answered', async (t) => {
  const env = await makeEnv(MANY_FREE_FAILURES);
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  const pid = daemon.proc.pid as number;
  // Events worth reading: 100 wrong logins give each `events` answer ~100 entries.
  const wrong = Array.from({ length: 100 }, (_, i) => JSON.stringify({ v: 1, id: i, method: 'login', params: { role: 'installer', password: `wrong-${i}` } }));
  await ask(env.socket, wrong, wrong.length, 60_000);
  const idleRss = await rssMiB(pid);

  const flood = await Promise.all(Array.from({ length: 64 }, () => open(env.socket)));
  t.teardown(() => flood.forEach((s) => s.destroy()));
  const burst = `${Array.from({ length: 200 }, (_, i) => JSON.stringify({ v: 1, id: i, method: 'events', params: {} })).join('\n')}\n`;
  for (const s of flood) {
    s.pause(); // never reads
    s.write(burst);
  }
  let peak = idleRss;
  let worstStatus = 0;
  let worstLogin = 0;
  for (let round = 0; round < 10; round++) {
    worstStatus = Math.max(worstStatus, await timed(() => call(env.socket, 'status', {}, { timeoutMs: 10_000 })));
    worstLogin = Math.max(worstLogin, await timed(() => call(env.socket, 'login', { role: 'user', password: DEFAULTS.user }, { timeoutMs: 10_000 })));
    peak = Math.max(peak, await rssMiB(pid));
    await sleep(100);
  }
  t.equal(daemon.proc.exitCode, null, 'the daemon is alive');
  t.ok(peak < 150, `daemon RSS ${idleRss.toFixed(0)} MiB idle, peak ${peak.toFixed(0)} MiB during the flood (bound 150)`);
  t.ok(worstStatus < 2000, `status answered within ${worstStatus.toFixed(0)} ms (bound 2000)`);
  t.ok(worstLogin < 5000, `login answered within ${worstLogin.toFixed(0)} ms (bound 5000)`);
  for (const s of flood) s.destroy();
  t.equal((await cli(env, ['status', '--json'])).code, 0, 'status after the flood');
});

t.test('200 pipelined requests in one write are all answered, in order, to a client that reads', async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  const requests = Array.from({ length: 200 }, (_, i) => JSON.stringify({ v: 1, id: i, method: i % 2 ? 'readers' : 'status', params: {} }));
  const answers = await ask(env.socket, requests);
  t.same(
    answers.map((a) => a.id),
    requests.map((_, i) => i),
    'one answer per request',
  );
  t.ok(
    answers.every((a) => a.ok === true),
    'every one answered ok',
  );
});

t.test('300 followers: at most the follower cap are admitted; ccguard status and login still answer', async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  let admitted = 0;
  let refused = 0;
  const followers: Socket[] = [];
  t.teardown(() => followers.forEach((s) => s.destroy()));
  for (let i = 0; i < 300; i++) {
    const s = await open(env.socket);
    followers.push(s);
    lines(s, (m) => {
      if (m.ok === true) admitted++;
      else if (m.ok === false && m.error?.code === 'throttled') refused++;
    });
    s.on('error', () => undefined);
    s.write(`${JSON.stringify({ v: 1, id: 1, method: 'events', params: { follow: true } })}\n`);
  }
  for (let i = 0; i < 100 && admitted + refused < 300; i++) await sleep(50);
  t.equal(admitted, SOCKET_LIMITS.followers, `${admitted} followers admitted: the cap`);
  t.ok(refused >= 300 - SOCKET_LIMITS.followers - 50, `${refused} refused with "throttled" (the rest were closed to make room)`);
  const status = await cli(env, ['status', '--json']);
  t.equal(status.code, 0, `ccguard status answers while 300 clients tried to follow: ${status.stderr}`);
  t.equal((await cli(env, ['login', 'user', '--stdin'], `${DEFAULTS.user}\n`)).code, 3, 'login answers (must change)');
  // The admitted followers still get events.
  const live = followers.filter((s) => !s.destroyed);
  t.ok(live.length >= admitted, 'admitted followers stay connected');
});

t.test('connections beyond socketMaxClients: the least recently used idle one makes room for a new client', async (t) => {
  const env = await makeEnv({ socketMaxClients: 8 });
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  const idle: Socket[] = [];
  const closed: number[] = [];
  for (let i = 0; i < 8; i++) {
    const s = await open(env.socket);
    s.on('close', () => closed.push(i));
    idle.push(s);
    await sleep(10);
  }
  t.teardown(() => idle.forEach((s) => s.destroy()));
  t.match(await call(env.socket, 'status', {}, { timeoutMs: 5000 }), { provisioned: true }, 'a new client is served');
  await sleep(100);
  t.same(closed, [0], 'the oldest idle connection was closed for it');
});

t.test('a connection that sends requests and goes away: its queued requests are dropped', async (t) => {
  const env = await makeEnv(MANY_FREE_FAILURES);
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  const SENT = 80;
  const s = await open(env.socket);
  s.write(
    `${Array.from({ length: SENT }, (_, i) => JSON.stringify({ v: 1, id: i, method: 'login', params: { role: 'installer', password: `wrong-${i}` } })).join('\n')}\n`,
  );
  s.destroy();
  await sleep(1500);
  const failed = (await securityEvents(env)).filter((e) => e.event === 'MaintenanceLoginFailed' && e.role === 'installer').length;
  t.ok(failed <= SOCKET_LIMITS.perConnection, `${failed} of ${SENT} wrong logins were worked on (at most the ${SOCKET_LIMITS.perConnection} already started)`);
  t.equal((await cli(env, ['status', '--json'])).code, 0, 'the daemon serves on');
});

t.test('origin with a newline and an escape sequence: refused naming the field and the rule; none of it in events', async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  const forged = 'cli\n2026-01-01T00:00:00Z  LogExported  by=installer\u001b[8m';
  const [answer] = await ask(env.socket, [
    JSON.stringify({ v: 1, id: 1, method: 'login', params: { role: 'user', password: 'wrong-password' }, origin: forged }),
  ]);
  t.equal(answer?.ok, false);
  t.equal(answer?.error?.code, 'invalid');
  t.match(answer?.error?.message, /origin: must be a short token: 1 to 32 characters of a-z 0-9 \. _ : -/, 'names the field and the rule');
  t.notMatch(JSON.stringify(answer), /LogExported|by=installer|\\u001b/, 'the reply does not echo the origin');
  const long = await ask(env.socket, [JSON.stringify({ v: 1, id: 2, method: 'status', params: {}, origin: 'x'.repeat(33) })]);
  t.match(long[0]?.error?.message, /origin: must be a short token/, 'a 33-character origin is refused too');
  const ok = await ask(env.socket, [JSON.stringify({ v: 1, id: 3, method: 'status', params: {}, origin: 'web:dashboard-2.0_x' })]);
  t.equal(ok[0]?.ok, true, 'a token origin is accepted');
  const events = await cli(env, ['events', '--json', '--limit', '10000']);
  t.notMatch(events.stdout, /LogExported|by=installer/, 'no forged text in events');
  t.notOk(events.stdout.includes('\u001b') || events.stdout.includes('\\u001b'), 'no escape byte in events');
  t.notOk((await allLogText(env)).includes('by=installer'), 'nor in any log file');
  t.notOk(
    (await securityEvents(env)).some((e) => e.event === 'MaintenanceLoginFailed'),
    'the refused request never reached the login',
  );
});

t.test('login with a number as password: the error names the field and the type; the value appears nowhere', async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  const requests = [
    JSON.stringify({ v: 1, id: 1, method: 'login', params: { role: 'user', password: 20241231 } }),
    JSON.stringify({ v: 1, id: 2, method: 'login', params: { role: 'admin20241231', password: 'x' } }),
    JSON.stringify({ v: 1, id: 3, method: 'login', params: { role: 'user', password: 'x', pin20241231: 1 } }),
    JSON.stringify({ v: 1, id: 4, method: 'reboot20241231', params: {} }),
    `{"v":1,"id":5,"method":"status","params":{"x":20241231`,
    JSON.stringify({ v: 1, id: 6, method: 'events', params: { limit: 20241231 } }),
  ];
  const answers = await ask(env.socket, requests);
  const byId = new Map(answers.map((a) => [a.id, a]));
  t.match(byId.get(1)?.error?.message, /^invalid params for login: password: expected string$/, 'field and type');
  t.match(byId.get(2)?.error?.message, /role: expected \("manufacturer" \| "installer" \| "operator" \| "user"\)/, 'a picklist names its choices');
  t.match(byId.get(3)?.error?.message, /unknown key \(only the documented keys are accepted\)/, 'an unknown key, not named');
  t.match(byId.get(4)?.error?.message, /unknown method: method is not one of status, login/, 'an unknown method, listing the methods');
  t.match(answers.find((a) => a.id === null)?.error?.message, /^request is not valid JSON/, 'bad JSON, no excerpt');
  t.match(byId.get(6)?.error?.message, /limit: expected a value <=10000/, 'a range names the bound');
  t.notOk(JSON.stringify(answers).includes('20241231'), 'no reply carries the value');
  await daemon.stop();
  t.notOk((await allLogText(env)).includes('20241231'), 'no log file carries it');
});

t.test('security events name the kernel peer (uid, pid) of the client that asked', async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  // A client in another process: the CLI, whose pid the kernel reports.
  const child = spawn(BIN, ['login', 'installer', '--stdin'], { env: { ...process.env, CCGUARD_SOCKET: env.socket }, stdio: ['pipe', 'ignore', 'ignore'] });
  child.stdin.end('wrong-password-for-the-peer-test\n');
  const code = await new Promise((resolve) => child.on('exit', resolve));
  t.equal(code, 1, 'the wrong login was refused');
  // And one from this process.
  await call(env.socket, 'login', { role: 'operator', password: 'wrong-in-process' }).catch(() => undefined);
  const failed = (await securityEvents(env)).filter((e) => e.event === 'MaintenanceLoginFailed');
  const cliEvent = failed.find((e) => e.role === 'installer');
  const ownEvent = failed.find((e) => e.role === 'operator');
  t.same(cliEvent?.peer, { uid: process.getuid?.(), gid: process.getgid?.(), pid: child.pid }, "the CLI process's uid, gid and pid");
  t.same(ownEvent?.peer, { uid: process.getuid?.(), gid: process.getgid?.(), pid: process.pid }, "this test process's pid");
  t.equal(cliEvent?.origin, 'socket:cli', 'beside the claimed origin');
});

t.test('followers are shared per peer uid: another uid gets a slot when one uid holds them all', async (t) => {
  if (process.getuid?.() !== 0) {
    t.fail('this test needs root to run a client as another uid (CI runs as root)');
    return;
  }
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  // Let uid 65534 (nobody) reach the socket of this temporary daemon.
  await chmod(env.dir, 0o711);
  await chmod(env.socket, 0o666);
  const mine: Socket[] = [];
  t.teardown(() => mine.forEach((s) => s.destroy()));
  let admitted = 0;
  for (let i = 0; i < SOCKET_LIMITS.followers; i++) {
    const s = await open(env.socket);
    mine.push(s);
    lines(s, (m) => m.ok === true && admitted++);
    s.write(`${JSON.stringify({ v: 1, id: 1, method: 'events', params: { follow: true } })}\n`);
  }
  for (let i = 0; i < 100 && admitted < SOCKET_LIMITS.followers; i++) await sleep(20);
  t.equal(admitted, SOCKET_LIMITS.followers, 'root holds every follower slot');
  const closed = mine.map(() => false);
  mine.forEach((s, i) => s.on('close', () => (closed[i] = true)));
  const script = `
    const s = require('node:net').connect(${JSON.stringify(env.socket)}, () => s.write(JSON.stringify({ v: 1, id: 1, method: 'events', params: { follow: true } }) + '\\n'));
    s.on('data', (d) => { process.stdout.write(d); s.destroy(); });
    s.on('error', (e) => { console.log(JSON.stringify({ error: e.message })); });`;
  const other = spawn(process.execPath, ['-e', script], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  other.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((resolve) => other.on('exit', resolve));
  t.match(JSON.parse(out.split('\n')[0] ?? '{}'), { ok: true }, `uid 65534 is admitted as a follower (${out.trim()})`);
  await sleep(100);
  t.equal(closed.filter(Boolean).length, 1, "one of root's followers made room");
  t.ok(closed[0], 'the oldest');
});

t.test('SIGTERM with answers a client never reads: the daemon still stops at once', async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  const stuck = await open(env.socket);
  t.teardown(() => stuck.destroy());
  stuck.pause();
  stuck.on('error', () => undefined);
  stuck.write(`${Array.from({ length: 200 }, (_, i) => JSON.stringify({ v: 1, id: i, method: 'audit', params: {} })).join('\n')}\n`);
  await sleep(500);
  const t0 = performance.now();
  const code = await daemon.stop();
  const ms = performance.now() - t0;
  t.equal(code, 0, 'exit 0');
  t.ok(ms < 5000, `stopped in ${ms.toFixed(0)} ms (bound 5000)`);
});

t.test('invalid frames are answered at a bounded rate: noise costs its sender time, not other clients', async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  const FRAMES = 3 * SOCKET_LIMITS.invalidPerSecond;
  const t0 = performance.now();
  const answers = ask(
    env.socket,
    Array.from({ length: FRAMES }, () => '{"v":1,"id":1,"method":"status"'),
    FRAMES,
    60_000,
  );
  await sleep(200);
  const statusMs = await timed(() => call(env.socket, 'status', {}, { timeoutMs: 10_000 }));
  t.equal((await answers).length, FRAMES, 'every frame answered');
  const seconds = (performance.now() - t0) / 1000;
  t.ok(seconds >= 1.5, `${FRAMES} invalid frames took ${seconds.toFixed(1)} s (budget ${SOCKET_LIMITS.invalidPerSecond}/s, the first second's worth at once)`);
  t.ok(statusMs < 2000, `a status in the middle took ${statusMs.toFixed(0)} ms (bound 2000)`);
});

t.test('one follow per connection: a second one is refused, and an event is sent once', async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  const follows = Array.from({ length: 50 }, (_, i) => JSON.stringify({ v: 1, id: i, method: 'events', params: { follow: true, limit: 1 } }));
  const socket = await open(env.socket);
  t.teardown(() => socket.destroy());
  const got: Array<JsonLine> = [];
  lines(socket, (m) => got.push(m));
  socket.write(`${follows.join('\n')}\n`);
  for (let i = 0; i < 100 && got.filter((m) => 'ok' in m).length < 50; i++) await sleep(50);
  const answers = got.filter((m) => 'ok' in m);
  t.equal(answers.length, 50, 'every request answered');
  t.equal(answers.filter((a) => a.ok === true).length, 1, 'one follow admitted');
  t.ok(
    answers.filter((a) => a.ok === false).every((a) => a.error.code === 'invalid' && /already follows/.test(a.error.message)),
    'the others refused, saying why',
  );
  const before = got.filter((m) => 'event' in m).length;
  await cli(env, ['login', 'user', '--stdin'], 'not-the-password\n');
  for (let i = 0; i < 40 && got.filter((m) => 'event' in m).length === before; i++) await sleep(50);
  await sleep(200);
  t.equal(got.filter((m) => 'event' in m).length - before, 1, 'the failed login reaches this connection once');
});
