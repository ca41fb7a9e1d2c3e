import t from 'tap';
import fc from 'fast-check';
import { afterVerdict, checkPukFormat, PUK_SHARED_TRIES, PUK_TRIES, pukFailures, pukView, reserveTry, type PukCounter } from '../../../policy/puk.js';

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

const fresh = (): PukCounter => ({ triesLeft: PUK_SHARED_TRIES, blocked: false, failuresBySource: {} });
const ROOT = 'uid:0';
const STRANGER = 'uid:65534';

t.test('retry counter: ten tries per source, a right PUK restores them, a wrong tenth blocks that source', async (t) => {
  let counter = fresh();
  for (let i = 1; i <= PUK_TRIES; i++) {
    const reserved = reserveTry(counter, STRANGER);
    t.ok(reserved, `try ${i} available`);
    counter = afterVerdict(reserved as PukCounter, false);
  }
  t.same(pukView(counter, STRANGER), { triesLeft: 0, blocked: true });
  t.equal(reserveTry(counter, STRANGER), null, 'blocked for the stranger: no try');
  t.same(pukView(counter, ROOT), { triesLeft: PUK_TRIES, blocked: false }, 'the stranger burnt only its own share');
  t.ok(reserveTry(counter, ROOT), 'root may still try');
  t.same(afterVerdict(counter, true), fresh(), 'a right PUK restores every source');
  // The tenth try in flight: nothing more may start, and if it is right nothing blocks.
  const nine = { ...fresh(), failuresBySource: { [STRANGER]: PUK_TRIES - 1 } };
  const last = reserveTry(nine, STRANGER) as PukCounter;
  t.same(pukView(last, STRANGER), { triesLeft: 0, blocked: true });
  t.equal(reserveTry(last, STRANGER), null);
  t.same(afterVerdict(last, true), fresh());
});

t.test('the shared ceiling blocks the PUK for everyone, root included', async (t) => {
  let counter = fresh();
  for (let i = 0; i < PUK_SHARED_TRIES; i++) counter = afterVerdict(reserveTry(counter, `uid:${1000 + (i % 5)}`) as PukCounter, false);
  t.equal(counter.blocked, true);
  t.same(pukView(counter, ROOT), { triesLeft: 0, blocked: true });
  t.equal(reserveTry(counter, ROOT), null);
});

t.test('properties: no source ever gets more than ten tries, nor all together more than the shared ones', async () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.boolean()), { maxLength: 200 }), (tries) => {
      let counter = fresh();
      const taken = new Map<string, number>();
      let all = 0;
      for (const [uid, right] of tries) {
        const source = `uid:${uid}`;
        const reserved = reserveTry(counter, source);
        if (!reserved) continue;
        taken.set(source, (taken.get(source) ?? 0) + 1);
        all += 1;
        if ((taken.get(source) ?? 0) > PUK_TRIES || all > PUK_SHARED_TRIES) return false;
        counter = afterVerdict(reserved, right);
        if (right) {
          taken.clear();
          all = 0;
        }
      }
      return true;
    }),
  );
});

t.test('throttle failures: every try taken by a source counts until a right PUK', async (t) => {
  t.equal(pukFailures(fresh(), STRANGER), 0);
  const taken = reserveTry(fresh(), STRANGER) as PukCounter;
  t.equal(pukFailures(taken, STRANGER), 1, 'a try being checked already counts');
  t.equal(pukFailures(taken, ROOT), 0, "another source's tries are not root's");
  t.equal(pukFailures(afterVerdict(taken, false), STRANGER), 1);
  t.equal(pukFailures(afterVerdict(taken, true), STRANGER), 0, 'a right PUK clears them');
});
