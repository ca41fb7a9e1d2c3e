// The enrolment state machine on a fake monotonic clock: examples for the rules, fast-check for invariants.
import fc from 'fast-check';
import t from 'tap';
import { enrolmentStepOf, NO_ENROLMENT, step, type EnrolmentDecision, type EnrolmentInput, type EnrolmentState } from '../../../policy/card-enrolment.js';

const R1 = 'reader-1';
const R2 = 'reader-2';
const A = '04a1a1a1a1a1a1';
const B = '04b2b2b2b2b2b2';

type Fed = { input: EnrolmentInput; decisions: EnrolmentDecision[]; claimed: boolean; before: EnrolmentState; after: EnrolmentState };

/** Feeds inputs in order, with a tick at every deadline that falls before the next input (as the agent's timer does). */
function run(inputs: EnrolmentInput[]): { fed: Fed[]; state: EnrolmentState } {
  let state = NO_ENROLMENT;
  let deadline: number | null = null;
  const fed: Fed[] = [];
  const feed = (input: EnrolmentInput): void => {
    const r = step(state, input);
    fed.push({ input, decisions: r.decisions, claimed: r.claimed, before: state, after: r.state });
    state = r.state;
    deadline = r.nextDeadline;
  };
  for (const input of inputs) {
    while (deadline !== null && deadline < input.at) feed({ type: 'tick', at: deadline });
    feed(input);
  }
  return { fed, state };
}

const decisions = (fed: Fed[]): EnrolmentDecision[] => fed.flatMap((f) => f.decisions);
const types = (fed: Fed[]): string[] => decisions(fed).map((d) => (d.type === 'ended' ? `ended:${d.reason}` : d.type));

const begin = (at: number, timeoutMs = 60_000, reader = R1): EnrolmentInput => ({ type: 'begin', reader, timeoutMs, at });
const placed = (at: number, uid = A, reader = R1, acceptable = true): EnrolmentInput => ({ type: 'placed', reader, uid, acceptable, at });
const removed = (at: number, reader = R1): EnrolmentInput => ({ type: 'removed', reader, at });
const ended = (at: number, outcome: 'enrolled' | 'pulled' | 'failed'): EnrolmentInput => ({ type: 'exchangeEnded', outcome, at });

t.test('the same card placed, removed and placed again is personalised, then enrolled', async (t) => {
  const { fed, state } = run([begin(0), placed(1000), removed(2000), placed(3000), ended(4000, 'enrolled')]);
  t.same(types(fed), ['started', 'firstPresented', 'personalise', 'completed']);
  t.same(
    decisions(fed).find((d) => d.type === 'personalise'),
    { type: 'personalise', reader: R1, uid: A },
  );
  t.equal(state.phase, 'idle');
  t.same(
    fed.map((f) => enrolmentStepOf(f.after)),
    ['placeCard', 'removeCard', 'placeCardAgain', 'personalising', null],
  );
});

t.test('the same card twice without a removal in between is one presentation', async (t) => {
  const { fed, state } = run([begin(0), placed(1000), placed(1500)]);
  t.same(types(fed), ['started', 'firstPresented']);
  t.equal(state.phase, 'removeCard');
  t.ok(fed[2]?.claimed, 'the second placement is still the enrolment’s, not a tap');
});

t.test('another card presented the second time ends the enrolment; nothing enrolled', async (t) => {
  const { fed, state } = run([begin(0), placed(1000, A), removed(2000), placed(3000, B)]);
  t.same(types(fed), ['started', 'firstPresented', 'ended:otherCard']);
  t.equal(state.phase, 'idle');
});

t.test('a card already enrolled is refused at its first presentation', async (t) => {
  const { fed } = run([begin(0), placed(1000, A, R1, false)]);
  t.same(types(fed), ['started', 'ended:cardRefused']);
});

t.test('a card pulled mid-exchange: the enrolment waits for it again and finishes then', async (t) => {
  const { fed, state } = run([
    begin(0),
    placed(1000),
    removed(2000),
    placed(3000),
    removed(3100),
    ended(3200, 'pulled'),
    placed(4000),
    ended(5000, 'enrolled'),
  ]);
  t.same(types(fed), ['started', 'firstPresented', 'personalise', 'presentAgain', 'personalise', 'completed']);
  t.equal(state.phase, 'idle');
});

t.test('a card that went mute but stays on the reader must be removed before it counts again', async (t) => {
  const { fed, state } = run([begin(0), placed(1000), removed(2000), placed(3000), ended(3200, 'pulled'), placed(3300)]);
  t.same(types(fed), ['started', 'firstPresented', 'personalise', 'presentAgain']);
  t.equal(state.phase, 'removeCard');
});

