// Text from a client, a card or a file is shown on a terminal as inert characters: a control
// character could move the cursor, hide text, forge a line or drive the terminal (ESC sequences).

/**
 * C0 controls, DEL and C1 controls; the line and paragraph separators; the bidirectional
 * overrides and isolates that reorder what a line shows.
 */
// eslint-disable-next-line no-control-regex -- matching the control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeOne(char: string): string {
  const named = NAMED[char];
  if (named !== undefined) return named;
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * `text` with every unsafe character written as a visible escape (`\x1b`, `\n`, `\u202e`).
 * Idempotent: the escapes are printable, so escaping twice changes nothing more.
 */
export function visible(text: string): string {
  return text.replace(UNSAFE, escapeOne);
}

/** A copy of a JSON-like value with every string (keys included) made visible. */
export function visibleDeep(value: unknown): unknown {
  if (typeof value === 'string') return visible(value);
  if (Array.isArray(value)) return value.map(visibleDeep);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [visible(k), visibleDeep(v)]));
  }
  return value;
}

/**
 * JSON for a terminal or a pipe: JSON.stringify escapes C0 but writes DEL, C1 and the
 * separators raw; these are written as \u escapes (the same JSON value, nothing a terminal acts on).
 */
export function terminalSafeJson(value: unknown): string {
  return String(JSON.stringify(value)).replace(
    /[\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
