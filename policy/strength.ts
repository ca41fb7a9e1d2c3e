/**
 * How fast an attacker's dictionary run finds a password, from precomputed data only: the
 * blocklist (leaked passwords, words, names), mangling reversal, keyboard walks, sequences,
 * repeats, years and dates. Pure and synchronous: a check takes well under a millisecond.
 *
 * The score keeps zxcvbn's scale (0–4 for fewer than 10^3, 10^6, 10^8, 10^10 guesses, or more),
 * estimated as zxcvbn does: the cheapest split of the password into parts, each part costing what
 * an attacker enumerates to reach it (a listed word its frequency rank, an unknown character 10).
 */
import { type Blocklist, META_RANK_MASK, RANK_STEPS_PER_DECADE } from './blocklist.js';
import { adjacentKeys, isShiftedKey, KEYBOARD_DEGREE, KEYBOARD_STARTS, keyDirection } from './keyboard.js';
import { baseCandidates, isDateAffix, LEET_VARIANTS, letterDigitRuns, MIN_BASE_LENGTH, unleet } from './mangling.js';
import { ROLES } from './roles.js';

/** Which list the password or its base is on; the first that applies is named. */
export type ListedRule = 'breached' | 'context' | 'commonBase';

export interface StrengthVerdict {
  /** 0–4, zxcvbn's scale. */
  score: number;
  /** log10 of the estimated guesses. */
  guessesLog10: number;
  listed: ListedRule | null;
}

/** Words of this product and trade that an attacker tries on any charge controller. */
export const VENDOR_WORDS = ['ccguard', 'charge', 'charger', 'charging', 'station', 'chargepoint', 'wallbox', 'evse', 'ocpp'];

/**
 * Role names, vendor words and the device's own names (whole and in parts, split at separators and
 * at letter/digit boundaries: serial "SN48213795" gives "48213795"), lower-case.
 */
export function contextWords(deviceWords: readonly string[]): string[] {
  const words = new Set<string>([...ROLES, ...VENDOR_WORDS]);
  for (const raw of deviceWords) {
    const w = raw.normalize('NFKC').toLowerCase();
    for (const part of [w, w.replace(/[^\p{L}\p{Nd}]+/gu, ''), ...w.split(/[^\p{L}\p{Nd}]+/u), ...letterDigitRuns(w)]) {
      if (part.length >= 3) words.add(part);
    }
  }
  return [...words];
}

/** Bases this long or shorter are looked up only among the SHORT_BASE_MAX_RANK_LOG10 most common words. */
const SHORT_BASE = 5;
const SHORT_BASE_MAX_RANK_LOG10 = 3.5;
const SHORT_LEET_BASE = 6;
const SHORT_LEET_MAX_RANK_LOG10 = 4;
const MIN_PART = Math.log10(50); // zxcvbn's least guesses for a part of two or more characters
const BRUTE_CHAR = 1; // log10(10) per character nothing else explains
const LOG2 = Math.log10(2);
const MAX_REPEAT_UNIT = 8;

export function scoreOf(guessesLog10: number): number {
  if (guessesLog10 < 3) return 0;
  if (guessesLog10 < 6) return 1;
  if (guessesLog10 < 8) return 2;
  if (guessesLog10 < 10) return 3;
  return 4;
}

export function checkPassword(password: string, blocklist: Blocklist, context: readonly string[]): StrengthVerdict {
  const guessesLog10 = estimateGuesses(password, blocklist, new Set(context));
  return { score: scoreOf(guessesLog10), guessesLog10, listed: listedRule(password, blocklist, context) };
}

