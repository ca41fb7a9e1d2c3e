// The .deb under a real systemd as PID 1 (issue 25): a Debian 12 container booted from a cached
// rootfs, the package installed offline as a controller image is built (with a "nodejs" package of
// the Node binary, as a vendor provides it), then the running service checked the way a controller
// uses it. A unit setting that breaks any of this fails here, not on a charger.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { DEFAULTS, ROOT } from '../../support/harness.js';
import { buildCcguardDeb, nodeDeb } from '../../support/packages.js';
import { installController, waitActive as waitUntilActive } from '../../support/controller-image.js';
import { SystemdContainer } from '../../support/systemd-container.js';

const run = promisify(execFile);
const NEW = { operator: 'Harbor-Violet-46-Quill', manufacturer: 'Copper-Lantern-83-Fjord' };
const LOG_PASSWORD = 'Quartz-Meadow-Falcon-2917';

interface SecurityEvent {
  event: string;
  peer?: { uid: number; gid: number; pid: number };
  [k: string]: unknown;
}

function score(out: string): number {
  return Number(/Overall exposure level for [\w-]+\.service: ([\d.]+)/.exec(out)?.[1] ?? NaN);
}

t.test('ccguard.service under systemd 252 as PID 1: install, serve, recover, reboot, purge', async (t) => {
  t.equal(process.getuid?.(), 0, 'booting a container needs root (CI runs as root)');
  for (const tool of ['/usr/bin/systemd-nspawn', '/usr/sbin/debootstrap'])
    t.ok(existsSync(tool), `${tool} is installed (Debian: apt-get install --no-install-recommends systemd-container debootstrap)`);

  const started = performance.now();
  const [container, ccguardDeb, nodejsDeb] = await Promise.all([
    SystemdContainer.boot(),
    buildCcguardDeb('amd64', join(ROOT, 'build', 'system-test')),
    nodeDeb(process.execPath, 'amd64'),
  ]);
  t.teardown(() => container.destroy());
  const c = container;
  t.comment(`container up and package built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const containerStart = performance.now();
  const sh = (script: string, opts: { input?: string; user?: string } = {}) => c.exec(['sh', '-c', script], opts);
  const ccguard = (args: string[], opts: { input?: string; user?: string } = {}) => c.exec(['ccguard', ...args], opts);

  const install = await installController(c, { nodejs: nodejsDeb, ccguard: ccguardDeb });
  t.equal(install.code, 0, `apt-get install of the package, offline: ${install.stderr.slice(-1500)}`);

  // Active through Type=notify: READY reached systemd; the status text says what the daemon does.
  const waitActive = async (what: string): Promise<Record<string, string>> => {
    const s = await waitUntilActive(c);
    if (s.ActiveState !== 'active' || s.SubState !== 'running')
      t.fail(`${what}: ccguard.service is ${JSON.stringify(s)}; journal: ${(await c.exec(['journalctl', '-u', 'ccguard', '-n', '30', '--no-pager'])).stdout}`);
    return s;
  };
  const first = await waitActive('after install');
  const unit = await c.show('ccguard.service', ['Type', 'NotifyAccess', 'WatchdogUSec', 'UnitFileState', 'User', 'WatchdogTimestampMonotonic']);
  t.match(unit, { Type: 'notify', NotifyAccess: 'main', WatchdogUSec: '30s', UnitFileState: 'enabled', User: 'ccguard' });
  t.match(first.StatusText, /^serving \/run\/ccguard\/ccguard\.sock; not provisioned yet/, `status text: ${first.StatusText}`);
  const ps = await sh(`ps -o user=,args= -p ${first.MainPID}`);
  t.match(ps.stdout, /^ccguard +node --jitless/, `the main process is node --jitless as ccguard: ${ps.stdout.trim()}`);

  // Provisioning as the factory does, as root, beside the running service; it finds the state.
  await c.put('/root/defaults.json', JSON.stringify(DEFAULTS));
  const provision = await ccguard(['provision', '--config', '/etc/ccguard/config.json', '--defaults', '/root/defaults.json']);
  t.equal(provision.code, 0, `provision: ${provision.stderr}`);
  t.equal((await ccguard(['status'])).code, 0, 'root reaches the socket');
  t.match((await c.show('ccguard.service', ['StatusText'])).StatusText, /; provisioned$/, 'the status text follows provisioning');

  // Callers: root, a web server in group ccguard, a user outside it (refused by the socket's mode).
  t.equal((await sh('useradd --system --no-create-home --groups ccguard www && useradd --system --no-create-home stranger')).code, 0);
  const uid = async (name: string) => Number((await c.exec(['id', '-u', name])).stdout.trim());
  const [wwwUid, strangerUid] = [await uid('www'), await uid('stranger')];
  const stranger = await ccguard(['status'], { user: 'stranger' });
  t.equal(stranger.code, 69, `a user outside group ccguard is refused by the socket (exit 69): ${stranger.stderr.trim()}`);
  // The caller's own pid, then exec: the CLI runs as that very process.
  const asProcess = async (user: string | undefined, args: string[], input: string) => {
    const r = await sh('echo $$; exec ccguard "$@"'.replace('"$@"', args.map((a) => `'${a}'`).join(' ')), { input, user });
    return { code: r.code, pid: Number(r.stdout.split('\n')[0]), stderr: r.stderr };
  };
  const wwwLogin = await asProcess('www', ['login', 'operator', '--stdin'], `${DEFAULTS.operator}\n`);
  t.equal(wwwLogin.code, 3, `the web server's login with the default password: must change (${wwwLogin.stderr.trim()})`);
  const wwwWrong = await asProcess('www', ['login', 'installer', '--stdin'], 'not-the-password\n');
  t.equal(wwwWrong.code, 1, 'a wrong password from the web server is refused');
  const rootWrong = await asProcess(undefined, ['login', 'user', '--stdin'], 'not-the-password\n');
  t.equal(rootWrong.code, 1);

  const events = async (): Promise<SecurityEvent[]> => {
    const r = await ccguard(['events', '--json', '--limit', '200']);
    return r.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as SecurityEvent);
  };
  let log = await events();
  const byPid = (pid: number) => log.find((e) => e.peer?.pid === pid);
  t.match(
    byPid(wwwLogin.pid),
    { event: 'MaintenanceLoginAccepted', peer: { uid: wwwUid, pid: wwwLogin.pid } },
    "the web server's login names its real uid and pid",
  );
  t.match(byPid(wwwWrong.pid), { event: 'MaintenanceLoginFailed', peer: { uid: wwwUid, pid: wwwWrong.pid } });
  t.match(byPid(rootWrong.pid), { event: 'MaintenanceLoginFailed', peer: { uid: 0, pid: rootWrong.pid } }, "root's failure names uid 0");
  t.same(
    log.filter((e) => e.peer?.uid === 65534),
    [],
    'no event names the overflow uid 65534 (PrivateUsers= would map every caller to it)',
  );
  t.notOk(
    log.some((e) => e.peer?.uid === strangerUid),
    'the refused user never reached the daemon',
  );

  // Password changes (argon2, the blocklist), the Log Password, an export that 7-Zip opens.
  const passwd = await ccguard(['passwd', 'operator', '--stdin'], { input: `${DEFAULTS.operator}\n${NEW.operator}\n`, user: 'www' });
  t.equal(passwd.code, 0, `the web server changes the operator password: ${passwd.stderr}`);
  t.equal((await ccguard(['login', 'operator', '--stdin'], { input: `${NEW.operator}\n` })).code, 0, 'the new password logs in');
  t.equal((await ccguard(['passwd', 'manufacturer', '--stdin'], { input: `${DEFAULTS.manufacturer}\n${NEW.manufacturer}\n` })).code, 0);
  const setLogPassword = await ccguard(['log-password', 'set', '--stdin'], { input: `${NEW.manufacturer}\n${LOG_PASSWORD}\n` });
  t.equal(setLogPassword.code, 0, setLogPassword.stderr);
  const exported = await ccguard(['logs', 'export', '--output', '/root/logs.zip', '--stdin'], { input: `${NEW.operator}\n` });
  t.equal(exported.code, 0, `log export: ${exported.stderr}`);
  const sevenZip = await c.exec(['7z', 't', `-p${LOG_PASSWORD}`, '/root/logs.zip']);
  t.equal(sevenZip.code, 0, `7z opens the export with the Log Password: ${sevenZip.stdout.slice(-400)}`);
  t.match(
    (await c.exec(['7z', 'l', '-slt', `-p${LOG_PASSWORD}`, '/root/logs.zip'])).stdout,
    /Path = security\.log\n[^]*Method = AES-256/,
    'the security log, AES-256',
  );
  t.not((await c.exec(['7z', 't', '-pwrong-password', '/root/logs.zip'])).code, 0, 'and not with another password');

  // The style file and the HTTPS certificate, written where the unit lets the service write.
  t.equal((await ccguard(['webui', 'set', '2.0', '--stdin'], { input: `${NEW.operator}\n` })).code, 0);
  t.equal((await c.read('/persistency/WebUIStyle_web')).trim(), '2.0', 'the style file is in /persistency');
  const https = await ccguard(['https', 'enable', '--stdin'], { input: `${NEW.operator}\n` });
  t.equal(https.code, 0, https.stderr);
  const key = await sh('stat -c "%U %G %a" /persistency/https/server.key');
  t.equal(key.stdout.trim(), 'ccguard ccguard-console 640', "the key belongs to the service, shared with the console's group alone (tmpfiles: setgid dir)");
  t.not((await sh('cat /persistency/https/server.key >/dev/null', { user: 'www' })).code, 0, 'a web server in group ccguard cannot read the key');

  // The HTTPS console under its own unit: active, serving the login page over TLS with the device
  // certificate, as its own user; it reads the key, nothing of the state.
  t.equal((await c.exec(['systemctl', 'enable', '--now', 'ccguard-console'])).code, 0);
  const page = async (): Promise<{ code: number; stdout: string; stderr: string }> => {
    const fetchPage = `require('https').get({ host: '127.0.0.1', port: 8443, path: '/login', ca: require('fs').readFileSync('/persistency/https/server.crt'), servername: 'ccguard.local', checkServerIdentity: () => undefined }, (r) => { const proto = r.socket.getProtocol(); let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => { console.log(r.statusCode, proto, r.headers['strict-transport-security'] ? 'hsts' : 'no-hsts'); console.log(b.includes('name="password"') ? 'login form' : 'no form'); }); }).on('error', (e) => { console.error(e.message); process.exit(1); });`;
    let r = await c.exec(['node', '-e', fetchPage]);
    for (let i = 0; i < 40 && r.code !== 0; i++) {
      await sleep(250);
      r = await c.exec(['node', '-e', fetchPage]);
    }
    return r;
  };
  const served = await page();
  t.equal(
    served.code,
    0,
    `the console answers on 8443: ${served.stderr.trim()}; journal: ${served.code === 0 ? '' : (await c.exec(['journalctl', '-u', 'ccguard-console', '-n', '20', '--no-pager'])).stdout}`,
  );
  t.match(served.stdout, /^200 TLSv1\.[23] hsts\nlogin form/, `the login page over TLS with its headers: ${served.stdout.trim()}`);
  const consoleUnit = await c.show('ccguard-console.service', ['ActiveState', 'User', 'MainPID', 'NRestarts']);
  t.match(consoleUnit, { ActiveState: 'active', User: 'ccguard-console', NRestarts: '0' });
  const consoleUid = (await c.exec(['id', '-u', 'ccguard-console'])).stdout.trim();
  t.match(
    (await sh(`ps -o uid=,args= -p ${consoleUnit.MainPID}`)).stdout.trim(),
    new RegExp(`^${consoleUid} +node --jitless`),
    'node --jitless as ccguard-console',
  );
  const consoleAnalysis = await c.exec(['systemd-analyze', 'security', '--no-pager', 'ccguard-console.service']);
  const consoleScore = score(consoleAnalysis.stdout);
  t.comment(`systemd-analyze security ccguard-console.service inside: ${consoleScore}`);
  t.ok(consoleScore <= 2.0, `the console's unit scores ${consoleScore} inside (goal ≤ 2.0): ${consoleAnalysis.stdout.slice(-300)}${consoleAnalysis.stderr}`);
  const fingerprint = (await c.exec(['openssl', 'x509', '-noout', '-fingerprint', '-sha256', '-in', '/persistency/https/server.crt'])).stdout.trim();
  const status = JSON.parse((await ccguard(['status', '--json'])).stdout) as { https: boolean; httpsCertificate: { sha256: string } | null };
  t.equal(status.https, true);
  t.equal(fingerprint.split('=')[1], status.httpsCertificate?.sha256, 'status shows the fingerprint of the certificate file');

  // The watchdog: systemd records each WATCHDOG=1 (sent every 15 s for WatchdogSec=30s).
  const fed = async (): Promise<boolean> => {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const now = await c.show('ccguard.service', ['WatchdogTimestampMonotonic']);
      if (Number(now.WatchdogTimestampMonotonic) > Number(unit.WatchdogTimestampMonotonic)) return true;
      await sleep(500);
    }
    return false;
  };
  t.ok(await fed(), 'the watchdog is fed (WatchdogTimestamp advanced)');
  t.equal((await c.show('ccguard.service', ['NRestarts'])).NRestarts, '0', 'no restart so far (no watchdog timeout, no crash)');

  // The V8 code cache of the daemon's bundle, written by the service into its CacheDirectory= after its first start.
  const cacheBefore = await sh('stat -c "%U %a %i" /var/cache/ccguard/daemon.cjs.cache');
  t.match(cacheBefore.stdout.trim(), /^ccguard 600 \d+$/, `the code cache is the service's own: ${cacheBefore.stderr}`);

  // kill -9: systemd restarts it (Restart=on-failure), with the state intact.
  t.equal((await c.exec(['kill', '-9', first.MainPID ?? '0'])).code, 0);
  const deadline = Date.now() + 30_000;
  let after = await c.show('ccguard.service', ['MainPID', 'NRestarts', 'ActiveState']);
  while ((after.NRestarts !== '1' || after.ActiveState !== 'active') && Date.now() < deadline) {
    await sleep(200);
    after = await c.show('ccguard.service', ['MainPID', 'NRestarts', 'ActiveState']);
  }
  t.match(after, { NRestarts: '1', ActiveState: 'active' }, 'restarted once by systemd');
  t.not(after.MainPID, first.MainPID);
  t.equal((await ccguard(['login', 'operator', '--stdin'], { input: `${NEW.operator}\n` })).code, 0, 'the changed password survived the kill');
  t.equal((await sh('stat -c "%U %a %i" /var/cache/ccguard/daemon.cjs.cache')).stdout, cacheBefore.stdout, 'the restart used the cache as it was');

  // systemd-analyze security inside (online, the loaded unit) and offline: one score.
  const inside = await c.exec(['systemd-analyze', 'security', '--no-pager', 'ccguard.service']);
  const offlineInside = await c.exec(['systemd-analyze', 'security', '--offline=true', '/lib/systemd/system/ccguard.service']);
  const offlineHost = await run('systemd-analyze', ['security', '--offline=true', join(ROOT, 'packaging', 'ccguard.service')]).catch(
    (e: { stdout: string }) => e,
  );
  t.comment(
    `systemd-analyze security: inside ${score(inside.stdout)}, offline inside ${score(offlineInside.stdout)}, offline on the host ${score(offlineHost.stdout)}`,
  );
  t.ok(score(inside.stdout) <= 2.0, `inside: ${score(inside.stdout)} (goal ≤ 2.0)`);
  t.equal(score(inside.stdout), score(offlineHost.stdout), 'the running unit scores as the offline check says');
  t.equal(score(offlineInside.stdout), score(offlineHost.stdout));

  // Stop: clean, within TimeoutStopSec (20 s).
  const stopStart = performance.now();
  t.equal((await c.exec(['systemctl', 'stop', 'ccguard'])).code, 0);
  const stopSeconds = (performance.now() - stopStart) / 1000;
  t.ok(stopSeconds < 20, `stopped in ${stopSeconds.toFixed(2)} s (TimeoutStopSec=20s)`);
  t.match(await c.show('ccguard.service', ['Result', 'ExecMainStatus', 'ActiveState']), { Result: 'success', ExecMainStatus: '0', ActiveState: 'inactive' });
  // Its agent log is a file (journald would only duplicate it): its last line is the clean stop.
  const agentLog = (await c.read('/var/log/ccguard/ccguard.log')).trim().split('\n');
  t.match(JSON.parse(agentLog.at(-1) as string), { msg: 'stopped' }, 'the daemon logged its own clean stop');

  // A reboot of the container: the enabled service comes back with the state.
  await c.reboot();
  const rebooted = await waitActive('after the reboot');
  t.match(rebooted.StatusText, /; provisioned$/);
  t.equal((await ccguard(['login', 'operator', '--stdin'], { input: `${NEW.operator}\n` })).code, 0, 'the changed password survived the reboot');
  t.equal((await c.read('/persistency/WebUIStyle_web')).trim(), '2.0');
  log = await events();
  t.ok(
    log.some((e) => e.event === 'StartupOfTheDevice' && e.provisioned === true),
    'the restarted daemon recorded its start with the state',
  );

  // Purge: nothing running, state, logs and config gone.
  const purge = await c.exec(['apt-get', 'purge', '-y', 'ccguard'], { timeoutMs: 60_000 });
  t.equal(purge.code, 0, purge.stderr);
  t.equal((await c.exec(['systemctl', 'is-active', 'ccguard'])).stdout.trim(), 'inactive');
  t.equal((await c.exec(['pgrep', '-u', 'ccguard'])).code, 1, 'no process of the ccguard user is left');
  t.equal((await c.exec(['pgrep', '-u', 'ccguard-console'])).code, 1, 'nor of the console');
  for (const path of [
    '/var/lib/ccguard',
    '/var/log/ccguard',
    '/var/cache/ccguard',
    '/run/ccguard',
    '/etc/ccguard',
    '/lib/systemd/system/ccguard.service',
    '/lib/systemd/system/ccguard-console.service',
    '/usr/lib/ccguard',
    '/usr/bin/ccguard',
  ])
    t.equal((await c.exec(['test', '-e', path])).code, 1, `purge removed ${path}`);
  t.comment(
    `container part: ${((performance.now() - containerStart) / 1000).toFixed(1)} s (the whole test ${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
});
