import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { BIN, cleanup, cli, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon, statusJson, type Env } from '../../support/harness.js';
import { sevenZip } from '../../support/seven-zip.js';

const MFR = 'Quartz-Fjord-91-Lantern';
const OPERATOR = 'Harbor-Violet-46-Quill';
const LOG_PASSWORD = 'Support-Zip-Key-2026!';

async function station(t: { teardown(fn: () => unknown): void }, overrides: Record<string, unknown> = {}): Promise<Env> {
  const env = await makeEnv(overrides);
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  for (const [role, password] of [
    ['manufacturer', MFR],
    ['operator', OPERATOR],
  ] as const) {
    const r = await cli(env, ['passwd', role, '--stdin'], `${DEFAULTS[role]}\n${password}\n`);
    if (r.code !== 0) throw new Error(r.stderr);
  }
  return env;
}
const exportAs = (env: Env, output: string, extra: string[] = [], password = OPERATOR) =>
  cli(env, ['logs', 'export', '--output', output, '--stdin', ...extra], `${password}\n`);

t.test('Log Password: rules, status, 0600 file, never in a log', async (t) => {
  const env = await station(t);
  t.equal((await statusJson(env)).logPasswordSet, false);
  const short = await cli(env, ['log-password', 'set', '--stdin'], `${MFR}\nshort-pass\n`);
  t.equal(short.code, 1);
  t.match(short.stderr, /Log Password refused: a Log Password needs at least 12 characters/);
  const wrong = await cli(env, ['log-password', 'set', '--stdin'], `not-the-password\n${LOG_PASSWORD}\n`);
  t.equal(wrong.code, 1);
  t.match(wrong.stderr, /wrong password for manufacturer/);
  const asOperator = await cli(env, ['log-password', 'set', '--stdin'], `${OPERATOR}\n${LOG_PASSWORD}\n`);
  t.equal(asOperator.code, 1, 'only the manufacturer password sets it');
  const ok = await cli(env, ['log-password', 'set', '--stdin'], `${MFR}\n${LOG_PASSWORD}\n`);
  t.equal(ok.code, 0, ok.stderr);
  t.equal((await statusJson(env)).logPasswordSet, true);
  const { stat } = await import('node:fs/promises');
  t.equal((await stat(join(env.stateDir, 'log-password'))).mode & 0o777, 0o600);
  const logs = (await Promise.all((await readdir(env.logDir)).map((n) => readFile(join(env.logDir, n), 'utf8')))).join('');
  t.notMatch(logs, LOG_PASSWORD);
  t.match(logs, /"event":"ReconfigurationOfSecurityParameters","change":"logPassword"/);
});

t.test('export: AES-256 zip that 7-Zip opens with the Log Password, byte-identical logs, no secret inside', async (t) => {
  const env = await station(t);
  // A rotated log as the agent would leave it, with content the test knows.
  const rotated = Buffer.from(
    Array.from({ length: 5000 }, (_, i) => `{"level":30,"msg":"charging session ${i}","idTag":"${randomBytes(4).toString('hex')}"}\n`).join(''),
  );
  await writeFile(join(env.logDir, 'ccguard.log.1'), rotated);
  t.equal((await cli(env, ['log-password', 'set', '--stdin'], `${MFR}\n${LOG_PASSWORD}\n`)).code, 0);
  const output = join(env.dir, 'logs.zip');
  const r = await exportAs(env, output);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /AES-256 encrypted with the Log Password/);
  t.equal(r.stderr, '', 'no progress bar when not on a terminal');
  t.equal((await sevenZip(['t', `-p${LOG_PASSWORD}`, output])).code, 0, '7z t with the Log Password');
  t.not((await sevenZip(['t', '-pWrong-Password-123', output])).code, 0, 'a wrong password fails');
  const listing = await sevenZip(['l', '-slt', `-p${LOG_PASSWORD}`, output]);
  t.match(listing.stdout, /Method = AES-256 Deflate/);
  const out = join(env.dir, 'extracted');
  t.equal((await sevenZip(['x', `-p${LOG_PASSWORD}`, `-o${out}`, output])).code, 0);
  t.same((await readdir(out)).sort(), ['ccguard.log', 'ccguard.log.1', 'security.log']);
  t.ok((await readFile(join(out, 'ccguard.log.1'))).equals(rotated), 'rotated log byte-identical');
  for (const name of ['ccguard.log', 'security.log']) {
    const exported = await readFile(join(out, name));
    const now = await readFile(join(env.logDir, name));
    t.ok(exported.length > 0 && now.subarray(0, exported.length).equals(exported), `${name}: the file as it was when the export began`);
  }
  const everything = (await Promise.all((await readdir(out)).map((n) => readFile(join(out, n), 'utf8')))).join('');
  for (const secret of [MFR, OPERATOR, LOG_PASSWORD, ...Object.values(DEFAULTS)]) t.notMatch(everything, secret, 'no known secret in the export');
  const security = await readFile(join(env.logDir, 'security.log'), 'utf8');
  const exported = security
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((e) => e.event === 'LogExported');
  t.match(exported, [{ by: 'operator', origin: 'socket:cli', encrypted: true }], 'the export recorded: who, from where, encrypted');

  const again = await exportAs(env, output);
  t.equal(again.code, 2, 'an existing file is not replaced silently');
  t.match(again.stderr, /already exists; give --force/);
  t.equal((await exportAs(env, output, ['--force'])).code, 0);
  const asInstaller = await exportAs(env, join(env.dir, 'i.zip'), ['--as', 'installer'], DEFAULTS.installer);
  t.equal(asInstaller.code, 3, 'a role still on its default password must change it first');
  const asUser = await exportAs(env, join(env.dir, 'u.zip'), ['--as', 'user'], DEFAULTS.user);
  t.equal(asUser.code, 2, 'user may not export');
  const noDir = await exportAs(env, join(env.dir, 'missing', 'x.zip'));
  t.equal(noDir.code, 2);
  t.match(noDir.stderr, /the directory .*missing does not exist/);
  const unenc = await exportAs(env, join(env.dir, 'plain.zip'), ['--unencrypted']);
  t.equal(unenc.code, 1, 'with a Log Password set, --unencrypted is refused');
});