/** breached: the password itself is a leaked one; context/commonBase: a base it was mangled from is. */
export function listedRule(password: string, blocklist: Blocklist, context: readonly string[]): ListedRule | null {
  const lower = password.toLowerCase();
  if (blocklist.get(lower)?.leaked) return 'breached';
  const bases = baseCandidates(password, Math.max(blocklist.maxLength, ...context.map((w) => w.length)));
  const words = context.filter((w) => w.length >= 3);
  // Separators between the device's words change nothing an attacker tries ("Evse#48213795").
  if (bases.some((b) => madeOf(b, words))) return 'context';
  const listed = (b: string): boolean => {
    if (b.length < MIN_BASE_LENGTH || b.length > blocklist.maxLength) return false;
    const entry = blocklist.get(b);
    if (entry === null || entry.leaked) return entry !== null;
    // A short base counts when it is common, and so does a leet reading of 6 letters or fewer: the
    // rare words of the lists (surnames, the markets' words) are so many that random strings would
    // read as one about once in 10^5 ("saf!er" → "safier").
    if (b.length <= SHORT_BASE) return entry.rankLog10 < SHORT_BASE_MAX_RANK_LOG10;
    if (b.length <= SHORT_LEET_BASE && !lower.includes(b)) return entry.rankLog10 < SHORT_LEET_MAX_RANK_LOG10;
    return true;
  };
  if (bases.some(listed)) return 'commonBase';
  // A device word stuck to a common one, as an affix of its own ("Welcome48213795!", "Sn48213795-Anna").
  if (bases.some((b) => withoutContextAffix(b, words).some(listed))) return 'commonBase';
  return null;
}

/** `s` without a context word (and the separators next to it) at its start or its end. */
function withoutContextAffix(s: string, words: readonly string[]): string[] {
  const out: string[] = [];
  for (const w of words) {
    if (w.length >= s.length) continue;
    if (s.startsWith(w)) out.push(s.slice(w.length).replace(/^[^\p{L}\p{Nd}]+/u, ''));
    if (s.endsWith(w)) out.push(s.slice(0, s.length - w.length).replace(/[^\p{L}\p{Nd}]+$/u, ''));
  }
  return out;
}

/**
 * Whether `s` is a sequence of `words` only ("chargestation", "ccguardccguard"), with separators
 * between them ("evse#48213795"): not inside a word, where they would make random strings read as one.
 */
function madeOf(s: string, words: readonly string[]): boolean {
  if (s.length < MIN_BASE_LENGTH) return false;
  const afterWord = new Uint8Array(s.length + 1);
  const afterSeparator = new Uint8Array(s.length + 1);
  afterWord[0] = 1;
  const isSeparator = (c: string): boolean => !/[\p{L}\p{Nd}]/u.test(c);
  for (let i = 0; i < s.length; i++) {
    if (!afterWord[i] && !afterSeparator[i]) continue;
    for (const w of words) if (s.startsWith(w, i)) afterWord[i + w.length] = 1;
    if (i > 0 && isSeparator(s[i] as string)) afterSeparator[i + 1] = 1;
  }
  return afterWord[s.length] === 1;
}

/** Lower-cases character by character, so that positions stay aligned with the password. */
function lowerAligned(s: string): string {
  let out = '';
  for (const c of s) {
    const l = c.toLowerCase();
    out += l.length === c.length ? l : c;
  }
  return out;
}

function binomialSumLog10(n: number, kMax: number): number {
  let sum = 0;
  let c = 1;
  for (let k = 1; k <= kMax; k++) {
    c = (c * (n - k + 1)) / k;
    sum += c;
  }
  return Math.log10(Math.max(sum, 1));
}

/** Extra guesses for the capitals of a dictionary word, as zxcvbn counts them. */
function caseVariations(word: string): number {
  let upper = 0;
  let lower = 0;
  for (const c of word) {
    if (c !== c.toLowerCase()) upper++;
    else if (c !== c.toUpperCase()) lower++;
  }
  if (upper === 0) return 0;
  const first = word[0] as string;
  const last = word[word.length - 1] as string;
  if (lower === 0 || (upper === 1 && (first !== first.toLowerCase() || last !== last.toLowerCase()))) return LOG2;
  return binomialSumLog10(upper + lower, Math.min(upper, lower));
}

function leetVariations(original: string, read: string): number {
  let subs = 0;
  for (let i = 0; i < read.length; i++) if (original[i] !== read[i]) subs++;
  return subs === 0 ? 0 : Math.max(LOG2, subs * LOG2);
}

