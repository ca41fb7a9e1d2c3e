// The hash-sized mappings the argon2 engine keeps so that logins do not fault in their memory
// afresh (agent/common/argon2-engine.ts), given back once no hash has run for a while. (glibc's
// own free heap pages are not worth a trim here: with the launcher's mmap threshold, measured
// RSS after a burst of logins and reads was the same with malloc_trim and without.)
import type { Logger } from 'pino';
import { monotonicMs } from '../common/monotonic.js';

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

export type ReleaseOutcome = { released: true; hashBytes: number } | { released: false; reason: 'busy' | 'recent' | 'alreadyReleased' };

export class MemoryKeeper {
  #timer: NodeJS.Timeout | null = null;
  /** idleSince of the hashes when memory was last given back: nothing new until it moves. */
  #releasedAfter = -1;
  readonly #now: () => number;

  constructor(private readonly options: MemoryKeeperOptions) {
    this.#now = options.now ?? monotonicMs;
  }

  start(): void {
    this.#timer = setInterval(() => this.releaseIfIdle(), this.options.idleMs / 2);
    this.#timer.unref();
  }

  /** Gives memory back when no hash has run for idleMs, once per quiet spell; says what it did or why not. */
  releaseIfIdle(): ReleaseOutcome {
    const { hashes, idleMs, log } = this.options;
    if (hashes.busy) return { released: false, reason: 'busy' };
    if (this.#now() - hashes.idleSince < idleMs) return { released: false, reason: 'recent' };
    if (hashes.idleSince === this.#releasedAfter) return { released: false, reason: 'alreadyReleased' };
    this.#releasedAfter = hashes.idleSince;
    const hashBytes = hashes.releaseMemory();
    log.debug({ hashBytes }, 'hash memory given back after idle');
    return { released: true, hashBytes };
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
