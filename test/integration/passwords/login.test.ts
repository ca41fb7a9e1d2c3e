import { spawn } from 'node:child_process';
import t from 'tap';
import { allLogText, BIN, cleanup, cli, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon, statusJson } from '../../support/harness.js';

const env = await makeEnv();
await provisionWithDefaults(env);
const daemon = await startDaemon(env);
t.teardown(async () => {
  await daemon.stop();
  await cleanup(env);
});

const STRONG = {
  manufacturer: 'Quartz-Fjord-91-Lantern',
  operator: 'Tr4v3l-K1te-Moss',
  operator2: 'Amber!Glacier-73-Pike',
  installer: 'Velvet#Orbit-28-Crane',
};
const secretsUsed = new Set<string>([...Object.values(DEFAULTS), ...Object.values(STRONG)]);
const run = (args: string[], ...secrets: string[]) => {
  for (const s of secrets) secretsUsed.add(s);
  return cli(env, [...args, '--stdin'], secrets.map((s) => `${s}\n`).join(''));
};

t.test('a role on its default password may only change it', async (t) => {
  const login = await run(['login', 'operator'], DEFAULTS.operator);
  t.equal(login.code, 3);
  t.match(login.stderr, /operator is still on its default password: change it first with "ccguard passwd operator"/);
  const asMfr = await run(['policy', 'set', '--strong', 'off'], DEFAULTS.manufacturer);
  t.equal(asMfr.code, 3, 'the manufacturer on its default cannot change settings');
  const weak = await run(['passwd', 'operator'], DEFAULTS.operator, 'Password1!');
  t.equal(weak.code, 1);
  t.match(weak.stderr, /new password refused: .*too easy to guess/);
  const same = await run(['passwd', 'operator'], DEFAULTS.operator, DEFAULTS.operator);
  t.equal(same.code, 1);
  t.match(same.stderr, /differ from the role's default/);
  const ok = await run(['passwd', 'operator'], DEFAULTS.operator, STRONG.operator);
  t.equal(ok.code, 0, ok.stderr);
  t.equal((await run(['login', 'operator'], STRONG.operator)).code, 0);
  const s = await statusJson(env);
  t.same([s.roles.operator.isDefault, s.roles.operator.mustChange], [false, false]);
  t.same([s.roles.installer.isDefault, s.roles.installer.mustChange], [true, true]);
});

t.test('wrong current password: exit 1, nothing changes', async (t) => {
  const r = await run(['passwd', 'operator'], 'Not-The-Password-1', STRONG.operator2);
  t.equal(r.code, 1);
  t.match(r.stderr, /wrong password for operator/);
  t.equal((await run(['login', 'operator'], STRONG.operator)).code, 0);
});

t.test('each refusal names its rule; the last five passwords cannot come back', async (t) => {
  const noRole = await run(['passwd', 'operator'], STRONG.operator, 'My-Operator-Kite-42');
  t.equal(noRole.code, 1);
  t.match(noRole.stderr, /must not contain the role name "operator"/);
  const noUpper = await run(['passwd', 'operator'], STRONG.operator, 'tr4v3l-k1te-moss-quill');
  t.match(noUpper.stderr, /upper-case letter/);
  const history = ['Cobalt-Heron-55-Drift', 'Saffron+Ridge-19-Lynx', 'Marble-Tundra-64-Wren', 'Indigo=Fable-37-Otter', 'Copper-Nimbus-82-Vale'];
  let current = STRONG.operator;
  for (const next of history) {
    const r = await run(['passwd', 'operator'], current, next);
    t.equal(r.code, 0, r.stderr);
    current = next;
  }
  const reuse = await run(['passwd', 'operator'], current, history[1] as string);
  t.equal(reuse.code, 1);
  t.match(reuse.stderr, /differ from the role's last 5 passwords/);
  // Six changes ago is out of the history again.
  const old = await run(['passwd', 'operator'], current, STRONG.operator);
  t.equal(old.code, 0, old.stderr);
});

t.test('NFKC: a password set in full-width form logs in with its plain form', async (t) => {
  const full = 'Ｖｅｌｖｅｔ＃Ｏｒｂｉｔ－２８－Ｃｒａｎｅ';
  t.equal((await run(['passwd', 'installer'], DEFAULTS.installer, full)).code, 0);
  t.equal((await run(['login', 'installer'], STRONG.installer)).code, 0);
  const long = await run(['passwd', 'installer'], STRONG.installer, `Aa1!${'x'.repeat(125)}`);
  t.equal(long.code, 1);
  t.match(long.stderr, /longer than 128 characters/);
});

t.test('manufacturer: policy, setting another role, and forced change', async (t) => {
  t.equal((await run(['passwd', 'manufacturer'], DEFAULTS.manufacturer, STRONG.manufacturer)).code, 0);
  const notMfr = await run(['policy', 'set', '--strong', 'off'], STRONG.operator);
  t.equal(notMfr.code, 1, 'the operator password is not the manufacturer password');
  const show = await cli(env, ['policy', 'show', '--json']);
  t.same(JSON.parse(show.stdout), { enforceStrong: true, enforcePasswordChange: false });

  const off = await run(['policy', 'set', '--strong', 'off', '--json'], STRONG.manufacturer);
  t.equal(off.code, 0, off.stderr);
  t.same(JSON.parse(off.stdout), { enforceStrong: false, enforcePasswordChange: false });
  const lower = await run(['passwd', 'user'], DEFAULTS.user, 'lantern-quartz-fjord-91');
  t.equal(lower.code, 0, `without enforceStrong, composition is not required: ${lower.stderr}`);
  const stillWeak = await run(['passwd', 'user'], 'lantern-quartz-fjord-91', 'password');
  t.match(stillWeak.stderr, /too easy to guess/, 'the base strength rule holds whatever the setting');

  const force = await run(['policy', 'set', '--force-change', 'on', '--strong', 'on'], STRONG.manufacturer);
  t.equal(force.code, 0, force.stderr);
  t.equal((await statusJson(env)).roles.operator.mustChange, true);
  const login = await run(['login', 'operator'], STRONG.operator);
  t.equal(login.code, 3, 'the operator must change at the next login');
  const setByMfr = await run(['passwd', 'operator', '--as', 'manufacturer'], STRONG.manufacturer, STRONG.operator2);
  t.equal(setByMfr.code, 0, setByMfr.stderr);
  t.equal((await run(['login', 'operator'], STRONG.operator2)).code, 3, 'a password the manufacturer hands over must be changed');
  t.equal((await run(['passwd', 'operator'], STRONG.operator2, 'Harbor-Violet-46-Quill')).code, 0);
  t.equal((await run(['login', 'operator'], 'Harbor-Violet-46-Quill')).code, 0, 'until the operator changes it');
  const badAs = await cli(env, ['passwd', 'user', '--as', 'operator', '--stdin'], 'x\ny\n');
  t.equal(badAs.code, 2, '--as takes only manufacturer');
});

t.test('usage errors exit 2', async (t) => {
  t.equal((await cli(env, ['login', 'admin', '--stdin'], 'x\n')).code, 2);
  t.equal((await cli(env, ['login', 'operator', '--stdin'], '')).code, 2, 'missing secret line');
  t.equal((await cli(env, ['login', 'operator'], '')).code, 2, 'no terminal and no --stdin');
  t.equal((await cli(env, ['policy', 'set', '--strong', 'maybe', '--stdin'], 'x\n')).code, 2);
  t.equal((await cli(env, ['frobnicate'])).code, 2);
  const help = await cli(env, ['passwd', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /--as <role>/);
});

t.test('no daemon: exit 69', async (t) => {
  const r = await cli(null, ['status', '--socket', `${env.dir}/nothing.sock`]);
  t.equal(r.code, 69);
  t.match(r.stderr, /cannot reach the ccguard daemon at .*nothing\.sock/);
});

t.test('security events: logins, failures, changes, start-up; never a secret in any log', async (t) => {
  const r = await cli(env, ['events', '--json', '--limit', '1000']);
  t.equal(r.code, 0);
  const events = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; role?: string; origin?: string });
  const names = new Set(events.map((e) => e.event));
  for (const name of ['StartupOfTheDevice', 'MaintenanceLoginAccepted', 'MaintenanceLoginFailed', 'ReconfigurationOfSecurityParameters']) {
    t.ok(names.has(name), `has ${name}`);
  }
  const failed = events.find((e) => e.event === 'MaintenanceLoginFailed');
  t.match(failed, { role: String, origin: 'socket:cli' });
  const logs = await allLogText(env);
  t.ok(logs.length > 1000, 'the logs have content');
  // Distinctive secrets only: "password" itself is a word the log messages use.
  const distinctive = [...secretsUsed].filter((s) => s.length >= 10);
  t.ok(distinctive.length >= 10);
  for (const secret of distinctive) t.notOk(logs.includes(secret), `no "${secret.slice(0, 4)}…" in the logs`);
  t.notOk(daemon.output().includes(DEFAULTS.operator));
});

t.test('events --follow prints new events as they happen', async (t) => {
  const follower = spawn(BIN, ['events', '--follow', '--json', '--limit', '1', '--socket', env.socket], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  follower.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const started = Date.now() + 10_000;
  while (!out.includes('\n') && Date.now() < started) await new Promise((r) => setTimeout(r, 25));
  await new Promise((r) => setTimeout(r, 200)); // a second past event would have come with the first
  const before = out.split('\n').filter(Boolean).length;
  await run(['login', 'user'], 'Wrong-Password-77');
  const deadline = Date.now() + 5000;
  while (!out.includes('"reason":"wrongPassword","failures"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  follower.kill();
  const lines = out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(before, 1, '--limit 1 shows one past event');
  t.match(lines.at(-1), { event: 'MaintenanceLoginFailed', role: 'user', reason: 'wrongPassword' }, 'the new event arrived live');
});
