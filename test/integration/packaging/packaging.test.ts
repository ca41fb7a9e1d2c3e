// The Debian package and the systemd unit, checked with the real tools: systemd-analyze,
// dpkg-deb, lintian, dpkg -i / --purge on this machine (the test needs root, as CI has).
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import unix from 'unix-dgram';
import { daemonAnswers } from '../../../agent/wire/client.js';
import { BIN, cleanup, cli, DEFAULTS, makeEnv, provisionWithDefaults, ROOT } from '../../support/harness.js';

const run = promisify(execFile);
const UNIT = join(ROOT, 'packaging', 'ccguard.service');

async function sh(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
    child.stdin.on('error', () => undefined); // a command that exits without reading its input
    child.stdin.end(opts.input ?? '');
  });
}

/** ELF e_machine values: x86-64, AArch64, ARM. */
const ELF_MACHINE: Record<string, number> = { amd64: 0x3e, arm64: 0xb7, armhf: 0x28 };

async function elfMachine(path: string): Promise<number> {
  const header = (await readFile(path)).subarray(0, 20);
  if (header.readUInt32BE(0) !== 0x7f454c46) return -1;
  return header.readUInt16LE(18);
}

/** Files of a package listing (dpkg-deb -c) that only a build reads: makefiles, gyp config, objects, sources. */
function buildLeftovers(contents: string): string[] {
  return contents
    .split('\n')
    .map((l) => l.split(/\s+/).slice(5).join(' '))
    .filter(
      (path) =>
        /\/(Makefile|CMakeLists\.txt|config\.gypi|[^/]+\.(mk|a|o|c|cc|cpp|h|hpp|gyp|gypi))$/.test(path) ||
        /\/build\/Release\/(obj\.target|\.deps)\//.test(path),
    );
}

/** argon2's binaries in a package: a prebuild for the target or the cross build's own, not both. */
function argon2Binaries(contents: string): string[] {
  return [...contents.matchAll(/(\S*node_modules\/argon2\/\S+\.node)$/gm)].map((m) => m[1] as string);
}

t.test('build-deb.sh refuses an argument it does not understand, before building anything', async (t) => {
  for (const args of [['arm46'], ['--arch', 'arm64'], ['arm64', 'armhf']]) {
    const r = await sh('bash', [join(ROOT, 'packaging', 'build-deb.sh'), ...args]);
    t.equal(r.code, 2, `build-deb.sh ${args.join(' ')}: exit 2`);
    t.match(r.out, /usage: packaging\/build-deb\.sh \[amd64\|arm64\|armhf\]/, 'and says what it takes');
  }
  const conflict = await sh('bash', [join(ROOT, 'packaging', 'build-deb.sh'), 'armhf'], { env: { ARCH: 'arm64' } });
  t.equal(conflict.code, 2, 'ARCH=arm64 with the argument armhf: refused, not one of them silently');
});

t.test('the unit scores 2.0 or lower in systemd-analyze security', async (t) => {
  const r = await sh('systemd-analyze', ['security', '--offline=true', '--threshold=20', UNIT]);
  const score = Number(/Overall exposure level for ccguard\.service: ([\d.]+)/.exec(r.out)?.[1]);
  t.ok(score <= 2.0, `exposure ${score} (goal ≤ 2.0)`);
  t.equal(r.code, 0, '--threshold=20 passes');
  t.match(r.out, /✓ MemoryDenyWriteExecute=/, 'no writable+executable memory (node runs jitless)');
});

t.test("a double station master's drop-in (network, JIT for the push helper) still verifies; its cost is reported", async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  // One file with both [Service] sections merges the way a drop-in does.
  const merged = join(env.dir, 'ccguard.service');
  // ExecStart points at this checkout: verify wants the command to exist (the package is not installed here).
  const unit = (await readFile(UNIT, 'utf8')).replace('ExecStart=/usr/bin/ccguard ', `ExecStart=${BIN} `);
  await writeFile(merged, `${unit}\n${await readFile(join(ROOT, 'packaging', 'sync-master.conf'), 'utf8')}`);
  const verify = await sh('systemd-analyze', ['verify', '--man=no', merged]);
  t.equal(verify.code, 0, verify.out);
  const r = await sh('systemd-analyze', ['security', '--offline=true', merged]);
  const score = Number(/Overall exposure level for ccguard\.service: ([\d.]+)/.exec(r.out)?.[1]);
  t.ok(score > 0 && score <= 3.5, `master exposure ${score} (single station ≤ 2.0; the network and the JIT cost the rest)`);
  t.match(r.out, /✗ MemoryDenyWriteExecute=/);
});

