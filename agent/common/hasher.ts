import pLimit, { type LimitFunction } from 'p-limit';
import type { HashLane } from '../../policy/throttle.js';
import { Argon2Engine } from './argon2-engine.js';
import type { Argon2Params } from './config.js';
import { monotonicMs } from './monotonic.js';

/**
 * argon2id hashing with at most `maxConcurrent` hashes at once: each holds its memory cost
 * in RAM, so a burst of logins queues instead of growing the process. Checks of secrets not yet
 * known to be right (the `suspect` lane, policy/throttle.ts) go one at a time: at most one of
 * them is ever running or queued among the shared slots, so a routine login waits for at most
 * one such hash whatever floods the daemon. The engine keeps one hash's memory per slot between
 * hashes (agent/common/argon2-engine.ts); `releaseMemory()` gives it back.
 */
export class PasswordHasher {
  readonly #engine: Argon2Engine;
  readonly #limit: LimitFunction;
  readonly #suspect: LimitFunction = pLimit(1);
  /** needsRehash verdicts of the hashes seen: parsing the PHC string costs more than a login should. */
  readonly #rehashVerdicts = new Map<string, boolean>();
  #running = 0;
  /** monotonicMs() when the last hash ended (0: none yet). */
  #lastEnded = 0;

  constructor(
    private readonly params: Argon2Params,
    maxConcurrent: number,
  ) {
    this.#limit = pLimit(maxConcurrent);
    this.#engine = new Argon2Engine(maxConcurrent);
  }

  /** True while a hash runs or waits; `idleSince` is when the last one ended (monotonic ms, 0: none yet). */
  get busy(): boolean {
    return this.#running > 0;
  }

  get idleSince(): number {
    return this.#lastEnded;
  }

  async #counted<T>(work: () => Promise<T>): Promise<T> {
    this.#running++;
    try {
      return await work();
    } finally {
      this.#running--;
      this.#lastEnded = monotonicMs();
    }
  }

  hash(password: string): Promise<string> {
    return this.#counted(() => this.#limit(() => this.#engine.hash(password, this.params)));
  }

  /** Constant-time comparison inside the binding. A malformed hash counts as no match. */
  verify(hash: string, password: string, lane: HashLane = 'routine'): Promise<boolean> {
    const run = (): Promise<boolean> => this.#limit(() => this.#engine.verify(hash, password));
    return this.#counted(() => (lane === 'routine' ? run() : this.#suspect(run)));
  }

  /** Gives the memory kept between hashes back (none may be running); the bytes given back. */
  releaseMemory(): number {
    return this.#running > 0 ? 0 : this.#engine.release();
  }

  get keptMemoryBytes(): number {
    return this.#engine.keptBytes;
  }

  /** True when `hash` was made with other parameters than the configured ones. */
  async needsRehash(hash: string): Promise<boolean> {
    const known = this.#rehashVerdicts.get(hash);
    if (known !== undefined) return known;
    const verdict = await this.#engine.needsRehash(hash, this.params);
    if (this.#rehashVerdicts.size >= 64) this.#rehashVerdicts.clear();
    this.#rehashVerdicts.set(hash, verdict);
    return verdict;
  }
}
