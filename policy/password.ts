import type { Role } from './roles.js';
import type { ListedRule } from './strength.js';

export const MAX_PASSWORD_LENGTH = 128;
export const MIN_PASSWORD_LENGTH = 8;
/** Strength scores (0–4, zxcvbn's scale; policy/strength.ts) required with and without `enforceStrong`. */
export const STRONG_MIN_SCORE = 3;
export const BASE_MIN_SCORE = 2;
export const HISTORY_DEPTH = 5;

export type PasswordRule =
  | 'notEmpty'
  | 'printable'
  | 'maxLength'
  | 'minLength'
  | 'lowercase'
  | 'uppercase'
  | 'digit'
  | 'special'
  | 'noRoleName'
  | 'strength'
  | 'breached'
  | 'commonBase'
  | 'context'
  | 'notDefault'
  | 'notRecent';

export interface PasswordRefusal {
  rule: PasswordRule;
  message: string;
}

export type Normalized = { ok: true; value: string } | { ok: false; refusal: PasswordRefusal };

/** NFKC-normalises a password so that look-alike encodings of the same text hash the same. */
export function normalizePassword(raw: string): Normalized {
  const value = raw.normalize('NFKC');
  if (value.length === 0) return refuse('notEmpty', 'the password is empty');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/u.test(value)) {
    return refuse('printable', 'the password contains a control character (tab, newline or similar)');
  }
  if ([...value].length > MAX_PASSWORD_LENGTH) {
    return refuse('maxLength', `the password is longer than ${MAX_PASSWORD_LENGTH} characters`);
  }
  return { ok: true, value };
}

function refuse(rule: PasswordRule, message: string): { ok: false; refusal: PasswordRefusal } {
  return { ok: false, refusal: { rule, message } };
}

export interface PasswordFacts {
  role: Role;
  enforceStrong: boolean;
  /** Strength score 0–4 of the candidate, with the role names and device identity as context words. */
  score: number;
  /** The blocklist the candidate or the base it was mangled from is on (policy/strength.ts). */
  listed?: ListedRule | null;
  equalsDefault: boolean;
  /** The candidate matches one of the role's last HISTORY_DEPTH passwords. */
  inHistory: boolean;
}

/** Every rule the (normalised) candidate breaks; empty when it is acceptable. */
export function evaluatePassword(candidate: string, facts: PasswordFacts): PasswordRefusal[] {
  const refusals: PasswordRefusal[] = [];
  const add = (rule: PasswordRule, message: string): void => {
    refusals.push({ rule, message });
  };
  if ([...candidate].length < MIN_PASSWORD_LENGTH) add('minLength', `use at least ${MIN_PASSWORD_LENGTH} characters`);
  if (facts.enforceStrong) {
    if (!/\p{Ll}/u.test(candidate)) add('lowercase', 'add a lower-case letter (strong passwords are enforced)');
    if (!/\p{Lu}/u.test(candidate)) add('uppercase', 'add an upper-case letter (strong passwords are enforced)');
    if (!/\p{Nd}/u.test(candidate)) add('digit', 'add a digit (strong passwords are enforced)');
    if (!/[^\p{L}\p{Nd}]/u.test(candidate)) {
      add('special', 'add a special character such as - ! # or a space (strong passwords are enforced)');
    }
  }
  if (candidate.toLowerCase().includes(facts.role)) add('noRoleName', `the password must not contain the role name "${facts.role}"`);
  const minScore = facts.enforceStrong ? STRONG_MIN_SCORE : BASE_MIN_SCORE;
  if (facts.score < minScore) {
    add(
      'strength',
      `the password is too easy to guess (strength ${facts.score} of 4, at least ${minScore} needed): avoid common words, dates and keyboard patterns`,
    );
  }
  if (facts.listed) add(facts.listed, LISTED_MESSAGES[facts.listed]);
  if (facts.equalsDefault) add('notDefault', "the password must differ from the role's default password");
  if (facts.inHistory) add('notRecent', `the password must differ from the role's last ${HISTORY_DEPTH} passwords`);
  return refusals;
}

const LISTED_MESSAGES: Record<ListedRule, string> = {
  breached: 'the password is on lists of leaked passwords that attackers try first',
  commonBase: 'the password is a common password, word or name with case, digits, a year, symbols or letter swaps added: attackers try those first',
  context:
    "the password is made of words tied to this device (role names, the product's and trade's words, the device's name or serial) that attackers try first",
};
