import t from 'tap';
import { afterVerdict, checkPukFormat, PUK_TRIES, pukFailures, reserveTry } from '../../../policy/puk.js';

t.test('PUK format', async (t) => {
  const table: Array<[string, string | null]> = [
    ['12345678', null],
    ['Ab3$-x_9', null],
    ['with inner spaces ok', null],
    ['~!@#$%^&*()_+{}|:"<>?', null],
    ['x'.repeat(100), null],
    ['1234567', 'minLength'],
    ['', 'minLength'],
    ['x'.repeat(101), 'maxLength'],
    [' leading-space', 'edgeSpaces'],
    ['trailing-space ', 'edgeSpaces'],
    ['pässwort-123', 'characters'],
    ['tab\tinside-1', 'characters'],
    ['newline\ninside', 'characters'],
    ['emoji-🔑-12345', 'characters'],
  ];
  for (const [puk, rule] of table) {
    const refusal = checkPukFormat(puk);
    t.equal(refusal?.rule ?? null, rule, JSON.stringify(puk.length > 30 ? `${puk.slice(0, 10)}…(${puk.length})` : puk));
    if (refusal) t.match(refusal.message, /PUK/);
  }
});

t.test('retry counter: ten tries, a right PUK restores them, a wrong tenth blocks', async (t) => {
  let counter = { triesLeft: PUK_TRIES, blocked: false };
  for (let i = 1; i <= PUK_TRIES; i++) {
    const reserved = reserveTry(counter);
    t.ok(reserved, `try ${i} available`);
    counter = afterVerdict(reserved as typeof counter, false);
  }
  t.same(counter, { triesLeft: 0, blocked: true });
  t.equal(reserveTry(counter), null, 'blocked: no try');
  t.same(afterVerdict({ triesLeft: 3, blocked: false }, true), { triesLeft: 10, blocked: false });
  // The tenth try in flight: nothing more may start, and if it is right nothing blocks.
  const last = reserveTry({ triesLeft: 1, blocked: false });
  t.same(last, { triesLeft: 0, blocked: false });
  t.equal(reserveTry(last as typeof counter), null);
  t.same(afterVerdict(last as typeof counter, true), { triesLeft: 10, blocked: false });
});

t.test('throttle failures: every try taken counts until a right PUK', async (t) => {
  t.equal(pukFailures({ triesLeft: PUK_TRIES, blocked: false }), 0);
  const taken = reserveTry({ triesLeft: PUK_TRIES, blocked: false }) as { triesLeft: number; blocked: boolean };
  t.equal(pukFailures(taken), 1, 'a try being checked already counts');
  t.equal(pukFailures(afterVerdict(taken, false)), 1);
  t.equal(pukFailures(afterVerdict(taken, true)), 0, 'a right PUK clears them');
  t.equal(pukFailures({ triesLeft: 0, blocked: true }), PUK_TRIES);
});
