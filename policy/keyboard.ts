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

/** Direction changes along a walk (a straight row such as "qwerty" has none). */
export function walkTurns(walk: string): number {
  let turns = 0;
  let prev: [number, number] | null = null;
  for (let i = 1; i < walk.length; i++) {
    const a = KEYS.get(walk[i - 1] as string);
    const b = KEYS.get(walk[i] as string);
    if (!a || !b) continue;
    const dir: [number, number] = [Math.sign(b.row - a.row), Math.sign(b.x - a.x)];
    if (prev && (prev[0] !== dir[0] || prev[1] !== dir[1])) turns++;
    prev = dir;
  }
  return turns;
}
