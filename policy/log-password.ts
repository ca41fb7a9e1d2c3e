/**
 * Log Password rules: it is typed into 7-Zip by whoever reads an exported log, so it must be long
 * and typeable; and it protects files that leave the device, whose zip key derivation is fixed at
 * PBKDF2-SHA1 × 1000, so it must also withstand an offline wordlist run: the blocklist and strength
 * rules of role passwords, with a higher bar.
 */
import type { ListedRule, StrengthVerdict } from './strength.js';

export const LOG_PASSWORD_MIN_LENGTH = 12;
export const LOG_PASSWORD_MAX_LENGTH = 128;
/**
 * log10 of the guesses a Log Password must cost at least: ten times a strong role password's 10^8
 * (policy/password.ts). Not 10^10: the estimate counts 10 guesses for a character no pattern
 * explains, so CSPRNG passwords of 12 characters estimate from about 9.3 (measured), and they must pass.
 */
export const LOG_PASSWORD_MIN_GUESSES_LOG10 = 9;
/** Words an attacker adds for this secret in particular, beside the device's context words. */
export const LOG_PASSWORD_WORDS = ['log', 'logs', 'logfile', 'export', 'exports', 'zip', '7zip', 'password', 'passwort', 'secret', 'audit'];

export type LogPasswordRule = 'minLength' | 'maxLength' | 'characters' | 'edgeSpaces' | 'strength' | ListedRule;

export interface LogPasswordRefusal {
  rule: LogPasswordRule;
  message: string;
}

/**
 * The first rule a candidate Log Password breaks, or null when it is acceptable. `strength` is the
 * candidate's verdict (policy/strength.ts, with LOG_PASSWORD_WORDS among the context words); the
 * form rules are checked without it.
 */
export function checkLogPassword(candidate: string, strength?: Pick<StrengthVerdict, 'guessesLog10' | 'listed'>): LogPasswordRefusal | null {
  const length = [...candidate].length;
  if (/\p{Cc}/u.test(candidate)) return { rule: 'characters', message: 'a Log Password must not contain control characters (tabs, line breaks)' };
  if (length < LOG_PASSWORD_MIN_LENGTH) return { rule: 'minLength', message: `a Log Password needs at least ${LOG_PASSWORD_MIN_LENGTH} characters` };
  if (length > LOG_PASSWORD_MAX_LENGTH) return { rule: 'maxLength', message: `a Log Password has at most ${LOG_PASSWORD_MAX_LENGTH} characters` };
  if (candidate !== candidate.trim()) return { rule: 'edgeSpaces', message: 'a Log Password must not begin or end with a space' };
  if (strength?.listed) return { rule: strength.listed, message: LISTED_MESSAGES[strength.listed] };
  if (strength && strength.guessesLog10 < LOG_PASSWORD_MIN_GUESSES_LOG10) {
    return {
      rule: 'strength',
      message: `a Log Password must be harder to guess than a login password (exported logs meet offline attacks): use 4 or more random words, or 12 or more random characters`,
    };
  }
  return null;
}

const LISTED_MESSAGES: Record<ListedRule, string> = {
  breached: 'a Log Password must not be on lists of leaked passwords that attackers try first',
  commonBase: 'a Log Password must not be a common password, word or name with case, digits, a year, symbols or letter swaps added',
  context: "a Log Password must not be made of words tied to this device or its logs (role names, the trade's words, the device's name or serial, log, export)",
};
