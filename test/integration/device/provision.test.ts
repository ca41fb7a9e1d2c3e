import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { cleanup, cli, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon, statusJson } from '../../support/harness.js';

t.test('provision generates unique defaults, prints them once, stores only argon2id hashes', async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  const r = await cli(null, ['provision', '--config', env.configPath, '--json']);
  t.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { defaults: Record<string, string>; generation: number };
  t.equal(out.generation, 1);
  const passwords = Object.values(out.defaults);
  t.equal(new Set(passwords).size, 4, 'one default per role, all different');
  const { readdir, readFile } = await import('node:fs/promises');
  const files = await readdir(env.stateDir);
  const text = await readFile(join(env.stateDir, files[0] as string), 'utf8');
  for (const p of passwords) t.notOk(text.includes(p), 'no plaintext default in the state');
  t.equal(text.match(/\$argon2id\$/g)?.length, 4 * 3, 'hash, default hash and history entry per role');

  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  const status = await statusJson(env);
  t.equal(status.provisioned, true);
  for (const role of ['manufacturer', 'installer', 'operator', 'user'] as const) {
    t.same(status.roles[role], { isDefault: true, mustChange: true, failures: 0, throttled: false, retryInSeconds: 0 });
  }
  t.same(status.policy, { enforceStrong: true, enforcePasswordChange: false });
  const login = await cli(env, ['login', 'installer', '--stdin'], `${out.defaults.installer}\n`);
  t.equal(login.code, 3, 'the generated default logs in only as must-change');

  const again = await cli(null, ['provision', '--config', env.configPath]);
  t.equal(again.code, 1);
  t.match(again.stderr, /already provisioned .*--force/);
  const forced = await cli(null, ['provision', '--config', env.configPath, '--force']);
  t.equal(forced.code, 1, 'no --force while a daemon serves the state');
  t.match(forced.stderr, /stop it before re-provisioning/);
  await daemon.stop();
  const forcedStopped = await cli(null, ['provision', '--config', env.configPath, '--force', '--json']);
  t.equal(forcedStopped.code, 0, forcedStopped.stderr);
  t.not(JSON.parse(forcedStopped.stdout).defaults.installer, out.defaults.installer, 'new defaults');
});

t.test('an unprovisioned daemon starts, says so, refuses logins, then picks up provisioning', async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  const status = await statusJson(env);
  t.equal(status.provisioned, false);
  const human = await cli(env, ['status']);
  t.match(human.stdout, /\nprovisioned +NO: run "ccguard provision"\n/);
  const login = await cli(env, ['login', 'operator', '--stdin'], 'anything-at-all\n');
  t.equal(login.code, 1);
  t.match(login.stderr, /not provisioned: run "ccguard provision/);
  await provisionWithDefaults(env);
  t.equal((await statusJson(env)).provisioned, true);
  t.equal((await cli(env, ['login', 'operator', '--stdin'], `${DEFAULTS.operator}\n`)).code, 3);
});

t.test('bad --defaults files are refused with exit 2 naming the problem', async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  const cases: Array<[unknown, RegExp]> = [
    [{ manufacturer: 'Manu-Default-1', installer: 'Inst-Default-1', operator: 'Oper-Default-1' }, /user: /],
    [{ ...DEFAULTS, admin: 'x' }, /unknown key "admin"/],
    [{ ...DEFAULTS, user: 12345678 }, /user: .*string/],
    [{ ...DEFAULTS, user: 'short' }, /user: a default password needs at least 8 characters/],
  ];
  for (const [content, message] of cases) {
    const file = join(env.dir, 'defaults.json');
    await writeFile(file, JSON.stringify(content));
    const r = await cli(null, ['provision', '--config', env.configPath, '--defaults', file]);
    t.equal(r.code, 2, JSON.stringify(content));
    t.match(r.stderr, message);
  }
  const r = await cli(null, ['provision', '--config', env.configPath, '--defaults', join(env.dir, 'nope.json')]);
  t.equal(r.code, 2);
  t.match(r.stderr, /cannot read defaults file .*nope\.json/);
});

t.test('config errors: exit 2 naming the key', async (t) => {
  const env = await makeEnv({ rfid: { holdSecs: 5 } });
  t.teardown(() => cleanup(env));
  const r = await cli(null, ['daemon', '--config', env.configPath]);
  t.equal(r.code, 2);
  t.match(r.stderr, /unknown key "rfid\.holdSecs"/);
});
