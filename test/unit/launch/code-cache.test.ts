// The launcher's code cache for the daemon's CommonJS bundle: used only when it is this bundle's,
// intact and written by nobody else; replaced when it is not; never in the way of the start.
import { appendFile, chmod, chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';

import { codeCacheDir, requireWithCodeCache, type CodeCacheOptions } from '../../../agent/launch/code-cache.js';

const BUNDLE = `'use strict';
const dep = require('./dep.cjs');
exports.sum = (xs) => xs.reduce((a, b) => a + b, dep.start);
exports.where = __filename;
`;

async function rig(t: Test): Promise<{
  dir: string;
  bundle: string;
  cache: string;
  load: (options?: Partial<CodeCacheOptions>) => ReturnType<typeof requireWithCodeCache>;
  reports: string[];
}> {
  const dir = await mkdtemp(join(tmpdir(), 'ccguard-code-cache-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const bundle = join(dir, 'daemon.cjs');
  await writeFile(bundle, BUNDLE);
  await writeFile(join(dir, 'dep.cjs'), 'exports.start = 100;\n');
  const reports: string[] = [];
  const load = (options: Partial<CodeCacheOptions> = {}): ReturnType<typeof requireWithCodeCache> =>
    requireWithCodeCache(bundle, { dir, report: (m) => reports.push(m), ...options });
  return { dir, bundle, cache: join(dir, 'daemon.cjs.cache'), load, reports };
}

/** started() resolves once the cache is written (when it is). */
async function startedAndWritten(loaded: ReturnType<typeof requireWithCodeCache>): Promise<void> {
  await loaded.started();
}

t.test('the bundle runs as a CommonJS module; a first start writes the cache, the next one uses it', async (t) => {
  const { bundle, cache, load } = await rig(t);
  const first = load();
  t.equal(first.cache, 'missing');
  t.equal(first.writes, true, 'a cache will be written');
  const exported = first.exports as { sum: (xs: number[]) => number; where: string };
  t.equal(exported.sum([1, 2]), 103, 'require() resolves beside the bundle');
  t.equal(exported.where, bundle, '__filename is the bundle');
  await startedAndWritten(first);
  const info = await stat(cache);
  t.equal(info.mode & 0o777, 0o600, 'only the daemon reads its cache');
  t.match((await readFile(cache)).toString('latin1', 0, 40), /^ccguard-code-cache 1\n/);
  const second = load();
  t.equal(second.cache, 'used', 'V8 took the cache');
  t.equal(second.writes, false);
  t.equal((second.exports as { sum: (xs: number[]) => number }).sum([5]), 105);
  await startedAndWritten(second);
  const after = await stat(cache);
  t.equal(after.ino, info.ino, 'a cache that was used is not written again');
  t.equal(after.mtimeMs, info.mtimeMs);
});

t.test('an altered or torn cache is not given to V8, and is replaced', async (t) => {
  const { cache, load } = await rig(t);
  await startedAndWritten(load());
  const bytes = await readFile(cache);
  const flipped = Buffer.from(bytes);
  const last = flipped.length - 1;
  flipped[last] = (flipped[last] as number) ^ 0x01;
  await writeFile(cache, flipped, { mode: 0o600 });
  const altered = load();
  t.equal(altered.cache, 'corrupt', 'one changed bit in the bytecode');
  await startedAndWritten(altered);
  t.equal(load().cache, 'used', 'replaced by a good one');
  await writeFile(cache, bytes.subarray(0, bytes.length >> 1), { mode: 0o600 });
  t.equal(load().cache, 'corrupt', 'cut in half, as by a power cut in a non-atomic write');
});

t.test('a changed bundle makes the cache stale', async (t) => {
  const { bundle, load } = await rig(t);
  await startedAndWritten(load());
  await appendFile(bundle, '// a new build\n');
  const changed = load();
  t.equal(changed.cache, 'stale');
  await startedAndWritten(changed);
  t.equal(load().cache, 'used');
});

t.test('a cache another user can write, or owns, is ignored and replaced; in such a directory nothing is read or written', async (t) => {
  const { dir, cache, load, reports } = await rig(t);
  await startedAndWritten(load());
  await chmod(cache, 0o666);
  const writable = load();
  t.equal(writable.cache, 'untrusted', 'world-writable file');
  t.match(reports.at(-1), /code cache .*daemon\.cjs\.cache is ignored: it or its directory can be written by another user/);
  await startedAndWritten(writable);
  t.equal((await stat(cache)).mode & 0o777, 0o600, 'replaced by the daemon’s own');
  t.equal(load().cache, 'used');

  await chown(cache, 65534, 65534);
  t.equal(load().cache, 'untrusted', 'owned by another uid (nobody)');
  await chown(cache, 0, 0);

  await chmod(dir, 0o777);
  t.teardown(() => chmod(dir, 0o700));
  const before = await stat(cache);
  const shared = load();
  t.equal(shared.cache, 'untrusted', 'a directory others can write');
  await startedAndWritten(shared);
  t.equal((await stat(cache)).ino, before.ino, 'nothing written into it');
});

t.test('without a cache directory the bundle runs uncached; the directory follows systemd’s CacheDirectory=, else a checkout', async (t) => {
  const { dir, cache, load } = await rig(t);
  const off = load({ dir: null });
  t.equal(off.cache, 'off');
  await startedAndWritten(off);
  await t.rejects(stat(cache), { code: 'ENOENT' });
  t.equal(codeCacheDir('/usr/lib/ccguard/dist/bundle/daemon.cjs', { CACHE_DIRECTORY: '/var/cache/ccguard' }), '/var/cache/ccguard');
  t.equal(codeCacheDir('/usr/lib/ccguard/dist/bundle/daemon.cjs', { CACHE_DIRECTORY: '/var/cache/ccguard:/var/cache/other' }), '/var/cache/ccguard');
  const checkout = join(dir, 'checkout');
  await mkdir(join(checkout, 'dist', 'bundle'), { recursive: true });
  t.equal(codeCacheDir(join(checkout, 'dist', 'bundle', 'daemon.cjs'), {}), null, 'an installed package: no cache beside its files');
  await mkdir(join(checkout, '.git'));
  t.equal(codeCacheDir(join(checkout, 'dist', 'bundle', 'daemon.cjs'), {}), join(checkout, 'dist', 'bundle'), 'a git checkout: beside the bundle');
});

t.test('a cache directory that cannot be written is reported, and the start goes on', async (t) => {
  const { dir, load, reports } = await rig(t);
  const missingDir = join(dir, 'gone');
  const loaded = load({ dir: missingDir });
  t.equal(loaded.cache, 'missing');
  await startedAndWritten(loaded);
  t.match(reports.at(-1), /code cache .*gone.* could not be written \(ENOENT/);
});

t.test('a .cjs file the bundle requires lazily by a relative path has a cache of its own; packages and builtins are required as usual', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ccguard-code-cache-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const bundle = join(dir, 'daemon.cjs');
  await writeFile(bundle, "exports.later = () => require('./vendor/zip.cjs'); exports.path = require('node:path').sep;\n");
  await mkdir(join(dir, 'vendor'));
  await writeFile(join(dir, 'vendor', 'zip.cjs'), 'exports.made = Symbol("once"); exports.sum = (a, b) => a + b;\n');
  const first = requireWithCodeCache(bundle, { dir });
  const exported = first.exports as { later: () => { made: symbol; sum: (a: number, b: number) => number }; path: string };
  t.equal(exported.path, '/');
  const zip = exported.later();
  t.equal(zip.sum(2, 3), 5);
  t.equal(exported.later().made, zip.made, 'required once: the same exports each time');
  for (let i = 0; i < 60; i++) {
    if (await stat(join(dir, 'zip.cjs.cache')).catch(() => null)) break;
    await sleep(50);
  }
  t.ok(await stat(join(dir, 'zip.cjs.cache')), 'its cache is written a while after its first require');
});
