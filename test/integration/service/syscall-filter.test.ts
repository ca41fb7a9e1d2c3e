// The unit as shipped against what the daemon really does: real daemons run under strace -f
// (start, logins, password changes with the password blocklist, sd_notify and its watchdog, a log
// export encrypted with the Log Password, HTTPS and web mode, a master card enrolled, tapped and
// held on a virtual reader, the sync helper process pushing to a slave over a real sshd, the
// slave applying it, SIGHUP, SIGTERM), and every system call recorded is checked against the
// unit's SystemCallFilter, with the sets read from systemd-analyze.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import t from 'tap';
import unix from 'unix-dgram';
import { call, daemonAnswers } from '../../../agent/wire/client.js';
import type { StatusReport } from '../../../agent/wire/status-report.js';
import { BIN, cleanup, cli, DEFAULTS, makeEnv, provisionWithDefaults, ROOT, type Env } from '../../support/harness.js';
import { enrollTwice } from '../../support/master-card.js';
import { PcscPeer, type VirtualCard } from '../../support/pcsc.js';
import { prepareSshd, startSshd } from '../../support/sshd.js';
import { loadSyscallSets, parseStraceSummary, unitFilter, unitFilterOf } from '../../support/syscall-filter.js';

const run = promisify(execFile);
const UNIT = join(ROOT, 'packaging', 'ccguard.service');
const MFR = 'Quartz-Fjord-91-Lantern';
const MFR2 = 'Quartz-Fjord-91-Lantern-2';
const OPERATOR = 'Harbor-Violet-46-Quill';
const LOG_PASSWORD = 'Log-Secret-Phrase-2026';
const MASTER_UID = '04A1B2C3D4E5F6';

interface Traced {
  proc: ChildProcess;
  output(): string;
  /** SIGTERM, then the exit code and the calls strace counted over the whole process tree. */
  stop(): Promise<{ code: number | null; calls: Map<string, { calls: number; errors: number }> }>;
}

/**
 * Starts the daemon as systemd would (bin/ccguard.js, so env and node are traced from their
 * exec on, as the filter applies from ExecStart on) under strace -f -c. With -D strace runs as a
 * detached grandchild, so the spawned pid is the daemon itself and gets the signals.
 */
async function traceDaemon(env: Env, extraEnv: NodeJS.ProcessEnv = {}): Promise<Traced> {
  const summary = join(env.dir, `strace.${Date.now()}.txt`);
  const proc = spawn('strace', ['-D', '-f', '-qq', '-c', '-o', summary, BIN, 'daemon', '--config', env.configPath], {
    env: { ...process.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const deadline = performance.now() + 30_000;
  while (!(await daemonAnswers(env.socket, 200))) {
    if (proc.exitCode !== null) throw new Error(`traced daemon exited with ${proc.exitCode}: ${output}`);
    if (performance.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`traced daemon did not serve ${env.socket} within 30 s: ${output}`);
    }
    await sleep(50);
  }
  return {
    proc,
    output: () => output,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const code = await exited;
      // strace writes its summary once the last traced process (a helper too) has gone.
      const until = performance.now() + 15_000;
      for (;;) {
        const text = await readFile(summary, 'utf8').catch(() => '');
        if (/\btotal\s*$/m.test(text)) return { code, calls: parseStraceSummary(text) };
        if (performance.now() > until) throw new Error(`strace wrote no summary to ${summary}: ${text}`);
        await sleep(50);
      }
    },
  };
}

function requireStrace(): Promise<void> {
  return run('strace', ['-V']).then(
    () => undefined,
    () => {
      throw new Error('strace is not installed; install it with: apt-get install --no-install-recommends strace');
    },
  );
}

const status = async (env: Env): Promise<StatusReport> => (await call(env.socket, 'status', {})) as StatusReport;

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await sleep(100);
  }
}

t.test('the filter logic refuses what the unit denies, names the set, and follows systemd.exec(5)', async (t) => {
  const sets = await loadSyscallSets();
  const filter = await unitFilterOf(UNIT, sets);
  t.ok(filter.lines.length > 0, `the unit has SystemCallFilter lines: ${filter.lines.join(' | ')}`);
  t.ok(filter.allows('read') && filter.allows('futex') && filter.allows('execve'), 'basic calls pass');
  t.match(filter.why('setuid'), /^denied by ~@privileged/, 'a call in a ~ set is refused, naming the set');
  t.match(filter.why('sched_setaffinity'), /^denied by ~@resources/);
  t.match(filter.why('mount'), /^outside the allowed @default @system-service.*it is in @mount/, 'a call in no allowed set is refused, naming its sets');
  t.match(filter.why('no_such_call'), /systemd-analyze does not know it/);
  const deny = unitFilter('SystemCallFilter=~@mount:EPERM\nSystemCallFilter=~@reboot\n', sets);
  t.same([deny.allows('mount'), deny.allows('reboot'), deny.allows('read')], [false, false, true], 'a deny list (with :ERRNO) refuses only what it names');
  t.match(deny.why('reboot'), /denied by ~@reboot/);
  const reset = unitFilter('SystemCallFilter=@basic-io\nSystemCallFilter=\nSystemCallFilter=~@mount\n', sets);
  t.ok(reset.allows('mknod'), 'an empty assignment resets the filter');
});

