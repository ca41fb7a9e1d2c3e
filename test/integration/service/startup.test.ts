// The daemon's start as shipped (bin/ccguard.js → dist/bundle/daemon.cjs): its code cache is
// written after the first start into systemd's CacheDirectory= and used by the next, a broken one
// never stops a start, and the bundle keeps what the cache and the start time rely on.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { call } from '../../../agent/wire/client.js';
import { cleanup, makeEnv, provisionWithDefaults, ROOT, startDaemon } from '../../support/harness.js';

const BUNDLE = join(ROOT, 'dist', 'bundle', 'daemon.cjs');

async function cacheWritten(path: string): Promise<Stats> {
  for (let i = 0; i < 100; i++) {
    const info = await stat(path).catch(() => null);
    if (info) return info;
    await sleep(50);
  }
  throw new Error(`no code cache at ${path} 5 s after the daemon served`);
}

t.test('the first start writes the code cache, the next uses it; a broken one is replaced and the daemon serves', async (t) => {
  const env = await makeEnv({});
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const cacheDir = await mkdtemp(join(tmpdir(), 'ccguard-cache-'));
  t.teardown(() => rm(cacheDir, { recursive: true, force: true }));
  const cache = join(cacheDir, 'daemon.cjs.cache');

  const first = await startDaemon(env, { CACHE_DIRECTORY: cacheDir });
  const written = await cacheWritten(cache);
  t.equal(written.mode & 0o777, 0o600);
  await first.stop();

  const second = await startDaemon(env, { CACHE_DIRECTORY: cacheDir });
  t.match(await call(env.socket, 'status', {}), { provisioned: true });
  await sleep(300);
  await second.stop();
  const after = await stat(cache);
  t.equal(after.ino, written.ino, 'the cache V8 took is not rewritten');
  t.equal(second.output(), '', 'nothing to report');

  const bytes = await readFile(cache);
  await writeFile(cache, Buffer.concat([bytes.subarray(0, bytes.length - 100), Buffer.alloc(100, 0xff)]), { mode: 0o600 });
  const third = await startDaemon(env, { CACHE_DIRECTORY: cacheDir });
  t.match(await call(env.socket, 'status', {}), { provisioned: true }, 'a damaged cache does not stop the start');
  for (let i = 0; i < 100 && (await stat(cache)).ino === after.ino; i++) await sleep(50);
  t.not((await stat(cache)).ino, after.ino, 'and is replaced');
  await third.stop();
});

t.test('the daemon bundle calls no import() and loads neither node:assert nor node:worker_threads at its start', async (t) => {
  const source = await readFile(BUNDLE, 'utf8');
  // Functions V8 takes from a code cache lose the dynamic import callback (agent/launch/code-cache.ts).
  t.same(source.match(/(?<![\w$.])import\(/g) ?? [], [], 'no import()');
  t.same(source.match(/require\("(node:)?(assert|worker_threads)"\)/g) ?? [], [], 'the shims of packaging/shims/ are in');
});
