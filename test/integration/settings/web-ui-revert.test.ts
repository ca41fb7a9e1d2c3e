import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { judgeHostKey, knownHostsName } from '../../../policy/host-key-trust.js';
import { cleanup, cli, makeEnv } from '../../support/harness.js';
import { SSHD, startSshd } from '../../support/sshd.js';

const run = promisify(execFile);

t.test('known_hosts judgement', async (t) => {
  const key = 'AAAAC3NzaC1lZDI1NTE5AAAAIKnownKey';
  const other = 'AAAAC3NzaC1lZDI1NTE5AAAAIOtherKey';
  // A hashed entry as `ssh-keygen -H` writes it: |1|salt|HMAC-SHA1(salt, name).
  const { createHmac } = await import('node:crypto');
  const salt = Buffer.from('0123456789abcdefghij');
  const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[10.0.0.7]:2222').digest('base64')}`;
  const file = [
    `# comment`,
    `cc1,cc1.local ssh-ed25519 ${key}`,
    `${hashed} ssh-ed25519 ${key}`,
    `@revoked * ssh-ed25519 ${'AAAAC3NzaC1lZDI1NTE5AAAAIRevoked'}`,
  ].join('\n');
  t.equal(knownHostsName('cc1', 22), 'cc1');
  t.equal(knownHostsName('cc1', 2222), '[cc1]:2222');
  t.equal(judgeHostKey(file, 'cc1.local', 22, 'ssh-ed25519', key), 'trusted');
  t.equal(judgeHostKey(file, 'cc1', 22, 'ssh-ed25519', other), 'changed');
  t.equal(judgeHostKey(file, 'cc1', 22, 'ssh-rsa', other), 'changed', 'another key type of a known host is refused too');
  t.equal(judgeHostKey(file, 'cc1', 2222, 'ssh-ed25519', key), 'unknown', 'the port is part of the name');
  t.equal(judgeHostKey(file, '10.0.0.7', 2222, 'ssh-ed25519', key), 'trusted', 'hashed entries');
  t.equal(judgeHostKey(file, '10.0.0.7', 2222, 'ssh-ed25519', other), 'changed');
  t.equal(judgeHostKey(file, 'elsewhere', 22, 'ssh-ed25519', 'AAAAC3NzaC1lZDI1NTE5AAAAIRevoked'), 'revoked');
  t.equal(judgeHostKey('', 'cc1', 22, 'ssh-ed25519', key), 'unknown');
});

t.test('webui revert deletes the style file on a controller over SSH, checking its host key', async (t) => {
  t.ok(existsSync(SSHD), 'OpenSSH sshd is installed (Debian: apt-get install openssh-server)');
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  const sshd = await startSshd(env.dir);
  t.teardown(() => sshd.stop());
  const styleFile = join(env.dir, 'WebUIStyle_web');
  const knownHosts = join(env.dir, 'known_hosts');
  const revert = (...extra: string[]) =>
    cli(null, [
      'webui',
      'revert',
      '--host',
      '127.0.0.1',
      '--port',
      String(sshd.port),
      '--user',
      sshd.user,
      '--identity',
      sshd.clientKey,
      '--known-hosts',
      knownHosts,
      '--style-file',
      styleFile,
      ...extra,
    ]);
  await writeFile(styleFile, '2.0-only\n');
  const [type, key] = sshd.hostPublicKey.split(' ');

  const unknown = await revert();
  t.equal(unknown.code, 1, 'an unknown host key is refused');
  t.match(unknown.stderr, /is not in .*known_hosts .*--accept-new-host-key/);
  t.ok(existsSync(styleFile), 'nothing deleted');

  // A changed key: known_hosts holds another key for this host.
  const { stdout } = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(env.dir, 'impostor')]).then(async () => ({
    stdout: await readFile(join(env.dir, 'impostor.pub'), 'utf8'),
  }));
  await writeFile(knownHosts, `[127.0.0.1]:${sshd.port} ${stdout.split(' ').slice(0, 2).join(' ')}\n`);
  for (const extra of [[], ['--accept-new-host-key']]) {
    const changed = await revert(...extra);
    t.equal(changed.code, 1, `a changed host key is refused ${extra.join(' ')}`);
    t.match(changed.stderr, /does not match .*refusing to connect/);
  }
  t.ok(existsSync(styleFile), 'nothing deleted');

  // Unknown host with --accept-new-host-key: recorded, as OpenSSH's accept-new does.
  await writeFile(knownHosts, '');
  const accepted = await revert('--accept-new-host-key');
  t.equal(accepted.code, 0, accepted.stderr);
  t.match(accepted.stdout, /recorded the host key/);
  t.notOk(existsSync(styleFile), 'the style file is gone');
  t.equal((await readFile(knownHosts, 'utf8')).trim(), `[127.0.0.1]:${sshd.port} ${type} ${key}`);

  // Known host now: no flag needed; an absent file is already the default.
  await writeFile(styleFile, '2.0-only\n');
  const known = await revert();
  t.equal(known.code, 0, known.stderr);
  t.notOk(existsSync(styleFile));
  const again = await revert();
  t.equal(again.code, 0);
  t.match(again.stdout, /already absent/);
});
