// A double station's master under systemd with the shipped sync drop-in (issue 25): two controller
// containers joined by a private veth link, the slave's own sshd (OpenSSH from its image), the
// master's ccguard.service with /usr/share/doc/ccguard/examples/sync-master.conf installed as
// documented. A password change on the master must reach the slave under the unit's network rules.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { DEFAULTS, ROOT } from '../../support/harness.js';
import { installController, waitActive } from '../../support/controller-image.js';
import { buildCcguardDeb, nodeDeb } from '../../support/packages.js';
import { StationLink, SystemdContainer } from '../../support/systemd-container.js';

const NEW_OPERATOR = 'Harbor-Violet-46-Quill';
const CONFIG = { stateDir: '/var/lib/ccguard', socket: '/run/ccguard/ccguard.sock', logDir: '/var/log/ccguard' };

t.test("the master's sync drop-in: a push over SSH reaches the slave container's sshd", async (t) => {
  t.equal(process.getuid?.(), 0, 'containers and network namespaces need root (CI runs as root)');
  t.ok(existsSync('/usr/bin/systemd-nspawn'), 'systemd-nspawn is installed (Debian: apt-get install --no-install-recommends systemd-container)');
  const link = await StationLink.create();
  t.teardown(() => link.destroy());
  const [ccguard, nodejs] = await Promise.all([buildCcguardDeb('amd64', join(ROOT, 'build', 'system-test-sync')), nodeDeb(process.execPath, 'amd64')]);
  const [master, slave] = await Promise.all([SystemdContainer.boot({ netns: link.masterNs }), SystemdContainer.boot({ netns: link.slaveNs })]);
  t.teardown(() => Promise.all([master.destroy(), slave.destroy()]));
  for (const [name, c] of [
    ['master', master],
    ['slave', slave],
  ] as const) {
    const install = await installController(c, { nodejs, ccguard });
    t.equal(install.code, 0, `${name}: package installed: ${install.stderr.slice(-800)}`);
    await c.put('/root/defaults.json', JSON.stringify(DEFAULTS));
  }

  // The slave: its sshd, and an SSH user in group ccguard for the master's key (README "Double stations").
  t.equal((await slave.exec(['systemctl', 'start', 'ssh'])).code, 0, 'the slave runs sshd');
  const hostKey = (await slave.read('/etc/ssh/ssh_host_ed25519_key.pub')).trim();

  // The master: sync.peer pinned to the slave's host key, the key made by keygen (as root).
  const peer = { host: '192.168.100.2', port: 22, user: 'charge', privateKeyFile: '/var/lib/ccguard/sync_key', hostKey };
  await master.put('/etc/ccguard/config.json', JSON.stringify({ ...CONFIG, sync: { peer, firstRetryMs: 200, maxRetryMs: 2000 } }));
  const keygen = await master.exec(['ccguard', 'sync', 'keygen', '--json']);
  t.equal(keygen.code, 0, `sync keygen: ${keygen.stderr}`);
  const key = JSON.parse(keygen.stdout) as { publicKey: string; authorizedKeysLine: string };
  t.equal((await master.exec(['stat', '-c', '%U %a', '/var/lib/ccguard/sync_key'])).stdout.trim(), 'ccguard 600', 'the key made by root is the service user’s');

  await slave.put('/etc/ccguard/config.json', JSON.stringify({ ...CONFIG, sync: { masterKey: key.publicKey } }));
  const user = await slave.exec(
    [
      'sh',
      '-c',
      'useradd --create-home --groups ccguard --shell /bin/sh charge && install -d -m 0700 -o charge -g charge /home/charge/.ssh && cat > /home/charge/.ssh/authorized_keys && chown charge: /home/charge/.ssh/authorized_keys',
    ],
    { input: `${key.authorizedKeysLine}\n` },
  );
  t.equal(user.code, 0, user.stderr);

  for (const c of [master, slave]) {
    t.equal((await c.exec(['ccguard', 'provision', '--config', '/etc/ccguard/config.json', '--defaults', '/root/defaults.json'])).code, 0);
  }
  // The drop-in, installed as the README says.
  const dropIn = await master.exec([
    'sh',
    '-c',
    'mkdir -p /etc/systemd/system/ccguard.service.d && cp /usr/share/doc/ccguard/examples/sync-master.conf /etc/systemd/system/ccguard.service.d/sync.conf && systemctl daemon-reload',
  ]);
  t.equal(dropIn.code, 0, dropIn.stderr);
  for (const [name, c] of [
    ['master', master],
    ['slave', slave],
  ] as const) {
    await c.exec(['systemctl', 'restart', 'ccguard']);
    const s = await waitActive(c);
    t.equal(s.ActiveState, 'active', `${name}: ccguard.service active (${JSON.stringify(s)})`);
  }
  const unit = await master.show('ccguard.service', ['PrivateNetwork', 'RestrictAddressFamilies', 'MemoryDenyWriteExecute', 'IPAddressAllow', 'DropInPaths']);
  t.match(unit, { PrivateNetwork: 'no', MemoryDenyWriteExecute: 'no', DropInPaths: /sync\.conf/ }, 'the drop-in is in force');

  // A change on the master reaches the slave (the pusher's helper, ssh2 over the veth link).
  const passwd = await master.exec(['ccguard', 'passwd', 'operator', '--stdin'], { input: `${DEFAULTS.operator}\n${NEW_OPERATOR}\n` });
  t.equal(passwd.code, 0, passwd.stderr);
  const deadline = Date.now() + 60_000;
  let login = await slave.exec(['ccguard', 'login', 'operator', '--stdin'], { input: `${NEW_OPERATOR}\n` });
  while (login.code !== 0 && Date.now() < deadline) {
    await sleep(500);
    login = await slave.exec(['ccguard', 'login', 'operator', '--stdin'], { input: `${NEW_OPERATOR}\n` });
  }
  const status = await master.exec(['ccguard', 'sync', 'status', '--json']);
  t.equal(login.code, 0, `the slave accepts the master's new password: ${login.stderr.trim()}; master's sync status: ${status.stdout}`);
  const sync = JSON.parse(status.stdout) as Record<string, unknown>;
  t.comment(`master sync status: ${JSON.stringify(sync)}`);
  const slaveLog = await slave.exec(['ccguard', 'events', '--json']);
  t.match(slaveLog.stdout, /"change":"syncApplied"/, "the slave recorded the master's push");
});