t.test('the window ends before any card, or after the first presentation', async (t) => {
  t.same(types(run([begin(0, 10_000), placed(20_000)]).fed), ['started', 'ended:notPlaced']);
  const late = run([begin(0, 10_000), placed(1000), removed(2000), placed(20_000)]);
  t.same(types(late.fed), ['started', 'firstPresented', 'ended:notPlacedAgain']);
  t.notOk(late.fed.at(-1)?.claimed, 'a placement after the window is an ordinary tap');
});

t.test('a timeout while the card is personalised: the exchange finishes and is recorded, or ends the enrolment', async (t) => {
  const done = run([begin(0, 10_000), placed(1000), removed(2000), placed(9000), ended(15_000, 'enrolled')]);
  t.same(types(done.fed), ['started', 'firstPresented', 'personalise', 'completed']);
  const pulled = run([begin(0, 10_000), placed(1000), removed(2000), placed(9000), removed(12_000), ended(15_000, 'pulled'), placed(16_000)]);
  t.same(types(pulled.fed), ['started', 'firstPresented', 'personalise', 'ended:exchangeFailed']);
});

t.test('the client going away: ends at once, or after an exchange under way', async (t) => {
  t.same(types(run([begin(0), placed(1000), { type: 'abort', at: 1500 }]).fed), ['started', 'firstPresented', 'ended:clientGone']);
  const busy = run([begin(0), placed(1000), removed(2000), placed(3000), { type: 'abort', at: 3100 }, ended(3200, 'pulled')]);
  t.same(types(busy.fed), ['started', 'firstPresented', 'personalise', 'ended:exchangeFailed']);
});

t.test('an unreadable card ends the enrolment, except mid-exchange; other readers are not the enrolment’s', async (t) => {
  const { fed } = run([begin(0), { type: 'unreadable', reader: R1, cause: 'mute', at: 500 }]);
  t.same(decisions(fed).at(-1), { type: 'ended', reason: 'unreadable', cause: 'mute' });
  const other = run([begin(0), placed(500, A, R2), { type: 'unreadable', reader: R2, cause: 'mute', at: 600 }]);
  t.same(types(other.fed), ['started']);
  t.same(
    other.fed.map((f) => f.claimed),
    [false, false, false],
  );
  const busy = run([begin(0), placed(1000), removed(2000), placed(3000), { type: 'unreadable', reader: R1, cause: 'x', at: 3100 }]);
  t.equal(busy.state.phase, 'personalising');
  t.notOk(busy.fed.at(-1)?.claimed);
});

t.test('a second enrolment is refused while one runs', async (t) => {
  const { fed, state } = run([begin(0), placed(1000), begin(1500, 5000, R2)]);
  t.same(types(fed), ['started', 'firstPresented', 'refused']);
  t.equal(state.phase, 'removeCard');
});

// ---- properties over arbitrary event sequences ----

// Mostly the enrolment's reader and card, so that sequences get as far as the exchange.
const reader = fc.constantFrom(R1, R1, R1, R2);
const uid = fc.constantFrom(A, A, A, B);
const input = (at: number): fc.Arbitrary<EnrolmentInput> =>
  fc.oneof(
    { weight: 1, arbitrary: fc.record({ type: fc.constant('begin' as const), reader, timeoutMs: fc.integer({ min: 1, max: 60_000 }), at: fc.constant(at) }) },
    {
      weight: 4,
      arbitrary: fc.record({ type: fc.constant('placed' as const), reader, uid, acceptable: fc.constantFrom(true, true, true, false), at: fc.constant(at) }),
    },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('unreadable' as const), reader, cause: fc.constant('mute'), at: fc.constant(at) }) },
    { weight: 4, arbitrary: fc.record({ type: fc.constant('removed' as const), reader, at: fc.constant(at) }) },
    {
      weight: 3,
      arbitrary: fc.record({
        type: fc.constant('exchangeEnded' as const),
        outcome: fc.constantFrom('enrolled' as const, 'pulled' as const, 'failed' as const),
        at: fc.constant(at),
      }),
    },
    { weight: 1, arbitrary: fc.record({ type: fc.constantFrom('abort' as const, 'stop' as const), at: fc.constant(at) }) },
  );

/** Inputs at increasing times (several at the same instant too). */
const sequences = fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 60, size: 'max' }).chain((gaps) => {
  let at = 0;
  return fc.tuple(...gaps.map((gap) => input((at += gap))));
});

/** Like run(), but an exchange's end is fed only while one is under way (the agent has no other). */
function runAsAgent(inputs: EnrolmentInput[]): Fed[] {
  return run(inputs).fed.filter((f) => f.input.type !== 'exchangeEnded' || f.before.phase === 'personalising');
}

