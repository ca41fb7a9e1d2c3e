// What the daemon holds between requests, given back once it has been quiet: the hash-sized
// mappings the argon2 engine keeps so that logins do not fault in their memory afresh
// (agent/common/argon2-engine.ts), and the free pages glibc's malloc keeps on its heap (through
// the small binding in native/heap; Node has no call for it).
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';

interface HeapBinding {
  trim(): boolean;
}

function loadHeap(): HeapBinding | Error {
  try {
    return createRequire(import.meta.url)('ccguard-heap') as HeapBinding;
  } catch (err) {
    return err as Error;
  }
}

/** What the keeper watches and releases: the hasher. */
export interface HashMemory {
  readonly busy: boolean;
  /** When the last hash ended (monotonic ms; 0: none yet). */
  readonly idleSince: number;
  /** Gives the kept hash memory back; the bytes given back. */
  releaseMemory(): number;
}

export interface MemoryKeeperOptions {
  /** How long after the last hash the memory is given back. */
  idleMs: number;
  hashes: HashMemory;
  log: Logger;
  now?: () => number;
}

export type TrimOutcome = { released: true; hashBytes: number; heapPages: boolean } | { released: false; reason: 'busy' | 'recent' | 'alreadyReleased' };

export class MemoryKeeper {
  readonly #heap = loadHeap();
  #timer: NodeJS.Timeout | null = null;
  /** idleSince of the hashes when memory was last given back: nothing new until it moves. */
  #releasedAfter = -1;
  readonly #now: () => number;

  constructor(private readonly options: MemoryKeeperOptions) {
    this.#now = options.now ?? (() => performance.now());
  }

  /** Starts the idle check; says once why heap pages cannot be given back when the binding is missing. */
  start(): void {
    if (this.#heap instanceof Error) {
      this.options.log.warn(`the heap binding (native/heap) did not load: ${this.#heap.message}; free heap pages stay with the daemon; reinstall with npm ci`);
    }
    this.#timer = setInterval(() => this.releaseIfIdle(), this.options.idleMs / 2);
    this.#timer.unref();
  }

  /** Gives memory back when no hash has run for idleMs, once per quiet spell; says what it did or why not. */
  releaseIfIdle(): TrimOutcome {
    const { hashes, idleMs, log } = this.options;
    if (hashes.busy) return { released: false, reason: 'busy' };
    if (this.#now() - hashes.idleSince < idleMs) return { released: false, reason: 'recent' };
    if (hashes.idleSince === this.#releasedAfter) return { released: false, reason: 'alreadyReleased' };
    this.#releasedAfter = hashes.idleSince;
    const hashBytes = hashes.releaseMemory();
    const heapPages = this.#heap instanceof Error ? false : this.#heap.trim();
    log.debug({ hashBytes, heapPages }, 'memory given back after idle');
    return { released: true, hashBytes, heapPages };
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
