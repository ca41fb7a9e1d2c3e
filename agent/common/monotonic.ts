/**
 * Milliseconds on the monotonic clock (arbitrary origin), for every duration the daemon measures.
 * process.hrtime rather than performance.now(): the first use of `performance` loads perf_hooks
 * and a dozen modules of Node's own, ~2.5 ms of the daemon's start under --jitless.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
