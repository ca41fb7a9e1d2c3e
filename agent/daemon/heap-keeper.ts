// argon2's working memory kept hot and bounded. The reference implementation mallocs the whole
// memory cost (19 MiB by default) for each hash; glibc would map it fresh each time (thousands of
// page faults per login, expensive on VMs and small ARM cores) or, once its adaptive threshold
// rises, keep it for good. Through the small binding in native/heap the daemon asks instead for
// heap memory only, keeps free at most what its concurrent hashes use, and hands every free page
// back once no hash has run for a while.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';

interface HeapStats {
  heapBytes: number;
  mappedBytes: number;
  inUseBytes: number;
  freeBytes: number;
}

interface Binding {
  keepOnHeap(trimThresholdBytes: number): boolean;
  trim(): boolean;
  stats(): HeapStats | null;
}

function loadBinding(): Binding | Error {
  try {
    return createRequire(import.meta.url)('ccguard-heap') as Binding;
  } catch (err) {
    return err as Error;
  }
}

/** What the keeper watches: whether a hash runs, and when the last one ended (monotonic ms). */
export interface HashActivity {
  readonly busy: boolean;
  readonly idleSince: number;
}

export interface HeapKeeperOptions {
  /** Free bytes the heap may keep at its top between hashes: the hashes that may run at once. */
  keepBytes: number;
  /** How long after the last hash the free memory is given back. */
  idleMs: number;
  hashes: HashActivity;
  log: Logger;
  now?: () => number;
}

/** The largest trim threshold mallopt takes (an int). */
const MAX_KEEP = 2 ** 31 - 1;

export class HeapKeeper {
  readonly #binding = loadBinding();
  #timer: NodeJS.Timeout | null = null;
  /** idleSince of the hashes at the last trim: nothing new to give back until it moves. */
  #trimmedAfter = -1;
  readonly #now: () => number;

  constructor(private readonly options: HeapKeeperOptions) {
    this.#now = options.now ?? (() => performance.now());
  }

  /** Applies the heap settings and starts the idle check; logs why not when the binding is missing. */
  start(): void {
    const binding = this.#binding;
    if (binding instanceof Error) {
      this.options.log.warn(
        `the heap binding (native/heap) did not load: ${binding.message}; each hash maps its memory afresh (slower logins); reinstall with npm ci`,
      );
      return;
    }
    if (!binding.keepOnHeap(Math.min(MAX_KEEP, this.options.keepBytes))) {
      this.options.log.warn('this C library does not take glibc malloc settings; each hash maps its memory afresh');
      return;
    }
    this.#timer = setInterval(() => this.trimIfIdle(), this.options.idleMs);
    this.#timer.unref();
  }

  /** Gives the heap's free pages back when no hash has run for idleMs; true when it did. */
  trimIfIdle(): boolean {
    const binding = this.#binding;
    if (binding instanceof Error) return false;
    const { busy, idleSince } = this.options.hashes;
    if (busy || idleSince === this.#trimmedAfter || this.#now() - idleSince < this.options.idleMs) return false;
    this.#trimmedAfter = idleSince;
    const before = binding.stats();
    const released = binding.trim();
    this.options.log.debug({ freeBytesBefore: before?.freeBytes, released }, 'heap trimmed after idle');
    return released;
  }

  /** The heap's figures (for benchmarks and tests), or null where they cannot be read. */
  stats(): HeapStats | null {
    return this.#binding instanceof Error ? null : this.#binding.stats();
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
