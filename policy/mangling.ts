/**
 * Mangling reversal: undoes what password crackers' rules do to a base word (case, leet, added
 * digits, years, dates and symbols, keyboard walks, repeats, doubling, reversal), giving the bases
 * to look up.
 * Pure; the number of candidates is bounded whatever the input.
 */
import { adjacentKeys } from './keyboard.js';

/** Shorter bases are not looked up: too many random strings would match one. */
export const MIN_BASE_LENGTH = 4;
/** How many characters of a run at either end are tried as an affix ("-15.09.2009!" is 12). */
const MAX_AFFIX = 14;

const LEET_COMMON: Readonly<Record<string, string>> = {
  '0': 'o',
  '2': 'z',
  '3': 'e',
  '4': 'a',
  '@': 'a',
  '5': 's',
  $: 's',
  '6': 'g',
  '7': 't',
  '+': 't',
  '8': 'b',
  '9': 'g',
  '(': 'c',
};
/** "1", "!" and "|" stand for i or l: both readings are tried. */
const AMBIGUOUS: Readonly<Record<string, readonly [string, string]>> = { '1': ['i', 'l'], '!': ['i', 'l'], '|': ['i', 'l'] };
/** Whole-string readings (every ambiguous character read alike). */
export const LEET_VARIANTS: ReadonlyArray<Readonly<Record<string, string>>> = [
  { ...LEET_COMMON, '1': 'i', '!': 'i', '|': 'i' },
  { ...LEET_COMMON, '1': 'l', '!': 'l', '|': 'l' },
];
/** Up to this many ambiguous characters, every mix of readings is tried ("b1lly" → "billy"). */
const MAX_MIXED = 3;

export function unleet(s: string, table: Readonly<Record<string, string>>): string {
  let out = '';
  for (const c of s) out += table[c] ?? c;
  return out;
}

/** The leet readings of `s`: each ambiguous character read as i or l (all mixes when few). */
export function leetReadings(s: string): string[] {
  const chars = [...s];
  const ambiguous = chars.flatMap((c, i) => (c in AMBIGUOUS ? [i] : []));
  if (ambiguous.length > MAX_MIXED) return LEET_VARIANTS.map((t) => unleet(s, t));
  const base = chars.map((c) => LEET_COMMON[c] ?? c);
  const out: string[] = [];
  for (let mask = 0; mask < 1 << ambiguous.length; mask++) {
    const read = [...base];
    ambiguous.forEach((pos, bit) => {
      read[pos] = (AMBIGUOUS[chars[pos] as string] as readonly [string, string])[(mask >> bit) & 1] as string;
    });
    out.push(read.join(''));
  }
  return out;
}

/** Letters are what has a case (fast; no regular expression per character). */
const isLetter = (c: string): boolean => c.toLowerCase() !== c.toUpperCase();

/**
 * Affixes that rules add at the end: up to 3 symbols, or up to 6 digits (a year, "123", "2024")
 * with up to 2 symbols on either side ("!", "@2025", "!1", "123!", "#1!"); at the start, which
 * rules use less, up to 2 symbols, or up to 4 digits with up to a symbol on either side. Digits scattered among symbols,
 * or long symbol runs, are not a rule's work, and random passwords are full of them.
 */
export function isRuleAffix(s: string, atStart: boolean): boolean {
  const pattern = atStart ? /^(?:[^\p{L}\d]{1,2}|[^\p{L}\d]?\d{1,4}[^\p{L}\d]?)$/u : /^(?:[^\p{L}\d]{1,3}|[^\p{L}\d]{0,2}\d{1,6}[^\p{L}\d]{0,2})$/u;
  return pattern.test(s) || isDateAffix(s);
}

/**
 * A date written with separators, the same one throughout ("15.09.2009", "2009-09-15", "15/09",
 * "1.9.09"), with up to 2 symbols on either side: rules add birthdays that way at either end.
 */
const SEPARATED_DATE = /^[^\p{L}\d]{0,2}(?:\d{1,2}([./-])\d{1,2}(?:\1(?:\d{2}|\d{4}))?|\d{4}([./-])\d{1,2}\2\d{1,2})[^\p{L}\d]{0,2}$/u;
export function isDateAffix(s: string): boolean {
  const m = SEPARATED_DATE.exec(s);
  if (!m) return false;
  const [a, b] = s.match(/\d+/gu)?.map(Number) ?? [];
  const first = a as number;
  const second = b as number;
  // Day and month in either order, or a year then a month.
  if (m[2] !== undefined) return second >= 1 && second <= 12;
  return first >= 1 && second >= 1 && ((first <= 31 && second <= 12) || (first <= 12 && second <= 31));
}

