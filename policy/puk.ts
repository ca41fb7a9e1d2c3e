/** Reset Password PUK rules (vendor's guide: 8–100 letters, digits and symbols; SIM-style retry counter). */

export const PUK_MIN_LENGTH = 8;
export const PUK_MAX_LENGTH = 100;
export const PUK_TRIES = 10;

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

export interface PukCounter {
  triesLeft: number;
  blocked: boolean;
}

/** A try is taken before the PUK is checked; none is left while blocked or while the last ones are being checked. */
export function reserveTry(counter: PukCounter): PukCounter | null {
  if (counter.blocked || counter.triesLeft <= 0) return null;
  return { triesLeft: counter.triesLeft - 1, blocked: false };
}

/**
 * The counter after the verdict on a reserved try: a right PUK restores every try (also when the
 * new password it came with is then refused), a wrong one keeps it taken.
 */
export function afterVerdict(counter: PukCounter, correct: boolean): PukCounter {
  if (correct) return { triesLeft: PUK_TRIES, blocked: false };
  return { triesLeft: counter.triesLeft, blocked: counter.triesLeft <= 0 };
}

/**
 * Consecutive wrong PUKs as the throttle (policy/throttle.ts) counts them: every try taken,
 * those still being checked included. A try counts as spent until the PUK is found right, so
 * parallel attempts are throttled a little early, never late.
 */
export function pukFailures(counter: PukCounter): number {
  return PUK_TRIES - counter.triesLeft;
}
