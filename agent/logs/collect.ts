/**
 * Lets V8 collect the buffers an export has finished with. An export allocates its chunks (zlib's
 * output, the ciphertext) faster than the little JavaScript around them fills the young
 * generation, and V8 collects ArrayBuffers on its own only after external memory grew by 64 MB:
 * the daemon's peak grew by that much. With the launcher's --expose-gc, a major collection is
 * started (incrementally) after every COLLECT_EVERY bytes written; without it, V8's own pace.
 * Measured (200 MB of logs, in process): peak RSS 88 → 67 MiB, time unchanged; every 8 MB left 20 MiB more.
 */
const COLLECT_EVERY = 4 * 1024 * 1024;

type Collector = (options: { type: 'major'; execution: 'async' }) => void;
const gc = (globalThis as { gc?: unknown }).gc;
const collector: Collector | null = typeof gc === 'function' ? (gc as Collector) : null;

let written = 0;

/** Counts `bytes` of export output; starts a collection when COLLECT_EVERY more have gone by. */
export function exported(bytes: number): void {
  written += bytes;
  if (written < COLLECT_EVERY) return;
  written = 0;
  collector?.({ type: 'major', execution: 'async' });
}
