/**
 * Lets V8 collect the buffers an export has finished with. An export allocates its chunks (zlib's
 * output, the ciphertext) faster than the little JavaScript around them fills the young
 * generation, and V8 collects ArrayBuffers on its own only after external memory grew by 64 MB:
 * the daemon's peak grew by that much. With the launcher's --expose-gc, a collection is started
 * after every COLLECT_EVERY bytes written; without it, V8's own pace.
 * Most chunks die young, so a minor collection (a scavenge of the 1 MiB young generation) frees
 * them; every MAJOR_EVERY-th is a major one (incremental), for the few that lived long enough to be
 * promoted. A major one each time marked the daemon's whole heap on V8's threads, 8 % of the CPU of
 * an export: 200 MB through the CLI (at level 4) took 1.09 s with a major collection every 4 MB
 * and 1.00 s with this, at the same daemon peak (~76 MiB; 600 MB: 76 → 79–84 MiB, goal < 95.4).
 * In process (no daemon heap around it), peak RSS 88 → 67 MiB against V8's own pace.
 */
const COLLECT_EVERY = 4 * 1024 * 1024;
const MAJOR_EVERY = 8;

type Collector = (options: { type: 'minor' } | { type: 'major'; execution: 'async' }) => void;
const gc = (globalThis as { gc?: unknown }).gc;
const collector: Collector | null = typeof gc === 'function' ? (gc as Collector) : null;

let written = 0;
let collections = 0;

/** Counts `bytes` of export output; starts a collection when COLLECT_EVERY more have gone by. */
export function exported(bytes: number): void {
  written += bytes;
  if (written < COLLECT_EVERY) return;
  written = 0;
  collections = (collections + 1) % MAJOR_EVERY;
  collector?.(collections === 0 ? { type: 'major', execution: 'async' } : { type: 'minor' });
}
