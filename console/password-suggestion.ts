import { randomInt } from 'node:crypto';
import { ROLES } from '../policy/roles.js';

// Letters and digits that cannot be mistaken for one another on a label (no 0/O, 1/l/I), and symbols
// every keyboard layout of the station's technicians has.
const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const DIGITS = '23456789';
const SYMBOLS = '-_.!?#%+=';
const ALL = LOWER + UPPER + DIGITS + SYMBOLS;

/**
 * A password from the CSPRNG that any policy accepts (the guide: "various password generators are
 * available"): 20 characters, ~120 bits, with each class `enforceStrong` asks for. Shown once, for
 * a password manager or the device label; the daemon still checks it like any other.
 */
export function suggestPassword(length = 20): string {
  for (;;) {
    const candidate = draw(length);
    // A role's name inside is refused by the policy (a few in a million draws): draw again.
    if (!ROLES.some((role) => candidate.toLowerCase().includes(role))) return candidate;
  }
}

function draw(length: number): string {
  const chars = [LOWER, UPPER, DIGITS, SYMBOLS].map(pick);
  while (chars.length < length) chars.push(pick(ALL));
  // Fisher–Yates with the CSPRNG, so the classes' places are not fixed.
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j] as string, chars[i] as string];
  }
  return chars.join('');
}

function pick(alphabet: string): string {
  return alphabet[randomInt(alphabet.length)] as string;
}
