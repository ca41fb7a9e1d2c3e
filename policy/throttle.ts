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

/**
 * `wait`: refused; the role is inside its delay. `busy`: the attempt could go ahead but for
 * attempts still in flight; the caller retries once one of them has settled.
 */
export type Admission = { admit: true } | { admit: false; reason: 'wait'; waitMs: number } | { admit: false; reason: 'busy' };

/** Wait required after `failures` consecutive failures. */
export function delayAfter(failures: number, rules: ThrottleRules): number {
  if (failures < rules.freeFailures) return 0;
  const exponent = Math.min(failures - rules.freeFailures, 40);
  return Math.min(rules.baseDelayMs * 2 ** exponent, rules.maxDelayMs);
}

/**
 * Whether an attempt may have its password checked now. Attempts in flight count as
 * failures-to-be, so a burst of parallel guesses cannot get past the free allowance: the
 * excess waits for their outcome instead.
 */
export function admitAttempt(state: ThrottleState, now: number, rules: ThrottleRules): Admission {
  if (state.failures + state.inFlight < rules.freeFailures) return { admit: true };
  const delay = delayAfter(state.failures, rules);
  const since = state.lastFailureAt === null ? Infinity : now - state.lastFailureAt;
  if (since < delay) return { admit: false, reason: 'wait', waitMs: Math.ceil(delay - since) };
  return state.inFlight > 0 ? { admit: false, reason: 'busy' } : { admit: true };
}

/**
 * Hashing lanes. `routine`: a secret presented for a key (role) whose last attempt succeeded,
 * with no other attempt in flight, or work for a caller already authenticated. `suspect`:
 * everything else (after failures, in a burst, every PUK): it runs on a small budget of its own,
 * so a flood of guesses cannot starve the logins of the people who know their password.
 */
export type HashLane = 'routine' | 'suspect';

/** The lane for checking a presented secret, given the key's throttle state at admission (before this attempt). */
export function laneFor(state: Pick<ThrottleState, 'failures' | 'inFlight'>): HashLane {
  return state.failures === 0 && state.inFlight === 0 ? 'routine' : 'suspect';
}

/** The role-wide half: past a ceiling of failures from untrusted sources, every untrusted source slows. */
export interface CeilingRules extends ThrottleRules {
  /** Failures from untrusted sources together after which each untrusted attempt waits role-wide. */
  roleCeiling: number;
}

export interface RoleWideState {
  /** Failures of the role from untrusted sources (persisted, per source). */
  untrustedFailures: number;
  /** Monotonic time of the last untrusted failure, or of start-up when the failures were loaded. */
  lastUntrustedFailureAt: number | null;
  /** Until when a master card tap lifts the ceiling (the people at the station are recovering). */
  graceUntil: number | null;
}

/**
 * The wait the role-wide ceiling adds for an attempt from a source, 0 for none. The trusted
 * path (root on the controller) and a card tap's grace window are never slowed by it; below the
 * ceiling nobody is. Above it the wait grows with the failures past the ceiling, like a source's.
 */
export function roleWideWait(state: RoleWideState, trusted: boolean, now: number, rules: CeilingRules): number {
  if (trusted || (state.graceUntil !== null && now < state.graceUntil)) return 0;
  if (state.untrustedFailures < rules.roleCeiling) return 0;
  const delay = delayAfter(state.untrustedFailures - rules.roleCeiling + rules.freeFailures, rules);
  const since = state.lastUntrustedFailureAt === null ? Infinity : now - state.lastUntrustedFailureAt;
  return since < delay ? Math.ceil(delay - since) : 0;
}

/** Whether the failure that brought the untrusted count from `before` to `after` crossed the ceiling. */
export function crossedCeiling(before: number, after: number, rules: Pick<CeilingRules, 'roleCeiling'>): boolean {
  return before < rules.roleCeiling && after >= rules.roleCeiling;
}