t.test('never two enrolments at once: every start is followed by exactly one end before the next start', async () => {
  fc.assert(
    fc.property(sequences, (inputs) => {
      let open = false;
      for (const d of decisions(run(inputs).fed)) {
        if (d.type === 'started') {
          if (open) return false;
          open = true;
        }
        if (d.type === 'completed' || d.type === 'ended') {
          if (!open) return false;
          open = false;
        }
      }
      return true;
    }),
  );
});

t.test('a refused begin leaves the running enrolment as it was', async () => {
  fc.assert(
    fc.property(sequences, (inputs) =>
      run(inputs).fed.every((f) => !f.decisions.some((d) => d.type === 'refused') || (f.before.phase !== 'idle' && f.after === f.before)),
    ),
  );
});

t.test('a timed-out enrolment never completes unless its exchange began inside the window, and never begins one after', async () => {
  fc.assert(
    fc.property(sequences, (inputs) => {
      let deadline = Infinity;
      let personalisedAt = -1;
      for (const f of run(inputs).fed) {
        for (const d of f.decisions) {
          if (d.type === 'started') {
            deadline = d.deadline;
            personalisedAt = -1;
          }
          if (d.type === 'personalise') {
            if (f.input.at >= deadline) return false;
            personalisedAt = f.input.at;
          }
          if (d.type === 'completed' && !(personalisedAt >= 0 && personalisedAt < deadline)) return false;
        }
      }
      return true;
    }),
  );
});

t.test('no half-enrolled card: an exchange under way is never cut off by time, the client or another card', async () => {
  fc.assert(
    fc.property(sequences, (inputs) =>
      run(inputs).fed.every((f) => {
        if (f.before.phase !== 'personalising' || f.after.phase !== 'idle') return true;
        // Only the exchange's own end, or the daemon stopping, ends an enrolment whose card's keys are moving.
        return f.input.type === 'exchangeEnded' || f.input.type === 'stop';
      }),
    ),
  );
});

t.test('only a card presented twice, removed in between, is personalised; and only the first one', async () => {
  fc.assert(
    fc.property(sequences, (inputs) => {
      let first: string | null = null;
      let removedSince = false;
      for (const f of runAsAgent(inputs)) {
        for (const d of f.decisions) {
          if (d.type === 'started') [first, removedSince] = [null, false];
          if (d.type === 'firstPresented' && f.input.type === 'placed') [first, removedSince] = [f.input.uid, false];
          if (d.type === 'personalise' && (d.uid !== first || !removedSince)) return false;
        }
        if (f.input.type === 'removed' && f.before.phase !== 'idle' && f.input.reader === f.before.reader) removedSince = true;
        if (f.input.type === 'placed' && f.before.phase === 'placeCardAgain' && f.input.reader === f.before.reader) removedSince = false;
      }
      return true;
    }),
  );
});

t.test('completion comes only from a successful exchange', async () => {
  fc.assert(
    fc.property(sequences, (inputs) =>
      run(inputs).fed.every(
        (f) =>
          !f.decisions.some((d) => d.type === 'completed') ||
          (f.input.type === 'exchangeEnded' && f.input.outcome === 'enrolled' && f.before.phase === 'personalising'),
      ),
    ),
  );
});

t.test('only placements on the enrolment’s reader are claimed from the hold rules', async () => {
  fc.assert(
    fc.property(sequences, (inputs) =>
      run(inputs).fed.every(
        (f) => !f.claimed || ((f.input.type === 'placed' || f.input.type === 'unreadable') && f.before.phase !== 'idle' && f.input.reader === f.before.reader),
      ),
    ),
  );
});

t.test('a deadline is always asked for while an enrolment waits on time', async () => {
  fc.assert(
    fc.property(sequences, (inputs) => {
      let state = NO_ENROLMENT;
      for (const i of inputs) {
        const r = step(state, i);
        const waits = r.state.phase !== 'idle' && !(r.state.phase === 'personalising' && r.state.expired);
        if (waits !== (r.nextDeadline !== null)) return false;
        state = r.state;
      }
      return true;
    }),
  );
});

t.test('the generated sequences reach every way an enrolment goes (so the properties above are not vacuous)', async (t) => {
  const seen = new Set(fc.sample(sequences, { numRuns: 500, seed: 21 }).flatMap((inputs) => types(runAsAgent(inputs))));
  for (const wanted of [
    'started',
    'refused',
    'firstPresented',
    'personalise',
    'presentAgain',
    'completed',
    'ended:exchangeFailed',
    'ended:notPlaced',
    'ended:notPlacedAgain',
    'ended:otherCard',
    'ended:cardRefused',
  ]) {
    t.ok(seen.has(wanted), wanted);
  }
});
