/** Log Password rules: it is typed into 7-Zip by whoever reads an exported log, so it must be long and typeable. */

export const LOG_PASSWORD_MIN_LENGTH = 12;
export const LOG_PASSWORD_MAX_LENGTH = 128;

export type LogPasswordRule = 'minLength' | 'maxLength' | 'characters' | 'edgeSpaces';

export interface LogPasswordRefusal {
  rule: LogPasswordRule;
  message: string;
}

/** The first rule a candidate Log Password breaks, or null when it is acceptable. */
export function checkLogPassword(candidate: string): LogPasswordRefusal | null {
  const length = [...candidate].length;
  if (/\p{Cc}/u.test(candidate)) return { rule: 'characters', message: 'a Log Password must not contain control characters (tabs, line breaks)' };
  if (length < LOG_PASSWORD_MIN_LENGTH) return { rule: 'minLength', message: `a Log Password needs at least ${LOG_PASSWORD_MIN_LENGTH} characters` };
  if (length > LOG_PASSWORD_MAX_LENGTH) return { rule: 'maxLength', message: `a Log Password has at most ${LOG_PASSWORD_MAX_LENGTH} characters` };
  if (candidate !== candidate.trim()) return { rule: 'edgeSpaces', message: 'a Log Password must not begin or end with a space' };
  return null;
}