t.test('the daemon runs with writable+executable memory refused, as MemoryDenyWriteExecute=yes asks', async (t) => {
  const mdwe = join(ROOT, 'test', 'support', 'fixtures', 'mdwe-exec.py');
  const control = await sh('/usr/bin/python3', [mdwe, process.execPath, '-e', 'for (let i = 0; i < 1e6; i++) JSON.stringify({ i })']);
  t.not(control.code, 0, 'control: node with its JIT cannot run under the rule (so the rule is in force)');
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const daemon = spawn('/usr/bin/python3', [mdwe, BIN, 'daemon', '--config', env.configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  daemon.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 15_000;
  while (!(await daemonAnswers(env.socket, 200)) && Date.now() < deadline && daemon.exitCode === null) await sleep(50);
  t.ok(await daemonAnswers(env.socket), `the daemon serves (${output.slice(0, 300)})`);
  const passwd = await cli(env, ['passwd', 'operator', '--stdin'], `${DEFAULTS.operator}\nHarbor-Violet-46-Quill\n`);
  t.equal(passwd.code, 0, `argon2 and the password blocklist run too: ${passwd.stderr}`);
  daemon.kill('SIGTERM');
  t.equal(await new Promise((resolve) => daemon.on('exit', resolve)), 0);
});

t.test('the package builds, passes lintian, installs, runs, and purges', async (t) => {
  t.equal(process.getuid?.(), 0, 'installing a package needs root (CI runs as root)');
  t.ok(existsSync('/usr/bin/lintian'), 'lintian is installed (Debian: apt-get install lintian)');
  const build = await sh('bash', [join(ROOT, 'packaging', 'build-deb.sh')]);
  t.equal(build.code, 0, build.out);
  const deb = join(ROOT, build.out.trim().split('\n').at(-1) as string);
  const arch = (await run('dpkg', ['--print-architecture'])).stdout.trim();
  const field = async (name: string) => (await run('dpkg-deb', ['-f', deb, name])).stdout.trim();
  t.equal(await field('Architecture'), arch, "Architecture field is this machine's");
  t.equal(await field('Version'), JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).version);
  const contents = (await run('dpkg-deb', ['-c', deb], { maxBuffer: 64 * 1024 * 1024 })).stdout;
  for (const path of [
    './usr/bin/ccguard',
    './lib/systemd/system/ccguard.service',
    './lib/systemd/system/ccguard-console.service',
    './usr/lib/ccguard/dist/console/entry.js',
    './usr/lib/ccguard/console/views/layout.eta',
    './usr/lib/ccguard/console/static/console.js',
    './usr/lib/sysusers.d/ccguard.conf',
    './usr/lib/tmpfiles.d/ccguard.conf',
    './etc/ccguard/config.json',
    './usr/share/man/man1/ccguard.1.gz',
    './usr/share/doc/ccguard/changelog.gz',
    './usr/share/doc/ccguard/copyright',
    './usr/share/bash-completion/completions/ccguard',
    './usr/share/doc/ccguard/schemas/audit.schema.json',
    './usr/share/doc/ccguard/examples/sync-master.conf',
    './usr/lib/ccguard/dist/policy/blocklist.bin',
    './usr/lib/ccguard/dist/rfid/reader-watch.js',
    './usr/lib/ccguard/dist/rfid/ntag424/index.js',
  ])
    t.match(contents, new RegExp(`${path.replaceAll('.', '\\.')}( |$)`, 'm'), `ships ${path}`);
  const npmArch = { amd64: 'x64', arm64: 'arm64', armhf: 'arm' }[arch] ?? arch;
  t.match(contents, new RegExp(`node_modules/argon2/prebuilds/linux-${npmArch}/`), `argon2 for linux-${npmArch}`);
  const platforms = new Set([...contents.matchAll(/node_modules\/argon2\/prebuilds\/([^/\s]+)\//g)].map((m) => m[1]));
  t.same([...platforms], [`linux-${npmArch}`], "no other platforms' argon2 binaries");
  t.match(contents, /usr\/lib\/ccguard\/native\/sd-notify\/build\/Release\/sd_notify\.node/, "systemd's notify protocol");
  t.match(contents, /node_modules\/ccguard-sd-notify -> \.\.\/native\/sd-notify/);
  t.notMatch(contents, /node_modules\/unix-dgram\//, "the tests' datagram binding is not shipped");
  t.match(contents, /node_modules\/smartcard\/build\/Release\/smartcard_napi\.node/);
  t.match(contents, /usr\/lib\/ccguard\/native\/peercred\/build\/Release\/peercred\.node/, 'the SO_PEERCRED binding');
  t.match(contents, /node_modules\/ccguard-peercred -> \.\.\/native\/peercred/, 'linked where the agent requires it');
  const extracted = await makeEnv();
  t.teardown(() => cleanup(extracted));
  await run('dpkg-deb', ['-x', deb, extracted.dir]);
  for (const m of (await run('find', [extracted.dir, '-name', '*.node'])).stdout.trim().split('\n')) {
    t.equal(await elfMachine(m), ELF_MACHINE[arch], `${m.slice(extracted.dir.length)} is built for ${arch}`);
  }
  t.notMatch(contents, /node_modules\/(typescript|tap|@types)\//, 'no development dependencies');
  t.same(buildLeftovers(contents), [], 'no build leftovers (makefiles, gyp config, objects, static libraries, sources)');
  t.equal(argon2Binaries(contents).length, 1, `one argon2 binary: ${argon2Binaries(contents).join(', ')}`);
  t.match(await field('Depends'), /nodejs \(>= 20\.11\.0\)/, 'Depends names the Node floor a test runs it on (armhf: 20.11.0)');

  const lint = await sh('lintian', ['--no-tag-display-limit', deb]);
  const errors = lint.out.split('\n').filter((l) => l.startsWith('E:'));
  t.same(errors, [], `lintian reports no errors (${lint.out.split('\n').filter((l) => l.startsWith('W:')).length} warnings)`);

  const install = await sh('dpkg', ['-i', deb]);
  t.teardown(() => sh('dpkg', ['--purge', 'ccguard']));
  t.equal(install.code, 0, install.out);
  const version = await sh('/usr/bin/ccguard', ['--version']);
  t.equal(version.out.trim(), await field('Version'));
  t.equal((await sh('id', ['-u', 'ccguard'])).code, 0, 'the ccguard system user exists');
  const peercred = await sh(process.execPath, [
    '-e',
    "process.exit(typeof require('/usr/lib/ccguard/node_modules/ccguard-peercred').peerCredentials === 'function' ? 0 : 1)",
  ]);
  t.equal(peercred.code, 0, `the installed SO_PEERCRED binding loads: ${peercred.out}`);
  const verify = await sh('systemd-analyze', ['verify', '--man=no', '/lib/systemd/system/ccguard.service']);
  t.equal(verify.code, 0, `the installed unit verifies: ${verify.out}`);

  // Provision the installed default state as the factory would, as root: the files belong to ccguard.
  const defaults = await makeEnv();
  t.teardown(() => cleanup(defaults));
  await writeFile(join(defaults.dir, 'defaults.json'), JSON.stringify(DEFAULTS));
  const provision = await sh('/usr/bin/ccguard', ['provision', '--config', '/etc/ccguard/config.json', '--defaults', join(defaults.dir, 'defaults.json')]);
  t.equal(provision.code, 0, provision.out);
  const stateOwner = (await run('stat', ['-c', '%U %a', '/var/lib/ccguard/state.000000000001.json'])).stdout.trim();
  t.equal(stateOwner, 'ccguard 600', 'state written by root belongs to the service user');

  // The installed daemon, as the service user would run it, with a private socket; READY over sd_notify.
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  const config = { stateDir: '/var/lib/ccguard', socket: join(env.dir, 'ccguard.sock'), logDir: join(env.dir, 'log') };
  await writeFile(env.configPath, JSON.stringify(config));
  const notify = join(env.dir, 'notify.sock');
  const messages: string[] = [];
  const listener = unix.createSocket('unix_dgram', (msg: Buffer) => messages.push(msg.toString()));
  listener.bind(notify);
  t.teardown(() => listener.close());
  const daemon = spawn('/usr/bin/ccguard', ['daemon', '--config', env.configPath], { env: { ...process.env, NOTIFY_SOCKET: notify }, stdio: 'ignore' });
  const deadline = Date.now() + 15_000;
  while (!messages.includes('READY=1') && Date.now() < deadline && daemon.exitCode === null) await sleep(20);
  t.ok(messages.includes('READY=1'), 'READY=1 received from the installed daemon');
  t.ok(await daemonAnswers(config.socket), 'and its socket serves');
  const login = await sh('/usr/bin/ccguard', ['login', 'operator', '--stdin', '--socket', config.socket], { input: `${DEFAULTS.operator}\n` });
  t.equal(login.code, 3, 'the provisioned default logs in as must-change');
  const passwd = await sh('/usr/bin/ccguard', ['passwd', 'operator', '--stdin', '--socket', config.socket], {
    input: `${DEFAULTS.operator}\nHarbor-Violet-46-Quill\n`,
  });
  t.equal(passwd.code, 0, `a password change works from the installed files (password blocklist, argon2): ${passwd.out}`);
  // The card readers' code is installed and loads (the PC/SC service itself may be absent here).
  const readers = await sh('/usr/bin/ccguard', ['readers', '--json', '--socket', config.socket]);
  t.not((JSON.parse(readers.out) as { service: string }).service, 'unavailable', `the installed reader watch loads: ${readers.out}`);
  // A daemon that already died must not hang the test until tap's timeout.
  if (daemon.exitCode === null && daemon.signalCode === null) {
    const exited = new Promise((resolve) => daemon.on('exit', resolve));
    daemon.kill('SIGTERM');
    await exited;
  }

  const remove = await sh('dpkg', ['-r', 'ccguard']);
  t.equal(remove.code, 0, remove.out);
  t.notOk(existsSync('/usr/bin/ccguard'), 'removed from PATH');
  t.ok(existsSync('/var/lib/ccguard/state.000000000001.json'), 'remove keeps the state');
  const purge = await sh('dpkg', ['--purge', 'ccguard']);
  t.equal(purge.code, 0, purge.out);
  t.notOk(existsSync('/var/lib/ccguard'), 'purge deletes the state');
  t.notOk(existsSync('/usr/lib/ccguard'), 'nothing is left beside the package files (the daemon run by hand wrote no code cache there)');
  t.notOk(existsSync('/etc/ccguard/config.json'), 'purge deletes the config');
});

for (const arch of ['arm64', 'armhf']) {
  t.test(`cross-built ${arch} package: architecture field and native modules for ${arch}`, async (t) => {
    const triplet = arch === 'arm64' ? 'aarch64-linux-gnu' : 'arm-linux-gnueabihf';
    t.ok(existsSync(`/usr/bin/${triplet}-g++`), `cross compiler present (Debian: apt-get install g++-${triplet})`);
    // Both ways of naming the architecture: ARCH= and the argument.
    const build = await sh('bash', [join(ROOT, 'packaging', 'build-deb.sh'), ...(arch === 'armhf' ? [arch] : [])], {
      env: arch === 'armhf' ? {} : { ARCH: arch },
    });
    t.equal(build.code, 0, build.out);
    const deb = join(ROOT, build.out.trim().split('\n').at(-1) as string);
    t.equal((await run('dpkg-deb', ['-f', deb, 'Architecture'])).stdout.trim(), arch);
    const contents = (await run('dpkg-deb', ['-c', deb], { maxBuffer: 64 * 1024 * 1024 })).stdout;
    t.same(buildLeftovers(contents), [], 'no build leftovers');
    t.equal(argon2Binaries(contents).length, 1, `one argon2 binary, the one node-gyp-build loads: ${argon2Binaries(contents).join(', ')}`);
    const env = await makeEnv();
    t.teardown(() => cleanup(env));
    await run('dpkg-deb', ['-x', deb, env.dir]);
    const modules = (await run('find', [env.dir, '-name', '*.node'])).stdout.trim().split('\n').filter(Boolean);
    t.ok(
      modules.some((m) => m.includes('/argon2/')),
      'argon2 binary present',
    );
    t.ok(
      modules.some((m) => m.includes('/sd-notify/')),
      'sd-notify binary present',
    );
    t.ok(
      modules.some((m) => m.includes('/smartcard/')),
      'smartcard (PC/SC) binary present',
    );
    t.ok(
      modules.some((m) => m.includes('/native/peercred/')),
      'SO_PEERCRED binding present',
    );
    for (const m of modules) t.equal(await elfMachine(m), ELF_MACHINE[arch], `${m.slice(env.dir.length)} is built for ${arch}`);
  });
}
