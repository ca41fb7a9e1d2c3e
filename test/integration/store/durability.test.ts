import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import argon2 from 'argon2';
import t from 'tap';
import { call } from '../../../agent/wire/client.js';
import { GenerationStore } from '../../../agent/store/generation-store.js';
import { stateSchema } from '../../../agent/store/state.js';
import { cleanup, cli, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon, statusJson, type Env } from '../../support/harness.js';

const ITERATIONS = Number(process.env.CCGUARD_KILL_ITERATIONS ?? 200);
const strong = (): string => `Kx7!${randomBytes(9).toString('base64url')}`;

async function loadState(env: Env) {
  const store = new GenerationStore(env.stateDir, stateSchema);
  return store.load();
}

interface LaneResult {
  old: number;
  new: number;
  problems: string[];
}

/** One lane of the kill loop on its own state directory. */
async function killLane(iterations: number, t: { teardown(fn: () => unknown): void }): Promise<LaneResult> {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  let current = strong();
  let daemon = await startDaemon(env);
  // Calibrate: how long one change takes from a fresh start (the strength dictionaries load first).
  const t0 = performance.now();
  await call(env.socket, 'passwd', { role: 'operator', currentPassword: DEFAULTS.operator, newPassword: current });
  const changeMs = performance.now() - t0;
  await daemon.kill9();

  const result: LaneResult = { old: 0, new: 0, problems: [] };
  for (let i = 0; i < iterations; i++) {
    daemon = await startDaemon(env);
    const next = strong();
    const inFlight = call(env.socket, 'passwd', { role: 'operator', currentPassword: current, newPassword: next }).catch(() => undefined);
    // Half the kills anywhere in the change, half in its last moments, where the state is written.
    const delay = i % 2 === 0 ? Math.random() * changeMs * 1.1 : changeMs * (0.85 + Math.random() * 0.25);
    await sleep(delay);
    await daemon.kill9();
    await inFlight;
    const loaded = await loadState(env);
    if (!loaded.state || loaded.rejected.length > 0) {
      result.problems.push(`iteration ${i}: state ${loaded.state ? 'loaded' : 'missing'}, ${loaded.rejected.length} rejected`);
      break;
    }
    const hash = loaded.state.roles.operator.hash;
    const [isOld, isNew] = await Promise.all([argon2.verify(hash, current), argon2.verify(hash, next)]);
    if (isNew === isOld) {
      result.problems.push(`iteration ${i}: stored operator password is ${isOld ? 'both' : 'neither'} old and new`);
      break;
    }
    if (isNew) {
      result.new++;
      current = next;
    } else {
      result.old++;
    }
  }
  daemon = await startDaemon(env);
  const served = await cli(env, ['login', 'operator', '--stdin'], `${current}\n`);
  if (served.code !== 0) result.problems.push(`the surviving password was not accepted: ${served.stderr}`);
  await daemon.stop();
  const names = await readdir(env.stateDir);
  if (names.some((n) => n.endsWith('.corrupt'))) result.problems.push('a generation was torn');
  if (names.length > 2) result.problems.push(`more than two generations kept: ${names.join(', ')}`);
  return result;
}

t.test(`kill -9 while password changes are in flight (${ITERATIONS} times): always the old or the new password`, async (t) => {
  // Restarts are CPU-bound (node start-up, the strength dictionaries): two lanes use both cores
  // once the shorter test files are done.
  t.setTimeout(600_000);
  const lanes = 2;
  const results = await Promise.all(Array.from({ length: lanes }, () => killLane(Math.ceil(ITERATIONS / lanes), t)));
  const old = results.reduce((n, r) => n + r.old, 0);
  const fresh = results.reduce((n, r) => n + r.new, 0);
  t.same(
    results.flatMap((r) => r.problems),
    [],
    'every restart loaded a valid state with the old or the new password',
  );
  t.equal(old + fresh, lanes * Math.ceil(ITERATIONS / lanes), 'every iteration ran');
  t.ok(old > 0 && fresh > 0, `kills landed before and after the commit (old ${old}, new ${fresh})`);
});

t.test('restart keeps passwords and counters', async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  let daemon = await startDaemon(env);
  const pw = strong();
  t.equal((await cli(env, ['passwd', 'installer', '--stdin'], `${DEFAULTS.installer}\n${pw}\n`)).code, 0);
  t.equal((await cli(env, ['login', 'user', '--stdin'], 'Wrong-Password-9\n')).code, 1);
  await daemon.stop();
  daemon = await startDaemon(env);
  t.equal((await cli(env, ['login', 'installer', '--stdin'], `${pw}\n`)).code, 0);
  const s = await statusJson(env);
  t.equal(s.roles.user.failures, 1);
  t.equal(s.roles.installer.isDefault, false);
  await daemon.stop();
});

t.test('a corrupt newest state file: the daemon falls back to the previous generation and records it', async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  let daemon = await startDaemon(env);
  t.equal((await cli(env, ['passwd', 'operator', '--stdin'], `${DEFAULTS.operator}\n${strong()}\n`)).code, 0);
  await daemon.stop();
  const newest = join(env.stateDir, 'state.000000000002.json');
  const text = await readFile(newest, 'utf8');
  await writeFile(newest, text.replace('"isDefault":false', '"isDefault":true '));
  daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  const s = await statusJson(env);
  t.equal(s.stateFallback?.usingGeneration, 1, "generation 1's state is in use (written again as 2 with the fallback noted)");
  t.equal(s.roles.operator.isDefault, true, "generation 1's operator record (the default)");
  t.equal((await cli(env, ['login', 'operator', '--stdin'], `${DEFAULTS.operator}\n`)).code, 3);
  const events = await cli(env, ['events', '--json']);
  const rejected = events.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((e) => e.event === 'StateFileRejected');
  t.match(rejected, { reason: /checksum mismatch/, usingGeneration: 1 });
  t.ok((await readdir(env.stateDir)).includes('state.000000000002.json.corrupt'), 'the bad file is kept aside');
});

t.test('a login with older argon2 parameters rehashes with the configured ones', async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env); // provisioned with m=1024, t=1
  const config = { ...env.config, argon2: { memoryKiB: 19 * 1024, timeCost: 2, parallelism: 1 } };
  await writeFile(env.configPath, JSON.stringify(config));
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  t.match((await loadState(env)).state?.roles.user.hash, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
  t.equal((await cli(env, ['login', 'user', '--stdin'], `${DEFAULTS.user}\n`)).code, 3);
  const after = (await loadState(env)).state?.roles.user;
  t.match(after?.hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/, 'rehashed on login');
  t.equal(after?.defaultHash, after?.hash, 'the default hash follows (still on the default)');
  t.equal((await cli(env, ['login', 'user', '--stdin'], `${DEFAULTS.user}\n`)).code, 3, 'the same password still works');
});