function isYear(digits: string): boolean {
  const y = Number(digits);
  return /^\d{4}$/.test(digits) && y >= 1950 && y <= 2039;
}

function isDate(digits: string): boolean {
  const ok = (d: number, m: number): boolean => m >= 1 && m <= 12 && d >= 1 && d <= 31;
  const n = (a: number, b: number): number => Number(digits.slice(a, b));
  if (/^\d{8}$/.test(digits)) {
    return (ok(n(0, 2), n(2, 4)) && n(4, 8) >= 1900) || (ok(n(2, 4), n(0, 2)) && n(4, 8) >= 1900) || (n(0, 4) >= 1900 && ok(n(6, 8), n(4, 6)));
  }
  if (/^\d{6}$/.test(digits)) return ok(n(0, 2), n(2, 4)) || ok(n(2, 4), n(0, 2)) || ok(n(4, 6), n(2, 4));
  return false;
}

/** log10 of the guesses of the cheapest split of the password into parts. */
export function estimateGuesses(password: string, blocklist: Blocklist, context: ReadonlySet<string>): number {
  const n = password.length;
  const lower = lowerAligned(password);
  const readings = [...new Set([lower, ...LEET_VARIANTS.map((t) => unleet(lower, t))])];
  const best = new Float64Array(n + 1).fill(Infinity);
  best[0] = 0;
  const relax = (from: number, to: number, cost: number): void => {
    const c = (best[from] as number) + Math.max(cost, to - from > 1 ? MIN_PART : 0);
    if (c < (best[to] as number)) best[to] = c;
  };
  const maxWord = Math.min(blocklist.maxLength, 64);
  // Every listed or context word in each leet reading, found up front: (start, end, rank) triples
  // by start. The blocklist scans natively when it can (the daemon runs without the JIT).
  const words = readings.map((read) => wordsIn(read, blocklist, context, maxWord));
  const next = new Int32Array(readings.length);
  for (let i = 0; i < n; i++) {
    relax(i, i + 1, BRUTE_CHAR);
    for (let r = 0; r < readings.length; r++) {
      const read = readings[r] as string;
      const found = words[r] as number[];
      let k = next[r] as number;
      for (; k < found.length && found[k] === i; k += 3) {
        const end = found[k + 1] as number;
        relax(i, end, (found[k + 2] as number) + caseVariations(password.slice(i, end)) + leetVariations(lower.slice(i, end), read.slice(i, end)));
      }
      next[r] = k;
    }
    repeats(lower, i, blocklist, relax);
    sequences(lower, i, relax);
    walks(password, i, relax);
    const four = lower.slice(i, i + 4);
    if (isYear(four)) relax(i, i + 4, Math.log10(90));
    for (const len of [6, 8]) if (isDate(lower.slice(i, i + len))) relax(i, i + len, Math.log10(366 * 100));
    // Dates with separators ("15.09.2009", "1/9/09"): a day of a century and the separator.
    for (const len of separatedDateLengths(lower, i)) relax(i, i + len, Math.log10(366 * 100) + Math.log10(3));
  }
  return best[n] as number;
}

type Relax = (from: number, to: number, cost: number) => void;

/**
 * (start, end, rankLog10) of the listed words (3 to maxWord long) and the context words (rank 0)
 * in `read`, by start.
 */
function wordsIn(read: string, blocklist: Blocklist, context: ReadonlySet<string>, maxWord: number): number[] {
  const listed = blocklist.scan(read, maxWord);
  const inContext: number[] = [];
  for (const w of context) {
    if (w.length < 3 || w.length > maxWord) continue;
    for (let at = read.indexOf(w); at >= 0; at = read.indexOf(w, at + 1)) inContext.push(at, at + w.length, 0);
  }
  const out: number[] = [];
  for (let k = 0; k < listed.length; k += 3)
    out.push(listed[k] as number, listed[k + 1] as number, ((listed[k + 2] as number) & META_RANK_MASK) / RANK_STEPS_PER_DECADE);
  if (inContext.length === 0) return out;
  out.push(...inContext);
  // Triples by start (the order within a start does not matter: each only lowers a cost).
  const order = Array.from({ length: out.length / 3 }, (_, k) => k).sort((x, y) => (out[3 * x] as number) - (out[3 * y] as number));
  return order.flatMap((k) => [out[3 * k] as number, out[3 * k + 1] as number, out[3 * k + 2] as number]);
}

