/** US QWERTY geometry, for keyboard walks such as "qwerty", "asdf", "1qaz" or "!@#$". */
const ROWS: ReadonlyArray<readonly [plain: string, shifted: string, x0: number]> = [
  ['`1234567890-=', '~!@#$%^&*()_+', 0],
  ['qwertyuiop[]\\', 'QWERTYUIOP{}|', 1.5],
  ["asdfghjkl;'", 'ASDFGHJKL:"', 1.75],
  ['zxcvbnm,./', 'ZXCVBNM<>?', 2.25],
];

interface Key {
  row: number;
  x: number;
  shifted: boolean;
}

const KEYS = new Map<string, Key>();
ROWS.forEach(([plain, shifted, x0], row) => {
  for (let i = 0; i < plain.length; i++) {
    KEYS.set(plain[i] as string, { row, x: x0 + i, shifted: false });
    KEYS.set(shifted[i] as string, { row, x: x0 + i, shifted: true });
  }
});

/** Keys with a typical number of neighbours, for counting walks an attacker enumerates. */
export const KEYBOARD_STARTS = 47;
export const KEYBOARD_DEGREE = 4.6;

/** Whether `b` is a key next to `a` (same row or the row above or below). */
export function adjacentKeys(a: string, b: string): boolean {
  const ka = KEYS.get(a);
  const kb = KEYS.get(b);
  if (!ka || !kb) return false;
  const dy = Math.abs(ka.row - kb.row);
  const dx = Math.abs(ka.x - kb.x);
  return (dy === 0 && dx === 1) || (dy === 1 && dx <= 1.25);
}

export function isShiftedKey(c: string): boolean {
  return KEYS.get(c)?.shifted ?? false;
}

/** The direction from key `a` to key `b` ("0,1" is one key to the right), for counting turns. */
export function keyDirection(a: string, b: string): string {
  const ka = KEYS.get(a);
  const kb = KEYS.get(b);
  if (!ka || !kb) return '';
  return `${Math.sign(kb.row - ka.row)},${Math.sign(kb.x - ka.x)}`;
}
