import { admitAttempt, laneFor, type HashLane, type ThrottleRules, type ThrottleState } from '../../../policy/throttle.js';

export type GateAnswer = { admitted: true; lane: HashLane } | { admitted: false; waitMs: number };

/**
 * The in-memory half of brute-force throttling for one kind of secret (a role's password, the
 * PUK): attempts in flight, the time of the last failure, callers waiting for an attempt to
 * settle. The persisted half (the failure count) is read through `failures` at each decision;
 * the rule itself is `admitAttempt` in policy/throttle.ts.
 */
export class AttemptGate<K> {
  readonly #inFlight = new Map<K, number>();
  readonly #waiters = new Map<K, Array<() => void>>();
  readonly #lastFailureAt = new Map<K, number>();
  readonly #startedAt: number;

  constructor(
    private readonly rules: ThrottleRules,
    private readonly now: () => number,
  ) {
    this.#startedAt = now();
  }

  state(key: K, failures: number): ThrottleState {
    // After a restart the time of the last failure is unknown: the wait counts from start-up.
    const fallback = failures >= this.rules.freeFailures ? this.#startedAt : null;
    return { failures, lastFailureAt: this.#lastFailureAt.get(key) ?? fallback, inFlight: this.#inFlight.get(key) ?? 0 };
  }

  /** The wait a new attempt for `key` would be refused with now (0: none). */
  waitMs(key: K, failures: number): number {
    const admission = admitAttempt(this.state(key, failures), this.now(), this.rules);
    return !admission.admit && admission.reason === 'wait' ? admission.waitMs : 0;
  }

  /**
   * Waits out attempts in flight that could use up the free allowance, then admits (the caller
   * must `settle` it) or refuses with the wait. `failures` is read afresh after each wait.
   */
  async admit(key: K, failures: () => number): Promise<GateAnswer> {
    for (;;) {
      const state = this.state(key, failures());
      const admission = admitAttempt(state, this.now(), this.rules);
      if (admission.admit) {
        this.#inFlight.set(key, state.inFlight + 1);
        return { admitted: true, lane: laneFor(state) };
      }
      if (admission.reason === 'wait') return { admitted: false, waitMs: admission.waitMs };
      await this.#settled(key);
    }
  }

  /** Ends an admitted attempt; `failed` starts the wait that follows a failure. */
  settle(key: K, outcome: 'failed' | 'succeeded' | 'undecided'): void {
    if (outcome === 'failed') this.#lastFailureAt.set(key, this.now());
    if (outcome === 'succeeded') this.#lastFailureAt.delete(key);
    this.#inFlight.set(key, (this.#inFlight.get(key) ?? 1) - 1);
    const waiters = this.#waiters.get(key) ?? [];
    this.#waiters.delete(key);
    for (const wake of waiters) wake();
  }

  /** Forgets the last failure of `key` (its failures were cleared in the state). */
  clear(key: K): void {
    this.#lastFailureAt.delete(key);
  }

  /** Forgets the last failure of every key `match` picks. */
  clearWhere(match: (key: K) => boolean): void {
    for (const key of [...this.#lastFailureAt.keys()]) if (match(key)) this.#lastFailureAt.delete(key);
  }

  #settled(key: K): Promise<void> {
    let waiters = this.#waiters.get(key);
    if (!waiters) {
      waiters = [];
      this.#waiters.set(key, waiters);
    }
    const list = waiters;
    return new Promise((resolve) => list.push(resolve));
  }
}
