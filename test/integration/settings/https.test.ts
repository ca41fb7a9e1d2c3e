import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { cleanup, cli, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon, statusJson } from '../../support/harness.js';

const run = promisify(execFile);
const OPERATOR = 'Harbor-Violet-46-Quill';

t.test('HTTPS: a P-256 self-signed certificate with the configured SANs, key 0600, fingerprint in status', async (t) => {
  const env = await makeEnv((dir) => ({
    https: {
      certFile: join(dir, 'https', 'server.crt'),
      keyFile: join(dir, 'https', 'server.key'),
      hostName: 'cc612-4711.local',
      ipAddresses: ['192.0.2.10', '2001:db8::10'],
    },
  }));
  const [certFile, keyFile] = [join(env.dir, 'https', 'server.crt'), join(env.dir, 'https', 'server.key')];
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  t.equal((await cli(env, ['passwd', 'operator', '--stdin'], `${DEFAULTS.operator}\n${OPERATOR}\n`)).code, 0);
  let s = await statusJson(env);
  t.same([s.https, s.httpsCertificate], [false, null], 'off, no certificate yet');

  t.equal((await cli(env, ['https', 'enable', '--stdin'], 'Wrong-Pass-123\n')).code, 1, 'wrong password refused');
  const on = await cli(env, ['https', 'enable', '--stdin', '--json'], `${OPERATOR}\n`);
  t.equal(on.code, 0, on.stderr);
  s = await statusJson(env);
  t.equal(s.https, true);
  const text = (await run('openssl', ['x509', '-in', certFile, '-noout', '-text'])).stdout;
  t.match(text, /Public Key Algorithm: id-ecPublicKey[\s\S]*NIST CURVE: P-256/i, 'ECDSA P-256');
  t.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
  t.match(text, /Subject: CN ?= ?cc612-4711\.local/);
  t.match(text, /DNS:cc612-4711\.local, IP Address:192\.0\.2\.10, IP Address:2001:DB8:0:0:0:0:0:10/i, 'the configured SANs');
  const dates = (await run('openssl', ['x509', '-in', certFile, '-noout', '-startdate', '-enddate'])).stdout;
  const [from, to] = [...dates.matchAll(/=(.+)/g)].map((m) => Date.parse(m[1] as string));
  const years = ((to as number) - (from as number)) / (365.25 * 24 * 3600 * 1000);
  t.ok(years > 9.99 && years < 10.01, `valid for 10 years (${years.toFixed(3)})`);
  const certKey = (await run('openssl', ['x509', '-in', certFile, '-noout', '-pubkey'])).stdout;
  const keyPub = (await run('openssl', ['pkey', '-in', keyFile, '-pubout'])).stdout;
  t.equal(certKey, keyPub, 'the key matches the certificate');
  t.equal((await stat(keyFile)).mode & 0o777, 0o600, 'key file 0600: its directory is not set up to share it with a group');
  const fp = (await run('openssl', ['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256'])).stdout.split('=')[1]?.trim();
  t.equal(s.httpsCertificate?.sha256, fp, "status shows the certificate's SHA-256 fingerprint");
  t.match((await cli(env, ['status'])).stdout, new RegExp(`\\ncertificate +SHA-256 ${fp}, valid until `));

  // Enabling again keeps the certificate; rotate makes a new one; disable keeps the files.
  t.equal((await cli(env, ['https', 'enable', '--stdin'], `${OPERATOR}\n`)).code, 0);
  t.equal((await statusJson(env)).httpsCertificate?.sha256, fp, 'created once');
  const keyBefore = await readFile(keyFile, 'utf8');
  t.equal((await cli(env, ['https', 'rotate', '--stdin'], `${OPERATOR}\n`)).code, 0);
  const rotated = (await statusJson(env)).httpsCertificate?.sha256;
  t.not(rotated, fp, 'rotate: a new certificate');
  t.not(await readFile(keyFile, 'utf8'), keyBefore, 'and a new key');
  t.equal((await cli(env, ['https', 'disable', '--stdin'], `${OPERATOR}\n`)).code, 0);
  t.equal((await statusJson(env)).https, false);

  // A key that no longer matches (a crash between the two writes) is remade at the next enable.
  await writeFile(keyFile, keyBefore, { mode: 0o600 });
  t.equal((await statusJson(env)).https, false);
  t.equal((await cli(env, ['https', 'enable', '--stdin'], `${OPERATOR}\n`)).code, 0);
  const repaired = (await statusJson(env)).httpsCertificate?.sha256;
  t.ok(repaired && repaired !== rotated, 'a mismatched pair is replaced');
  const events = (await cli(env, ['events', '--json', '--limit', '1000'])).stdout;
  t.equal(events.split('\n').filter((l) => l.includes('"change":"https"')).length, 4, 'every HTTPS switch is a security event');
  t.equal(events.split('\n').filter((l) => l.includes('"change":"certificate"')).length, 3, 'every certificate change is one');
  t.notOk((await readFile(join(env.logDir, 'security.log'), 'utf8')).includes('PRIVATE KEY'));
});

t.test("the key is shared with one group only where its directory says so (setgid, another group than the daemon's)", async (t) => {
  const env = await makeEnv((dir) => ({ https: { certFile: join(dir, 'https', 'server.crt'), keyFile: join(dir, 'https', 'server.key') } }));
  t.teardown(() => cleanup(env));
  const dir = join(env.dir, 'https');
  // As the package's tmpfiles entry makes /persistency/https: 2755, group ccguard-console (here: nogroup).
  const CONSOLE_GID = 65534;
  await mkdir(dir, { mode: 0o755 });
  await chown(dir, process.getuid?.() ?? 0, CONSOLE_GID);
  await chmod(dir, 0o2755);
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  t.equal((await cli(env, ['passwd', 'operator', '--stdin'], `${DEFAULTS.operator}\n${OPERATOR}\n`)).code, 0);
  t.equal((await cli(env, ['https', 'enable', '--stdin'], `${OPERATOR}\n`)).code, 0);
  const key = await stat(join(dir, 'server.key'));
  t.same([key.mode & 0o777, key.gid], [0o640, CONSOLE_GID], "0640, the directory's group: the console reads it");
  t.notOk((await cli(env, ['audit', '--json'])).stdout.includes('server.key'), 'the audit accepts it');

  // The daemon's own group (every socket client's) on a setgid directory does not share it.
  await chown(dir, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
  await chmod(dir, 0o2755);
  t.equal((await cli(env, ['https', 'rotate', '--stdin'], `${OPERATOR}\n`)).code, 0);
  t.equal((await stat(join(dir, 'server.key'))).mode & 0o777, 0o600, 'the socket group never reads the key');
});
