import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { cleanup, cli, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon, statusJson, type Env } from '../../support/harness.js';

const OPERATOR = 'Harbor-Violet-46-Quill';
const MFR = 'Quartz-Fjord-91-Lantern';

async function until(env: Env, mode: string): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < 5000) {
    if ((await statusJson(env)).webUi === mode) return performance.now() - t0;
    await sleep(50);
  }
  return Infinity;
}

t.test('web interface mode: style file, one-way 2.0-only, changes from outside followed', async (t) => {
  const env = await makeEnv((dir) => ({ webUi: { styleFile: join(dir, 'WebUIStyle_web') } }));
  const styleFile = join(env.dir, 'WebUIStyle_web');
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  const set = (mode: string, as: 'operator' | 'manufacturer', password: string) => cli(env, ['webui', 'set', mode, '--as', as, '--stdin'], `${password}\n`);

  t.equal((await statusJson(env)).webUi, '1.0', 'no style file: 1.0');
  t.equal((await set('2.0', 'operator', DEFAULTS.operator)).code, 3, 'an operator on the default password may not');
  t.equal((await cli(env, ['passwd', 'operator', '--stdin'], `${DEFAULTS.operator}\n${OPERATOR}\n`)).code, 0);
  t.equal((await cli(env, ['passwd', 'manufacturer', '--stdin'], `${DEFAULTS.manufacturer}\n${MFR}\n`)).code, 0);
  t.equal((await set('2.0', 'operator', 'Wrong-Pass-123')).code, 1, 'wrong password refused');
  t.equal((await cli(env, ['webui', 'set', '2.0', '--as', 'user', '--stdin'], 'x\n')).code, 2, 'only operator or manufacturer');

  const r = await set('2.0', 'operator', OPERATOR);
  t.equal(r.code, 0, r.stderr);
  t.equal(await readFile(styleFile, 'utf8'), '2.0\n');
  t.equal((await stat(styleFile)).mode & 0o777, 0o644, 'readable by the web server');
  t.equal((await statusJson(env)).webUi, '2.0');
  t.equal((await set('2.0-only', 'operator', OPERATOR)).code, 0);
  t.equal((await statusJson(env)).webUi, '2.0-only');
  for (const [mode, as, pw] of [
    ['2.0', 'operator', OPERATOR],
    ['1.0', 'manufacturer', MFR],
  ] as const) {
    const back = await set(mode, as, pw);
    t.equal(back.code, 1, `${as} cannot leave 2.0-only for ${mode}`);
    t.match(back.stderr, /2\.0-only .* until the manufacturer deletes .*WebUIStyle_web over SSH/);
  }
  t.equal((await set('2.0-only', 'operator', OPERATOR)).code, 0, 'asking for 2.0-only again is fine');

  // The manufacturer's revert: the file deleted from outside.
  await rm(styleFile);
  const seen = await until(env, '1.0');
  t.ok(seen < 2000, `the deletion shows in status (${Math.round(seen)} ms)`);
  await sleep(300);
  await t.rejects(stat(styleFile), { code: 'ENOENT' }, 'and nothing writes it back');
  await writeFile(styleFile, '2.0\n');
  t.ok((await until(env, '2.0')) < 2000, 'an edit from outside shows too');
  t.equal((await set('1.0', 'operator', OPERATOR)).code, 0, 'out of 2.0-only, any mode again');

  const events = (await cli(env, ['events', '--json', '--limit', '1000'])).stdout.split('\n').filter((l) => l.includes('"webUi"'));
  const changes = events.map((l) => JSON.parse(l) as { from: string; to: string; by: string });
  t.same(
    changes.map((c) => `${c.from}>${c.to} by ${c.by}`),
    ['1.0>2.0 by operator', '2.0>2.0-only by operator', '2.0-only>1.0 by outside ccguard', '1.0>2.0 by outside ccguard', '2.0>1.0 by operator'],
    'every change is a security event, our own writes not doubled',
  );
});
