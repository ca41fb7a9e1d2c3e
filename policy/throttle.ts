/**
 * Brute-force throttling: a few free failures, then an exponentially growing wait.
 * Times are monotonic milliseconds supplied by the caller.
 */
export interface ThrottleRules {
  /** Failures allowed before waits begin (the vendor's guide: from the 5th failure on). */
  freeFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface ThrottleState {
  /** Consecutive failures (persisted). */
  failures: number;
  /** Monotonic time of the last failure, or of start-up when failures were loaded from disk. */
  lastFailureAt: number | null;
  /** Attempts for this role whose password is being checked right now. */
  inFlight: number;
}

export type Admission = { admit: true } | { admit: false; waitMs: number };

/** Wait required after `failures` consecutive failures. */
export function delayAfter(failures: number, rules: ThrottleRules): number {
  if (failures < rules.freeFailures) return 0;
  const exponent = Math.min(failures - rules.freeFailures, 40);
  return Math.min(rules.baseDelayMs * 2 ** exponent, rules.maxDelayMs);
}

/**
 * Whether an attempt may have its password checked now. Attempts already in flight count
 * as failures-to-be, so a burst of parallel guesses cannot get past the free allowance.
 */
export function admitAttempt(state: ThrottleState, now: number, rules: ThrottleRules): Admission {
  if (state.failures + state.inFlight < rules.freeFailures) return { admit: true };
  if (state.inFlight > 0) return { admit: false, waitMs: Math.max(delayAfter(state.failures + 1, rules), 1) };
  const delay = delayAfter(state.failures, rules);
  const since = state.lastFailureAt === null ? Infinity : now - state.lastFailureAt;
  if (since >= delay) return { admit: true };
  return { admit: false, waitMs: Math.ceil(delay - since) };
}
