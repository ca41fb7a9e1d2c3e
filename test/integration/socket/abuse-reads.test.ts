// Issue 22 rows 3 and 4: a stranger (uid 65534 in the socket's group) floods reads and invalid
// frames; root's status, login, events and follow still answer, the daemon's memory stays bounded
// and the agent log keeps its history.
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { ATTACKER_UID, nodeAs, openToOtherUids } from '../../support/attacker.js';
import { cleanup, cli, DEFAULTS, fillSecurityLog, makeEnv, provisionWithDefaults, startDaemon, type Env } from '../../support/harness.js';

/** A folder the attacker may write its progress marks to. */
async function markDir(env: Env): Promise<string> {
  const dir = join(env.dir, 'marks');
  await mkdir(dir);
  await chmod(dir, 0o777);
  return dir;
}

async function waitFor(path: string, seconds: number): Promise<boolean> {
  for (let i = 0; i < seconds * 10; i++) {
    if (
      await readFile(path).then(
        () => true,
        () => false,
      )
    )
      return true;
    await sleep(100);
  }
  return false;
}

function peakRssMiB(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then((s) => Number(/VmHWM:\s+(\d+) kB/.exec(s)?.[1] ?? 0) / 1024);
}

/** Root's `events --follow` on a raw connection: whether its first answer is a result. */
function followAdmitted(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(socket);
    let text = '';
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 20_000);
    s.on('error', () => done(false));
    s.on('data', (d: Buffer) => {
      text += d.toString();
      const nl = text.indexOf('\n');
      if (nl === -1) return;
      clearTimeout(timer);
      done((JSON.parse(text.slice(0, nl)) as { ok?: boolean }).ok === true);
    });
    s.write(`${JSON.stringify({ v: 1, id: 1, method: 'events', params: { follow: true } })}\n`);
  });
}

// The attacker: `connections` idle connections, then `events` limit 10000 on all at once; it never
// reads. It holds them `holdMs`, then exits (a bounded run). Marks "sent" once every request is out.
const EVENTS_FLOOD = `
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
const [socket, marks, connections, holdMs] = process.argv.slice(-4);
const open = () => new Promise((resolve) => {
  const s = connect(socket, () => resolve(s));
  s.on('error', () => resolve(s));
});
const sockets = [];
for (let i = 0; i < Number(connections); i++) sockets.push(await open());
for (const s of sockets) s.pause();
await new Promise((r) => setTimeout(r, 500));
const line = JSON.stringify({ v: 1, id: 1, method: 'events', params: { limit: 10000 } }) + '\\n';
for (const s of sockets) if (!s.destroyed) s.write(line);
writeFileSync(marks + '/sent', '');
await new Promise((r) => setTimeout(r, Number(holdMs)));
for (const s of sockets) s.destroy();
`;

t.test('an events flood from another uid: root is answered, memory bounded, no debt left on root', async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  await fillSecurityLog(env, 12_000);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  const gid = await openToOtherUids(env);
  const marks = await markDir(env);
  const pid = daemon.proc.pid as number;
  const before = await peakRssMiB(pid);

  const attack = nodeAs(ATTACKER_UID, gid, EVENTS_FLOOD, [env.socket, marks, '128', '12000']);
  t.ok(await waitFor(join(marks, 'sent'), 60), 'the attacker sent its requests');
  for (let i = 0; i < 3; i++) {
    const status = await cli(env, ['status', '--json']);
    t.equal(status.code, 0, `root's status answers during the flood (${i + 1})`);
    const login = await cli(env, ['login', 'operator', '--stdin'], `${DEFAULTS.operator}\n`);
    t.equal(login.code, 3, `root's login is checked during the flood (${i + 1}): must change`);
  }
  const attacker = await attack;
  t.equal(attacker.code, 0, `the attacker ran: ${attacker.stderr}`);
  const peak = await peakRssMiB(pid);
  t.comment(`daemon peak RSS ${before.toFixed(0)} MiB before, ${peak.toFixed(0)} MiB after the flood`);
  t.ok(peak < 150, `peak RSS ${peak.toFixed(0)} MiB stays under 150 MiB`);

  const events = await cli(env, ['events', '--limit', '10000', '--json']);
  t.equal(events.code, 0, `root's events right after the flood is admitted: ${events.stderr}`);
  t.ok(await followAdmitted(env.socket), "root's events --follow right after the flood is admitted");
});

// The attacker: `connections` connections in batches of 100, two invalid frames on each, closed once both are answered.
const INVALID_FLOOD = `
import { connect } from 'node:net';
const [socket, connections] = process.argv.slice(-2);
const one = () => new Promise((resolve) => {
  const s = connect(socket);
  let answers = 0;
  const timer = setTimeout(() => s.destroy(), 10000);
  s.on('error', () => undefined);
  s.on('close', () => { clearTimeout(timer); resolve(); });
  s.on('data', (d) => {
    for (const b of d) if (b === 10) answers++;
    if (answers >= 2) s.destroy();
  });
  s.write('[1,2,3]\\n{"v":1,"id":"b","method":"reboot"}\\n');
});
for (let done = 0; done < Number(connections); done += 100) await Promise.all(Array.from({ length: 100 }, one));
`;

t.test('invalid frames on many connections from another uid: the agent log keeps its history', async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  const gid = await openToOtherUids(env);
  const agentLog = join(env.logDir, 'ccguard.log');
  const linesBefore = (await readFile(agentLog, 'utf8')).split('\n').filter(Boolean);
  const first = linesBefore[0];
  t.ok(first, 'the agent log has a line from before the flood');

  const attacker = await nodeAs(ATTACKER_UID, gid, INVALID_FLOOD, [env.socket, '2000']);
  t.equal(attacker.code, 0, `the attacker ran: ${attacker.stderr}`);
  const status = await cli(env, ['status', '--json']);
  t.equal(status.code, 0, "root's status answers after the flood");
  await sleep(200); // the last connections' close handlers
  const after = (await readFile(agentLog, 'utf8')).split('\n').filter(Boolean);
  const grown = after.length - linesBefore.length;
  t.comment(`agent log grew by ${grown} lines for 2,000 connections`);
  t.ok(grown < 50, `the agent log grew by ${grown} lines (< 50)`);
  t.ok(after.includes(first as string), 'the line written before the flood is still in the file');
});