/**
 * A leet reading is looked up when the original keeps two letters and at least a third of its
 * characters: random strings full of digits and symbols would otherwise read as words.
 */
function plausibleLeet(original: string, read: string): boolean {
  let subs = 0;
  let ambiguous = 0;
  for (let i = 0; i < read.length; i++) {
    if (original[i] !== read[i]) subs++;
    if ((original[i] as string) in AMBIGUOUS) ambiguous++;
  }
  const letters = [...original].filter(isLetter).length;
  // A short base with two ambiguous characters has 4 readings or more: with the markets' names
  // listed, random strings ("|en|a" → "lenia") would match too often.
  if (read.length < 6 && ambiguous > 1) return false;
  return letters >= 2 && subs * 3 <= read.length * 2;
}

function isWalk(s: string): boolean {
  if (s.length < 3) return false;
  for (let i = 1; i < s.length; i++) if (!adjacentKeys(s[i - 1] as string, s[i] as string)) return false;
  return true;
}

/** Affix lengths to try at the end of `s` (at the start when `fromStart`), 0 included. */
export function affixCuts(s: string, fromStart: boolean): number[] {
  const cuts = [0];
  const limit = Math.min(MAX_AFFIX, s.length - 1);
  for (let len = 1; len <= limit; len++) {
    const affix = fromStart ? s.slice(0, len) : s.slice(s.length - len);
    const hasLetter = [...affix].some(isLetter);
    if ((!hasLetter && isRuleAffix(affix, fromStart)) || isWalk(affix) || isRepeat(affix)) cuts.push(len);
  }
  return cuts;
}

function isRepeat(s: string): boolean {
  return s.length >= 2 && [...s].every((c) => c === s[0]) && !isLetter(s[0] as string);
}

/** Runs of three or more of a character cut to `keep`: "passsword" → "password" (2), "pedroooo" → "pedro" (1). */
export function collapseRepeats(s: string, keep: 1 | 2): string {
  return s.replace(/(.)\1{2,}/gu, keep === 1 ? '$1' : '$1$1');
}

/** "monkeymonkey" → "monkey", "abcabcabc" → "abc"; otherwise unchanged. */
export function undouble(s: string): string {
  for (let unit = 1; unit <= s.length / 2; unit++) {
    if (s.length % unit === 0 && s.slice(0, unit).repeat(s.length / unit) === s) return s.slice(0, unit);
  }
  return s;
}

/** "pass word", "pass-word", "pass.word" → "password" (separators between letters only). */
export function joinWords(s: string): string {
  // Two letters on either side: single letters between symbols ("l.i_a") are a random string's.
  return s.replace(/(?<=\p{L}{2})[\s\-_.]+(?=\p{L}{2})/gu, '');
}

/** Reversed by code point, so that a character outside the BMP stays whole. */
export function reverse(s: string): string {
  return [...s].reverse().join('');
}

/** "sn48213795" → ["sn", "48213795"]: runs of letters and of digits (other characters dropped). */
export function letterDigitRuns(s: string): string[] {
  return s.match(/\p{L}+|\p{Nd}+/gu) ?? [];
}

/**
 * The bases a password may be a mangled form of, lower-case, from MIN_BASE_LENGTH to `maxLength`
 * long (longer ones cannot be listed). The password itself (lower-cased) comes first.
 */
export function baseCandidates(password: string, maxLength = Infinity): string[] {
  const lower = password.toLowerCase();
  const out = new Set<string>();
  const add = (s: string): void => {
    if (s.length < MIN_BASE_LENGTH || s.length > maxLength) return;
    out.add(s);
    for (const read of leetReadings(s)) if (plausibleLeet(s, read)) out.add(read);
  };
  add(lower);
  for (const p of affixCuts(lower, true)) {
    const rest = lower.slice(p);
    for (const q of affixCuts(rest, false)) {
      const core = rest.slice(0, rest.length - q);
      for (const form of new Set([core, collapseRepeats(core, 1), collapseRepeats(core, 2), undouble(core), joinWords(core)])) {
        add(form);
        // A leet reading can reveal a doubled word or an affix of its own ("p4ssp4ss", "h3ll0").
        for (const read of leetReadings(form)) if (plausibleLeet(form, read)) add(undouble(read));
        // Reversal is a rule of its own ("emoclew" → "welcome"), of letters only: reversed leet
        // readings would double the chance that a random string reads as a word.
        // Only the core as typed: a joined or collapsed form reversed would add readings of its own.
        if (form !== core || form.length < MIN_BASE_LENGTH || form.length > maxLength) continue;
        if (/^\p{L}+$/u.test(form)) out.add(reverse(form));
      }
    }
  }
  return [...out];
}
