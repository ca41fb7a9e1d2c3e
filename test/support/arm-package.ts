// An ARM package executed (issue 25): its daemon and CLI under qemu-user with an ARM sysroot and
// the registry's official Node for that CPU (armhf: 20.11.0, the last Node 20 for armv7l and the
// floor the package declares). Used by test/integration/system/{arm64,armhf}-emulated.test.ts.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Test } from 'tap';
import unix from 'unix-dgram';
import { call, daemonAnswers } from '../../agent/wire/client.js';
import { cleanup, DEFAULTS, makeEnv } from './harness.js';
import { buildCcguardDeb, officialNode } from './packages.js';
import { emulatedCli, QEMU, runEmulated, runtimeOf, spawnEmulated, type ArmArch } from './qemu-node.js';
import { debianRoot } from './systemd-container.js';

const run = promisify(execFile);
const NEW = { operator: 'Harbor-Violet-46-Quill', manufacturer: 'Copper-Lantern-83-Fjord' };
const LOG_PASSWORD = 'Quartz-Meadow-Falcon-2917';
const SAMPLES = 5;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

interface SecurityEvent {
  event: string;
  peer?: { uid: number; gid: number; pid: number };
}

/** Start, provision, login, a password change, the peer in the events, an export, PC/SC; the figures as comments. */
export async function runArmPackage(t: Test, arch: ArmArch): Promise<void> {
  t.ok(existsSync(QEMU[arch]), `${QEMU[arch]} is installed (Debian: apt-get install --no-install-recommends qemu-user-static)`);
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  // The shipped argon2 cost (the config default), not the tests' fast one: the figures are the controller's.
  const config = { stateDir: env.stateDir, socket: env.socket, logDir: env.logDir };
  await writeFile(env.configPath, JSON.stringify(config));
  const [deb, sysroot, node] = await Promise.all([buildCcguardDeb(arch, env.dir), debianRoot(`sysroot-${arch}`), officialNode(arch)]);
  const pkg = join(env.dir, 'pkg');
  await run('dpkg-deb', ['-x', deb, pkg]);
  const rt = await runtimeOf(arch, sysroot, node, join(pkg, 'usr', 'lib', 'ccguard'));

  // The Node it runs on is the floor the package declares (armhf: the registry's only armv7l Node 20).
  const version = (await runEmulated(rt, ['-p', 'process.version + " " + process.arch'])).stdout.trim();
  t.comment(`${arch}: node ${version} under ${QEMU[arch]}`);
  const depends = (await run('dpkg-deb', ['-f', deb, 'Depends'])).stdout;
  const floor = /nodejs \(>= ([\d.]+)\)/.exec(depends)?.[1];
  const engines = (JSON.parse(await readFile(join(rt.app, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
  t.equal(engines, `>=${floor}`, `package.json engines (${engines}) and Depends (nodejs >= ${floor}) agree`);
  if (arch === 'armhf') t.equal(version, `v${floor} arm`, 'armhf runs on the declared floor itself');
  else t.match(version, /^v20\.\d+\.\d+ arm64$/);

  const defaults = join(env.dir, 'defaults.json');
  await writeFile(defaults, JSON.stringify(DEFAULTS));
  const provision = await emulatedCli(rt, ['provision', '--config', env.configPath, '--defaults', defaults]);
  t.equal(provision.code, 0, `provision (argon2 under emulation): ${provision.stderr}`);

  // The daemon, with a notify socket: start to READY=1.
  const notify = join(env.dir, 'notify.sock');
  const messages: string[] = [];
  const listener = unix.createSocket('unix_dgram', (msg: Buffer) => messages.push(msg.toString()));
  listener.bind(notify);
  t.teardown(() => listener.close());
  const started = performance.now();
  const daemon = spawnEmulated(rt, [join(rt.app, 'bin', 'ccguard.js'), 'daemon', '--config', env.configPath], {
    extraEnv: { NOTIFY_SOCKET: notify, WATCHDOG_USEC: '30000000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  daemon.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise((resolve) => daemon.on('exit', resolve));
  t.teardown(async () => {
    if (daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
    await exited;
  });
  const deadline = Date.now() + 60_000;
  while (!messages.some((m) => m.startsWith('READY=1')) && Date.now() < deadline && daemon.exitCode === null) await sleep(10);
  const readyMs = performance.now() - started;
  t.ok(
    messages.some((m) => m.startsWith('READY=1')),
    `READY=1 reached the notify socket (${output.slice(0, 500)})`,
  );
  t.ok(await daemonAnswers(env.socket, 5000), 'and the socket serves');

  const login = await emulatedCli(rt, ['login', 'operator', '--stdin', '--socket', env.socket], `${DEFAULTS.operator}\n`);
  t.equal(login.code, 3, `the default password logs in as must-change: ${login.stderr}`);
  const passwd = await emulatedCli(rt, ['passwd', 'operator', '--stdin', '--socket', env.socket], `${DEFAULTS.operator}\n${NEW.operator}\n`);
  t.equal(passwd.code, 0, `a password change without a secure card (argon2, the blocklist): ${passwd.stderr}`);
  const again = await emulatedCli(rt, ['login', 'operator', '--stdin', '--socket', env.socket], `${NEW.operator}\n`);
  t.equal(again.code, 0, 'the new password logs in');

  // The events name the CLI process as the kernel reports it (the peercred module, cross-built).
  const events = await emulatedCli(rt, ['events', '--json', '--socket', env.socket]);
  const log = events.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as SecurityEvent);
  const own = log.find((e) => e.event === 'MaintenanceLoginAccepted' && e.peer?.pid === again.pid);
  t.match(own, { peer: { uid: process.getuid?.(), gid: process.getgid?.(), pid: again.pid } }, 'the login event names the emulated CLI process');

  // A log export opened by 7-Zip.
  t.equal((await emulatedCli(rt, ['passwd', 'manufacturer', '--stdin', '--socket', env.socket], `${DEFAULTS.manufacturer}\n${NEW.manufacturer}\n`)).code, 0);
  const logPassword = await emulatedCli(rt, ['log-password', 'set', '--stdin', '--socket', env.socket], `${NEW.manufacturer}\n${LOG_PASSWORD}\n`);
  t.equal(logPassword.code, 0, logPassword.stderr);
  const zip = join(env.dir, 'logs.zip');
  const exported = await emulatedCli(rt, ['logs', 'export', '--output', zip, '--stdin', '--socket', env.socket], `${NEW.operator}\n`);
  t.equal(exported.code, 0, `log export (AE-2): ${exported.stderr}`);
  const opened = await run('7z', ['t', `-p${LOG_PASSWORD}`, zip]).catch((e: { stdout: string; code: number }) => e);
  t.match(opened.stdout, /Everything is Ok/, '7z opens the export');

  // The PC/SC binding loads (no pcscd here: the service is down, not unavailable).
  const readers = await emulatedCli(rt, ['readers', '--json', '--socket', env.socket]);
  t.not((JSON.parse(readers.stdout) as { service: string }).service, 'unavailable', `the smartcard binding loaded: ${readers.stdout}`);

  // Figures: a login over the socket (argon2 in the emulated daemon) beside a raw argon2 verify in
  // an emulated node with the same binary, hash and runtime flags.
  const loginMs: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = performance.now();
    await call(env.socket, 'login', { role: 'operator', password: NEW.operator });
    loginMs.push(performance.now() - t0);
  }
  const stateFiles = (await readdir(env.stateDir)).filter((f) => /^state\.\d+\.json$/.test(f)).sort();
  const hash = /\$argon2id\$[^"]+/.exec(await readFile(join(env.stateDir, stateFiles.at(-1) as string), 'utf8'))?.[0];
  t.ok(hash, 'an argon2id hash in the state');
  const raw = await runEmulated(rt, [
    '-e',
    `const argon2 = require(${JSON.stringify(join(rt.app, 'node_modules', 'argon2'))});
     (async () => { const ms = []; await argon2.verify(process.argv[1], 'warm-up');
       for (let i = 0; i < ${SAMPLES}; i++) { const t0 = performance.now(); await argon2.verify(process.argv[1], 'x'); ms.push(performance.now() - t0); }
       console.log(JSON.stringify(ms)); })();`,
    hash as string,
  ]);
  t.equal(raw.code, 0, raw.stderr);
  const verifyMs = JSON.parse(raw.stdout) as number[];
  // The fastest of each: other work on the machine only ever adds time, so the minima compare the two.
  const ratio = Math.min(...loginMs) / Math.min(...verifyMs);
  t.comment(
    `${arch} figures: start→READY ${readyMs.toFixed(0)} ms; login median ${median(loginMs).toFixed(0)} ms (min ${Math.min(...loginMs).toFixed(0)}) ` +
      `beside raw argon2 verify median ${median(verifyMs).toFixed(0)} ms (min ${Math.min(...verifyMs).toFixed(0)}), ratio of the minima ${ratio.toFixed(2)}; ` +
      `a CLI command end to end ~${again.ms.toFixed(0)} ms`,
  );
  t.ok(ratio < 2, `a login costs its hash, little more (ratio ${ratio.toFixed(2)})`);

  daemon.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM stops the emulated daemon cleanly');
}