t.test('without a Log Password: refused unless --unencrypted, which is recorded', async (t) => {
  const env = await station(t);
  const output = join(env.dir, 'logs.zip');
  const refused = await exportAs(env, output);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /no Log Password is set.*ccguard log-password set.*--unencrypted/s);
  t.same(
    (await readdir(env.dir)).filter((n) => n.includes('logs.zip')),
    [],
    'no file, not even a partial one',
  );
  const plain = await exportAs(env, output, ['--unencrypted']);
  t.equal(plain.code, 0, plain.stderr);
  t.match(plain.stdout, /NOT encrypted/);
  t.equal((await sevenZip(['t', output])).code, 0, '7z opens it without a password');
  t.match(await readFile(join(env.logDir, 'security.log'), 'utf8'), /"event":"LogExported".*"encrypted":false,"reason":"unencryptedRequested"/);
});

t.test('encryption turned off in the config: exports in the clear, recorded with the reason', async (t) => {
  const env = await station(t, { logs: { encryptExports: false } });
  const output = join(env.dir, 'logs.zip');
  const r = await exportAs(env, output);
  t.equal(r.code, 0, r.stderr);
  t.equal((await sevenZip(['t', output])).code, 0);
  t.match(await readFile(join(env.logDir, 'security.log'), 'utf8'), /"encrypted":false,"reason":"encryptionOffInConfig"/);
});

t.test('an export interrupted midway leaves no file under the output name', async (t) => {
  const env = await station(t);
  t.equal((await cli(env, ['log-password', 'set', '--stdin'], `${MFR}\n${LOG_PASSWORD}\n`)).code, 0);
  // Incompressible logs, so the transfer takes long enough to interrupt.
  for (let i = 1; i <= 3; i++) await writeFile(join(env.logDir, `big.log.${i}`), randomBytes(8 * 1024 * 1024).toString('base64'));
  const output = join(env.dir, 'logs.zip');
  const child = spawn(BIN, ['logs', 'export', '--output', output, '--stdin'], {
    env: { ...process.env, CCGUARD_SOCKET: env.socket },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.on('error', () => undefined);
  child.stdin.end(`${OPERATOR}\n`);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let partial: string | undefined;
  for (let i = 0; i < 400 && partial === undefined; i++) {
    partial = (await readdir(env.dir)).find((n) => n.startsWith('.logs.zip.partial-'));
    if (partial === undefined) await sleep(10);
  }
  t.ok(partial, 'the export writes under a temporary name');
  child.kill('SIGINT');
  t.equal(await exited, 130, 'Ctrl-C ends the export');
  t.same(
    (await readdir(env.dir)).filter((n) => n.includes('logs.zip')),
    [],
    'neither the output nor the temporary file is left',
  );
  // The daemon noticed and serves the next export normally.
  const next = await exportAs(env, output);
  t.equal(next.code, 0, next.stderr);
  t.equal((await sevenZip(['t', `-p${LOG_PASSWORD}`, output])).code, 0);
});

t.test('the progress bar shows bytes and percent on a terminal', async (t) => {
  const env = await station(t, { logs: { encryptExports: false } });
  await writeFile(join(env.logDir, 'big.log.1'), randomBytes(2 * 1024 * 1024).toString('base64'));
  const output = join(env.dir, 'logs.zip');
  // script(1) gives the CLI a pseudo-terminal, as a technician's shell would.
  const command = `printf '%s\\n' '${OPERATOR}' | ${BIN} logs export --output ${output} --stdin`;
  const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, CCGUARD_SOCKET: env.socket } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
  t.equal(r.code, 0, r.out);
  t.match(r.out, /exporting logs \[.*\] 100% \| \d+\.\d of \d+\.\d MiB/);
});

t.test('logs survive SIGKILL; SIGHUP reopens the files after an outside logrotate', async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  let daemon = await startDaemon(env);
  const bad = await cli(env, ['login', 'operator', '--stdin'], 'wrong-password\n');
  t.equal(bad.code, 1);
  await daemon.kill9();
  t.match(await readFile(join(env.logDir, 'security.log'), 'utf8'), /MaintenanceLoginFailed/, 'the line logged before the crash is there');
  daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  await mkdir(join(env.dir, 'old'));
  await rename(join(env.logDir, 'security.log'), join(env.dir, 'old', 'security.log'));
  daemon.proc.kill('SIGHUP');
  let reopened = false;
  for (let i = 0; i < 100 && !reopened; i++) {
    await sleep(20);
    reopened = (await readFile(join(env.logDir, 'ccguard.log'), 'utf8')).includes('log files reopened');
  }
  t.ok(reopened, 'the daemon logged the reopen');
  await cli(env, ['login', 'operator', '--stdin'], 'wrong-password\n');
  t.match(await readFile(join(env.logDir, 'security.log'), 'utf8'), /MaintenanceLoginFailed/, 'new events go to the new file');
  t.equal(daemon.proc.exitCode, null, 'SIGHUP does not stop the daemon');
});
