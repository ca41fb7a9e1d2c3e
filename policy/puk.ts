import { failuresOf, withFailure, type FailureCounts } from './sources.js';

/** Reset Password PUK rules (vendor's guide: 8–100 letters, digits and symbols; SIM-style retry counter). */

export const PUK_MIN_LENGTH = 8;
export const PUK_MAX_LENGTH = 100;
/** Wrong PUKs one source may try before the PUK is blocked for it, as on a SIM card. */
export const PUK_TRIES = 10;
/** Wrong PUKs all sources together may try before it is blocked for everyone. */
export const PUK_SHARED_TRIES = 30;

export type PukRule = 'minLength' | 'maxLength' | 'characters' | 'edgeSpaces';

export interface PukRefusal {
  rule: PukRule;
  message: string;
}

/** The first rule a candidate PUK breaks, or null when it is acceptable. */
export function checkPukFormat(puk: string): PukRefusal | null {
  if (!/^[\x20-\x7e]*$/.test(puk)) {
    return { rule: 'characters', message: 'a PUK may hold only printable ASCII letters, digits, symbols and inner spaces' };
  }
  if (puk.length < PUK_MIN_LENGTH) return { rule: 'minLength', message: `a PUK needs at least ${PUK_MIN_LENGTH} characters` };
  if (puk.length > PUK_MAX_LENGTH) return { rule: 'maxLength', message: `a PUK has at most ${PUK_MAX_LENGTH} characters` };
  if (puk.startsWith(' ') || puk.endsWith(' ')) return { rule: 'edgeSpaces', message: 'a PUK must not begin or end with a space' };
  return null;
}

/**
 * The PUK's try counters: tries are counted per source (policy/sources.ts), so a stranger who
 * blocks its own share leaves the PUK working for the operator, within a shared ceiling that
 * bounds the guesses of all sources together.
 */
export interface PukCounter {
  /** Tries left to all sources together. */
  triesLeft: number;
  /** Blocked for everyone: the shared tries are used up. */
  blocked: boolean;
  /** Tries taken per source since the PUK was last found right. */
  failuresBySource: FailureCounts;
}

/** The counter as one source sees it: its own tries left within the shared ones, and whether it may try. */
export function pukView(counter: PukCounter, source: string): { triesLeft: number; blocked: boolean } {
  const own = PUK_TRIES - failuresOf(counter.failuresBySource, source);
  return { triesLeft: Math.max(0, Math.min(own, counter.triesLeft)), blocked: counter.blocked || own <= 0 };
}

/** A try is taken before the PUK is checked; none is left while blocked or while the last ones are being checked. */
export function reserveTry(counter: PukCounter, source: string): PukCounter | null {
  const view = pukView(counter, source);
  if (view.blocked || view.triesLeft <= 0) return null;
  return { triesLeft: counter.triesLeft - 1, blocked: false, failuresBySource: withFailure(counter.failuresBySource, source) };
}

/**
 * The counter after the verdict on a reserved try: a right PUK restores every try of every source
 * (also when the new password it came with is then refused), a wrong one keeps it taken.
 */
export function afterVerdict(counter: PukCounter, correct: boolean): PukCounter {
  if (correct) return { triesLeft: PUK_SHARED_TRIES, blocked: false, failuresBySource: {} };
  return { ...counter, blocked: counter.triesLeft <= 0 };
}

/**
 * Consecutive wrong PUKs of `source` as the throttle (policy/throttle.ts) counts them: every try
 * taken, those still being checked included. A try counts as spent until the PUK is found right,
 * so parallel attempts are throttled a little early, never late.
 */
export function pukFailures(counter: PukCounter, source: string): number {
  return failuresOf(counter.failuresBySource, source);
}
