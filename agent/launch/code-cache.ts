// The daemon's CommonJS bundle required with a V8 code cache: under the launcher's --jitless,
// compiling the bundle and the functions its start runs is a large share of spawn → READY (bench:
// "without the code cache"). Node 20 has no compile cache of its own (module.enableCompileCache is
// Node 22), so this compiles the bundle as a vm.Script with the cached data, and writes the cache
// once the daemon has started when there was none or V8 refused it (a new Node, other V8 flags,
// a new bundle). Bytecode in the cache is code the daemon runs: it is used only from a file and a
// directory that no other user can write, and only if its SHA-256 matches (a torn or altered file
// is ignored, then replaced).
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, statSync, type Stats } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { Script } from 'node:vm';
import { writeFileAtomic } from '../store/atomic-file.js';

const MAGIC = 'ccguard-code-cache 1';
export interface CodeCacheOptions {
  /** Where the cache lives; null: no cache (the bundle is required as it is compiled). */
  dir: string | null;
  /** Tells what happened to the cache (a warning, not an error: the daemon runs either way). */
  report?: (message: string) => void;
}

/**
 * The cache directory the daemon may use: systemd's CacheDirectory= if set; in a git checkout, the
 * bundle's own directory; else none. An installed package's files are dpkg's (a cache beside them
 * would outlive a purge), so a daemon started by hand from the package runs without a cache.
 */
export function codeCacheDir(bundle: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const fromSystemd = env.CACHE_DIRECTORY?.split(':')[0];
  if (fromSystemd) return fromSystemd;
  return existsSync(join(dirname(bundle), '..', '..', '.git')) ? dirname(bundle) : null;
}

/** Not written by anyone but this process's user (or root): a file or directory whose bytecode may run here. */
function trusted(info: Stats): boolean {
  const uid = process.getuid?.() ?? 0;
  return (info.uid === uid || info.uid === 0) && (info.mode & 0o022) === 0;
}

/** What the cached data was made for, beside what V8 checks itself: this bundle file, as it is now. */
function keyOf(bundle: Stats): string {
  return JSON.stringify({
    node: process.version,
    arch: process.arch,
    flags: process.execArgv,
    nodeOptions: process.env.NODE_OPTIONS ?? '',
    size: bundle.size,
    mtimeMs: bundle.mtimeMs,
    ino: bundle.ino,
  });
}

/** Larger than any cache of the daemon's bundle (~0.5 MB): not read. */
const MAX_CACHE_BYTES = 64 * 1024 * 1024;

/** What became of the cache: taken by V8, or why not. */
export type CacheOutcome = 'used' | 'rejectedByV8' | 'missing' | 'untrusted' | 'stale' | 'corrupt' | 'off';

function readCache(path: string, key: string): { data: Buffer } | { outcome: CacheOutcome } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return { outcome: 'missing' };
  }
  try {
    const info = fstatSync(fd);
    if (!trusted(info) || !trusted(statSync(dirname(path)))) return { outcome: 'untrusted' };
    if (info.size > MAX_CACHE_BYTES) return { outcome: 'corrupt' };
    const file = readFileSync(fd);
    const header = `${MAGIC}\n${key}\n`;
    if (file.toString('utf8', 0, header.length) !== header) return { outcome: 'stale' };
    const digest = file.toString('latin1', header.length, header.length + 64);
    const data = file.subarray(header.length + 65);
    return createHash('sha256').update(data).digest('hex') === digest ? { data } : { outcome: 'corrupt' };
  } finally {
    closeSync(fd);
  }
}

/** Atomically (the store's writer): a power cut leaves the old cache or the new one. */
async function writeCache(path: string, key: string, data: Buffer): Promise<void> {
  if (!trusted(statSync(dirname(path)))) return;
  const header = `${MAGIC}\n${key}\n${createHash('sha256').update(data).digest('hex')}\n`;
  await writeFileAtomic(path, Buffer.concat([Buffer.from(header), data]), 0o600);
}

export interface CachedRequire {
  exports: unknown;
  cache: CacheOutcome;
  /** started() will write a cache: code the process has run by then goes in too (the daemon's warm-up). */
  writes: boolean;
  /** Call once the process has started (what its start compiled is in the script): writes the cache, unless V8 took the one there was. */
  started(): Promise<void>;
}

/** A CommonJS file beside the bundle that it requires lazily (dist/bundle/vendor/: the log export's packages). */
const NESTED = /^\.\.?\/.*\.cjs$/;
/** A file required lazily has compiled what its first use needs by then: its cache is written after this long. */
const NESTED_SAVE_AFTER_MS = 2000;

/**
 * Requires the CommonJS file `bundle` (which must not use import(): functions V8 takes from a code
 * cache lose the loader's dynamic import callback). The .cjs files it requires by a relative path
 * are loaded the same way, each with a cache of its own, written a while after it was first required.
 */
export function requireWithCodeCache(bundle: string, options: CodeCacheOptions): CachedRequire {
  const nested = new Map<string, unknown>();
  const plain = createRequire(bundle);
  const required = (id: string): unknown => {
    if (!NESTED.test(id)) return plain(id);
    const file = resolve(dirname(bundle), id);
    if (!nested.has(file)) {
      const loaded = requireWithCodeCache(file, options);
      nested.set(file, loaded.exports);
      setTimeout(() => void loaded.started(), NESTED_SAVE_AFTER_MS).unref();
    }
    return nested.get(file);
  };
  // What else code may ask of its require (pino's transports read require.main).
  Object.assign(required, { resolve: plain.resolve, cache: plain.cache, main: plain.main });
  return load(bundle, options, required);
}

function load(bundle: string, options: CodeCacheOptions, required: (id: string) => unknown): CachedRequire {
  const source = readFileSync(bundle, 'utf8');
  const cachePath = options.dir === null ? null : join(options.dir, `${basename(bundle)}.cache`);
  const key = keyOf(statSync(bundle));
  const read = cachePath === null ? ({ outcome: 'off' } as const) : readCache(cachePath, key);
  const cachedData = 'data' in read ? read.data : undefined;
  if (!('data' in read) && read.outcome === 'untrusted') {
    options.report?.(`the code cache ${cachePath} is ignored: it or its directory can be written by another user than ${process.getuid?.()} or root`);
  }
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  const script = new Script(wrapped, { filename: bundle, ...(cachedData ? { cachedData } : {}) });
  const module = { exports: {} as unknown };
  (script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, required, module, bundle, dirname(bundle));
  const cache: CacheOutcome = 'data' in read ? (script.cachedDataRejected === true ? 'rejectedByV8' : 'used') : read.outcome;
  const save = async (): Promise<void> => {
    if (cachePath === null) return;
    try {
      await writeCache(cachePath, key, script.createCachedData());
    } catch (err) {
      options.report?.(`the code cache ${cachePath} could not be written (${(err as Error).message}); the daemon runs without it`);
    }
  };
  // The cache's bytes read and written are garbage once the process has started; with the
  // launcher's --expose-gc one collection gives them back now instead of at V8's own pace (~1.5 MiB idle).
  // Incremental: a full collection at once held a request that came with it for its whole pause
  // (bench:password, right after start: a refused change 1.92–2.23× a warm login).
  type Collect = (options: { type: 'major'; execution: 'async' }) => void;
  const collect = (): void => (globalThis as { gc?: Collect }).gc?.({ type: 'major', execution: 'async' });
  const writes = cache !== 'used' && cache !== 'off';
  const started = async (): Promise<void> => {
    if (writes) await save();
    collect();
  };
  return { exports: module.exports, cache, writes, started };
}
