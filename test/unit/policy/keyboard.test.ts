// US QWERTY geometry for keyboard walks (policy/keyboard.ts): neighbours on a row and across the
// staggered rows, shifted keys at their plain key's place, directions for counting turns.
import fc from 'fast-check';
import t from 'tap';
import { adjacentKeys, isShiftedKey, keyDirection } from '../../../policy/keyboard.js';

t.test('neighbours', async (t) => {
  const yes: Array<[string, string]> = [
    ['q', 'w'],
    ['a', 's'],
    ['1', 'q'],
    ['q', 'a'],
    ['a', 'z'],
    ['z', 'x'],
    ['!', '@'],
    ['Q', 'w'],
    ['1', '2'],
    ['s', 'e'],
    ['s', 'x'],
  ];
  const no: Array<[string, string]> = [
    ['q', 'e'],
    ['q', 'z'],
    ['1', 'a'],
    ['a', 'a'],
    ['q', 'p'],
    ['a', 'é'],
    ['', 'a'],
    ['z', 'd'],
  ];
  for (const [a, b] of yes) t.ok(adjacentKeys(a, b), `${a} ${b}`);
  for (const [a, b] of no) t.notOk(adjacentKeys(a, b), `${a} ${b}`);
});

t.test('walks people type are walks', async (t) => {
  for (const walk of ['qwerty', 'asdf', '1qaz', '!@#$', 'zxcvbnm', '1234567890', 'qaz']) {
    const chars = [...walk];
    t.ok(
      chars.slice(1).every((c, i) => adjacentKeys(chars[i] as string, c)),
      walk,
    );
  }
});

t.test('shifted keys', async (t) => {
  for (const c of ['!', '@', 'Q', 'A', '?', '~', '"']) t.ok(isShiftedKey(c), c);
  for (const c of ['1', 'q', '/', '`', 'é', ' ']) t.notOk(isShiftedKey(c), c);
});

t.test('directions', async (t) => {
  t.equal(keyDirection('q', 'w'), '0,1', 'right');
  t.equal(keyDirection('w', 'q'), '0,-1', 'left');
  t.equal(keyDirection('q', 'a'), '1,1', 'down: the row below is offset to the right');
  t.equal(keyDirection('a', 'q'), '-1,-1');
  t.equal(keyDirection('2', 'q'), '1,-1');
  t.equal(keyDirection('q', 'é'), '', 'not a key');
});

const keys = fc.constantFrom(...'`1234567890-=qwertyuiop[]\\asdfghjkl;\'zxcvbnm,./~!@#$%^&*()_+QWERTYUIOP{}|ASDFGHJKL:"ZXCVBNM<>?'.split(''));

t.test('property: adjacency is symmetric, irreflexive, and ignores shift', async () => {
  const unshift = (c: string): string => {
    const plain = "`1234567890-=qwertyuiop[]\\asdfghjkl;'zxcvbnm,./";
    const shifted = '~!@#$%^&*()_+QWERTYUIOP{}|ASDFGHJKL:"ZXCVBNM<>?';
    const i = shifted.indexOf(c);
    return i >= 0 ? (plain[i] as string) : c;
  };
  fc.assert(
    fc.property(
      keys,
      keys,
      (a, b) =>
        adjacentKeys(a, b) === adjacentKeys(b, a) &&
        !adjacentKeys(a, a) &&
        adjacentKeys(a, b) === adjacentKeys(unshift(a), unshift(b)) &&
        (unshift(a) !== unshift(b) || !adjacentKeys(a, b)),
    ),
  );
});