t.test("every system call of the daemon's runs is allowed by the unit's SystemCallFilter", async (t) => {
  await requireStrace();
  const sets = await loadSyscallSets();
  const filter = await unitFilterOf(UNIT, sets);
  const recorded = new Map<string, { calls: number; errors: number; runs: string[] }>();
  const record = (name: string, calls: Map<string, { calls: number; errors: number }>): void => {
    for (const [call, c] of calls) {
      const r = recorded.get(call) ?? { calls: 0, errors: 0, runs: [] };
      recorded.set(call, { calls: r.calls + c.calls, errors: r.errors + c.errors, runs: [...r.runs, name] });
    }
  };

  // 1. Start unprovisioned, as a new device does, and SIGTERM.
  const fresh = await makeEnv();
  t.teardown(() => cleanup(fresh));
  const first = await traceDaemon(fresh);
  t.equal((await status(fresh)).provisioned, false);
  const firstStop = await first.stop();
  t.equal(firstStop.code, 0, `unprovisioned daemon stops cleanly on SIGTERM: ${first.output().slice(-300)}`);
  record('unprovisioned start', firstStop.calls);

  // 2. A double station: the slave's daemon (traced) behind a real sshd, and the master (traced)
  //    with a virtual card reader, sd_notify with a watchdog, HTTPS and the web interface style file.
  const base = await makeEnv();
  t.teardown(() => cleanup(base));
  const { dir: sshdDir, hostKey, port } = await prepareSshd(base.dir);
  const master = await makeEnv((dir) => ({
    sync: { peer: { host: '127.0.0.1', port, user: userInfo().username, hostKey, privateKeyFile: join(dir, 'sync_key') }, firstRetryMs: 200, maxRetryMs: 1000 },
    rfid: { holdSeconds: 1, dropoutGraceMs: 300, uidTimeoutMs: 1500, maxRetryMs: 500 },
    webUi: { styleFile: join(dir, 'WebUIStyle_web') },
    https: { certFile: join(dir, 'https', 'server.crt'), keyFile: join(dir, 'https', 'server.key') },
  }));
  t.teardown(() => cleanup(master));
  const keygen = await cli(null, ['sync', 'keygen', '--config', master.configPath, '--json']);
  t.equal(keygen.code, 0, keygen.stderr);
  const key = JSON.parse(keygen.stdout) as { publicKey: string; authorizedKeysLine: string };
  const slave = await makeEnv({ sync: { masterKey: key.publicKey } });
  t.teardown(() => cleanup(slave));
  await provisionWithDefaults(master);
  await provisionWithDefaults(slave);
  const slaveDaemon = await traceDaemon(slave);
  t.teardown(() => slaveDaemon.proc.kill('SIGKILL'));
  const sshd = await startSshd(sshdDir, {
    port,
    authorizedKeys: `${key.authorizedKeysLine}\n`,
    forceCommand: `env CCGUARD_SOCKET=${slave.socket} ${BIN} sync receive`,
  });
  t.teardown(() => sshd.stop());
  const peer = await PcscPeer.start(master.dir);
  t.teardown(() => peer.stop());
  const notify = join(master.dir, 'notify.sock');
  const messages: string[] = [];
  const listener = unix.createSocket('unix_dgram', (msg: Buffer) => messages.push(msg.toString()));
  listener.bind(notify);
  t.teardown(() => listener.close());
  const daemon = await traceDaemon(master, { ...peer.env, NOTIFY_SOCKET: notify, WATCHDOG_USEC: '400000' });
  t.teardown(() => daemon.proc.kill('SIGKILL'));

  await until(
    'first sync (helper process over SSH)',
    () => call(master.socket, 'sync.status', {}) as Promise<{ inSync: boolean }>,
    (s) => s.inSync,
  );
  await until(
    'the card readers',
    () => status(master),
    (s) => s.rfid.readers.length === 2,
  );
  t.equal((await cli(master, ['login', 'operator', '--stdin'], 'Wrong-Password-123\n')).code, 1, 'a wrong password');
  t.equal((await cli(master, ['login', 'operator', '--stdin'], `${DEFAULTS.operator}\n`)).code, 3, 'the default: must change');
  t.equal((await cli(master, ['passwd', 'manufacturer', '--stdin'], `${DEFAULTS.manufacturer}\n${MFR}\n`)).code, 0, 'password change (blocklist, argon2)');
  t.equal((await cli(master, ['passwd', 'operator', '--stdin'], `${DEFAULTS.operator}\n${OPERATOR}\n`)).code, 0);
  t.equal((await cli(master, ['login', 'operator', '--stdin'], `${OPERATOR}\n`)).code, 0);
  t.equal((await cli(master, ['log-password', 'set', '--stdin'], `${MFR}\n${LOG_PASSWORD}\n`)).code, 0);
  const zip = join(master.dir, 'logs.zip');
  const exported = await cli(master, ['logs', 'export', '--output', zip, '--as', 'manufacturer', '--stdin'], `${MFR}\n`);
  t.equal(exported.code, 0, `encrypted log export: ${exported.stderr}`);
  t.ok((await stat(zip)).size > 0);
  t.equal((await cli(master, ['https', 'enable', '--as', 'manufacturer', '--stdin'], `${MFR}\n`)).code, 0, 'HTTPS key and certificate');
  t.equal((await cli(master, ['webui', 'set', '2.0', '--as', 'manufacturer', '--stdin'], `${MFR}\n`)).code, 0, 'style file written');
  t.equal((await cli(master, ['defaults', 'save', '--stdin'], `${MFR}\n`)).code, 0);

  // A secure card: personalised at enrolment (ChangeKey), authenticated at each tap (AES, CMAC).
  const cardState = join(master.dir, 'master-card.json');
  const secureCard = (): Promise<VirtualCard> => peer.placeNtag424({ state: cardState, uid: MASTER_UID, slot: 0, faults: [] });
  const enrolled = await enrollTwice(master, { password: MFR, reader: PcscPeer.READERS[0], timeoutSeconds: 20, place: secureCard });
  t.equal(enrolled.code, 0, `master card enrolled: ${enrolled.stderr}`);
  await enrolled.card?.remove();
  await until(
    'card removed',
    () => status(master),
    (s) => !s.rfid.readers.some((r) => r.cardPresent),
  );
  const held = await secureCard();
  await until(
    'tap: every role on its default',
    () => status(master),
    (s) => s.roles.operator.isDefault && s.roles.manufacturer.isDefault,
  );
  const restored = (): Promise<unknown[]> =>
    (call(master.socket, 'events', { limit: 10_000 }) as Promise<{ events: Array<{ event: string }> }>).then((r) =>
      r.events.filter((e) => e.event === 'ResetOrReboot'),
    );
  await until('hold: manufacturer defaults restored', restored, (e) => e.length > 0, 10_000);
  await held.remove();
  t.equal((await cli(master, ['passwd', 'manufacturer', '--stdin'], `${DEFAULTS.manufacturer}\n${MFR2}\n`)).code, 0);
  await until(
    'the slave has the latest revision',
    () => call(master.socket, 'sync.status', {}) as Promise<{ inSync: boolean }>,
    (s) => s.inSync,
  );
  t.equal((await cli(slave, ['login', 'manufacturer', '--stdin'], `${MFR2}\n`)).code, 0, 'the slave applied the pushes');

  daemon.proc.kill('SIGHUP'); // reopen the logs
  await sleep(200);
  t.equal((await cli(master, ['audit', '--json'])).code, 1, 'audit runs (a role is on its default: exit 1)');
  t.equal((await cli(master, ['readers', '--json'])).code, 0);
  t.equal((await cli(master, ['events', '--limit', '5'])).code, 0);
  t.ok(messages.includes('READY=1') && messages.includes('WATCHDOG=1'), `sd_notify READY and watchdog sent: ${[...new Set(messages)].join(', ')}`);

  const masterStop = await daemon.stop();
  t.equal(masterStop.code, 0, `master stops cleanly on SIGTERM: ${daemon.output().slice(-300)}`);
  record('master', masterStop.calls);
  const slaveStop = await slaveDaemon.stop();
  t.equal(slaveStop.code, 0, 'slave stops cleanly on SIGTERM');
  record('slave', slaveStop.calls);

  // The recording covers what it claims: processes and threads, the sockets, the file watch.
  for (const name of ['execve', 'clone3', 'accept4', 'connect', 'inotify_add_watch', 'fsync', 'rename']) {
    t.ok(recorded.has(name), `${name} was recorded`);
  }
  t.ok((recorded.get('execve')?.calls ?? 0) >= 4, 'the sync helper processes were traced too');

  const refused = [...recorded]
    .filter(([name]) => !filter.allows(name))
    .map(([name, r]) => `${name} (${r.calls} calls, ${r.errors} failed, in: ${[...new Set(r.runs)].join(', ')}): ${filter.why(name)}`);
  t.same(refused, [], `every recorded call passes ${filter.lines.map((l) => `SystemCallFilter=${l}`).join(' ')}`);
  t.comment(`${recorded.size} distinct system calls recorded: ${[...recorded.keys()].sort().join(' ')}`);
});