const DATE_SHAPE = /\d{1,4}([./-])(\d{1,2})(?:\1(\d{1,4}))?/y;
/** Lengths of the dates with separators that start at `i` ("15.09.2009", and its "15.09" and "15.09.20"). */
function separatedDateLengths(s: string, i: number): number[] {
  DATE_SHAPE.lastIndex = i;
  const m = DATE_SHAPE.exec(s);
  if (!m) return [];
  const full = m[0].length;
  const third = m[3]?.length ?? 0;
  const lengths = [full];
  if (third > 0) lengths.push(full - third - 1);
  if (third > 2) lengths.push(full - third + 2);
  return lengths.filter((len) => isDateAffix(s.slice(i, i + len)));
}

/** "aaaa", "abcabc", "monkeymonkey": the unit's guesses times the count. */
function repeats(s: string, i: number, blocklist: Blocklist, relax: Relax): void {
  for (let unit = 1; unit <= MAX_REPEAT_UNIT && i + 2 * unit <= s.length; unit++) {
    const u = s.slice(i, i + unit);
    const listed = unit >= 3 ? blocklist.get(u) : null;
    const unitCost = Math.min(unit * BRUTE_CHAR, listed ? Math.max(listed.rankLog10, MIN_PART) : Infinity);
    let count = 1;
    while (s.startsWith(u, i + count * unit)) {
      count++;
      relax(i, i + count * unit, unitCost + Math.log10(count));
    }
  }
}

/** "abcdef", "97531", "zyx": steady steps of 1 or 2 among letters or digits. */
function sequences(s: string, i: number, relax: Relax): void {
  const cls = (c: string): number => (c >= 'a' && c <= 'z' ? 1 : c >= '0' && c <= '9' ? 2 : 0);
  const first = s[i] as string;
  if (i + 2 >= s.length || cls(first) === 0) return;
  const step = s.charCodeAt(i + 1) - s.charCodeAt(i);
  if (Math.abs(step) !== 1 && Math.abs(step) !== 2) return;
  const starts = 'az019'.includes(first) ? 4 : cls(first) === 1 ? 26 : 10;
  let j = i + 1;
  while (j < s.length && cls(s[j] as string) === cls(first) && s.charCodeAt(j) - s.charCodeAt(j - 1) === step) {
    j++;
    if (j - i >= 3) relax(i, j, Math.log10(starts) + Math.log10(j - i) + (step < 0 ? LOG2 : 0));
  }
}

/** "qwerty", "1qaz2wsx", "!@#$": runs of neighbouring keys (turns and shifts counted as the walk grows). */
function walks(s: string, i: number, relax: Relax): void {
  let turns = 0;
  let shifted = isShiftedKey(s[i] as string) ? 1 : 0;
  let direction: string | null = null;
  for (let j = i + 1; j < s.length && adjacentKeys(s[j - 1] as string, s[j] as string); j++) {
    const d = keyDirection(s[j - 1] as string, s[j] as string);
    if (direction !== null && d !== direction) turns++;
    direction = d;
    if (isShiftedKey(s[j] as string)) shifted++;
    const len = j - i + 1;
    if (len < 3) continue;
    const shiftCost = shifted === 0 ? 0 : shifted === len ? LOG2 : binomialSumLog10(len, Math.min(shifted, len - shifted));
    relax(i, j + 1, Math.log10(KEYBOARD_STARTS) + (turns + 1) * Math.log10(KEYBOARD_DEGREE) + Math.log10(len) + shiftCost);
  }
}
