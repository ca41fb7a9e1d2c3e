// The tap/hold state machine on a fake monotonic clock: tables for the rules, fast-check for invariants.
import fc from 'fast-check';
import t from 'tap';
import { IDLE, step, holdView, type CardInput, type HoldDecision, type HoldRules, type HoldState } from '../../../policy/master-card-hold.js';

const RULES: HoldRules = { holdMs: 120_000, dropoutGraceMs: 1500, progressEveryMs: 10_000 };
const R1 = 'reader-1';
const R2 = 'reader-2';

type Timed = HoldDecision & { at: number; /** the input that caused it, -1 for a deadline tick */ input: number };

type Reprove = Extract<HoldDecision, { type: 'reprove' }>;
/** How the card on the reader answers a re-proof: the real card proves it (true) unless a test says otherwise. */
type Prover = (asked: Reprove, at: number) => boolean | null;

/**
 * Feeds inputs in order the way the agent does: a tick at every deadline that falls before the next
 * input, and each `reprove` answered at once by `prover` (null: no answer). The re-proofs asked are
 * kept apart in `proofs`, so `decisions` reads as the hold's story.
 */
function run(
  inputs: CardInput[],
  rules = RULES,
  until?: number,
  prover: Prover = () => true,
): { decisions: Timed[]; state: HoldState; proofs: Array<Reprove & { at: number }> } {
  let state = IDLE;
  let deadline: number | null = null;
  const decisions: Timed[] = [];
  const proofs: Array<Reprove & { at: number }> = [];
  const feed = (input: CardInput, index: number): void => {
    const r = step(state, input, rules);
    state = r.state;
    deadline = r.nextDeadline;
    for (const d of r.decisions) {
      if (d.type !== 'reprove') {
        decisions.push({ ...d, at: input.at, input: index });
        continue;
      }
      proofs.push({ ...d, at: input.at });
      const ok = prover(d, input.at);
      if (ok !== null) feed({ type: 'proof', reader: d.reader, cardId: d.cardId, holdStartedAt: d.holdStartedAt, final: d.final, ok, at: input.at }, index);
    }
  };
  const ticksUntil = (at: number): void => {
    while (deadline !== null && deadline <= at) feed({ type: 'tick', at: deadline }, -1);
  };
  for (const [index, input] of inputs.entries()) {
    ticksUntil(input.at);
    feed(input, index);
  }
  if (until !== undefined) ticksUntil(until);
  return { decisions, state, proofs };
}

const types = (ds: HoldDecision[]): string[] => ds.map((d) => d.type);
const present = (at: number, cardId: string | null, reader = R1): CardInput => ({ type: 'present', reader, cardId, at });
const removed = (at: number, reader = R1): CardInput => ({ type: 'removed', reader, at });

t.test('a tap resets once and starts the hold; removal within the hold cancels it', async (t) => {
  const { decisions } = run([present(1000, 'A'), removed(5000)], RULES, 200_000);
  t.same(types(decisions), ['tap', 'holdStarted', 'holdCancelled']);
  t.match(decisions[2], { reason: 'removed', elapsedSeconds: 4, at: 6500 }, 'cancelled when the grace ran out, counting the time on the reader');
});

t.test('the exact 120 s boundary', async (t) => {
  const justBefore = run([present(0, 'A'), { type: 'tick', at: 119_999 }]);
  t.notOk(types(justBefore.decisions).includes('holdCompleted'), '1 ms short: not yet');
  t.same(holdView(justBefore.state, 119_999, RULES), { cardId: 'A', reader: R1, remainingSeconds: 1, cardOnReader: true });
  const at = run([present(0, 'A')], RULES, 120_000);
  t.same(types(at.decisions), ['tap', 'holdStarted', ...Array(11).fill('holdProgress'), 'holdCompleted']);
  t.same(
    at.decisions.filter((d) => d.type === 'holdProgress').map((d) => [d.at, (d as { remainingSeconds: number }).remainingSeconds]),
    Array.from({ length: 11 }, (_, i) => [(i + 1) * 10_000, 120 - (i + 1) * 10]),
    'progress every 10 s',
  );
  t.equal(at.decisions.at(-1)?.at, 120_000, 'completed at exactly 120 s');
  t.equal(holdView(at.state, 120_000, RULES), null);
});

t.test('flicker inside the grace goes on; outside it cancels', async (t) => {
  const inside = run([present(0, 'A'), removed(50_000), present(51_499, 'A')], RULES, 130_000);
  t.same(
    types(inside.decisions).filter((d) => d !== 'holdProgress'),
    ['tap', 'holdStarted', 'holdCompleted'],
    'one tap, completed',
  );
  t.equal(inside.decisions.at(-1)?.at, 120_000);

  const outside = run([present(0, 'A'), removed(50_000), present(51_500, 'A')], RULES, 60_000);
  t.same(
    types(outside.decisions).filter((d) => d !== 'holdProgress'),
    ['tap', 'holdStarted', 'holdCancelled', 'tap', 'holdStarted'],
  );
  t.match(
    outside.decisions.find((d) => d.type === 'holdCancelled'),
    { reason: 'removed', elapsedSeconds: 50 },
  );
});

t.test('off the reader when the time is up: completes on return within the grace, else cancels', async (t) => {
  const back = run([present(0, 'A'), removed(119_500), present(120_400, 'A')]);
  t.equal(back.decisions.at(-1)?.type, 'holdCompleted');
  t.equal(back.decisions.at(-1)?.at, 120_400);
  const gone = run([present(0, 'A'), removed(119_500)], RULES, 200_000);
  t.equal(gone.decisions.at(-1)?.type, 'holdCancelled');
});

t.test('another card on the reader cancels; cards on other readers are ignored', async (t) => {
  const swapped = run([present(0, 'A'), removed(30_000), present(30_500, null)], RULES, 200_000);
  t.match(swapped.decisions.at(-1), { type: 'holdCancelled', reason: 'otherCard' });
  t.equal(swapped.state.hold, null);

  const elsewhere = run([present(0, 'A'), present(20_000, null, R2), removed(25_000, R2)], RULES, 120_000);
  t.equal(elsewhere.decisions.at(-1)?.type, 'holdCompleted', 'a charging card on the other reader changes nothing');

  const twoMasters = run([present(0, 'A'), present(20_000, 'B', R2)], RULES, 140_000);
  t.same(
    types(twoMasters.decisions).filter((d) => d !== 'holdProgress'),
    ['tap', 'holdStarted', 'holdCancelled', 'tap', 'holdStarted', 'holdCompleted'],
  );
  t.match(
    twoMasters.decisions.find((d) => d.type === 'holdCancelled'),
    { cardId: 'A', reason: 'otherMasterCard' },
  );
  t.match(twoMasters.decisions.at(-1), { cardId: 'B', at: 140_000 });
});

t.test('after a restore the card must leave the reader before it counts again', async (t) => {
  const r = run(
    [present(0, 'A'), { type: 'tick', at: 300_000 }, removed(300_100), present(300_900, 'A'), removed(400_000), present(402_000, 'A')],
    RULES,
    410_000,
  );
  t.same(
    types(r.decisions).filter((d) => d !== 'holdProgress'),
    ['tap', 'holdStarted', 'holdCompleted', 'tap', 'holdStarted'],
  );
  t.equal(r.decisions.filter((d) => d.type === 'tap').at(-1)?.at, 402_000, 'a flicker after the restore is not a new tap');
});

t.test('a master card placed over another card on the same reader at the same instant: its hold runs', async (t) => {
  // Found by the property below (seed 593499554): a replay by timestamp mistook the earlier card for an interruption.
  const r = run([present(0, null, R2), present(0, 'A', R2)], RULES, 500_000);
  t.same(
    types(r.decisions).filter((d) => d !== 'holdProgress'),
    ['tap', 'holdStarted', 'holdCompleted'],
  );
  t.equal(r.decisions.at(-1)?.at, 120_000);
});

t.test('a non-master card alone does nothing at all', async (t) => {
  t.same(run([present(0, null), removed(1000), present(2000, null, R2)], RULES, 500_000).decisions, []);
});

// Random traces: two readers, master cards A and B, and another card (null).
const traceArb = fc
  .array(
    fc.record({
      gap: fc.integer({ min: 0, max: 40_000 }),
      kind: fc.constantFrom('present', 'removed'),
      reader: fc.constantFrom(R1, R2),
      card: fc.constantFrom<string | null>('A', 'B', null),
    }),
    { maxLength: 40 },
  )
  .map((steps) => {
    let at = 0;
    return steps.map((s): CardInput => {
      at += s.gap;
      return s.kind === 'present' ? present(at, s.card, s.reader) : removed(at, s.reader);
    });
  });

t.test('property: absolute time does not matter (a clock jump only shifts every timestamp)', async (t) => {
  fc.assert(
    fc.property(traceArb, fc.integer({ min: -1e12, max: 1e12 }), (inputs, offset) => {
      const base = run(inputs, RULES, (inputs.at(-1)?.at ?? 0) + 500_000).decisions.map(({ at, ...d }) => d);
      const shifted = inputs.map((i) => ({ ...i, at: i.at + offset }));
      const moved = run(shifted, RULES, (shifted.at(-1)?.at ?? offset) + 500_000).decisions.map(({ at, ...d }) => d);
      return JSON.stringify(base) === JSON.stringify(moved);
    }),
  );
  t.pass('decisions identical under any offset');
});

t.test('property: extra ticks at any time change nothing', async (t) => {
  fc.assert(
    fc.property(traceArb, fc.array(fc.integer({ min: 0, max: 1_000_000 }), { maxLength: 30 }), (inputs, tickTimes) => {
      const end = (inputs.at(-1)?.at ?? 0) + 500_000;
      const plain = run(inputs, RULES, end).decisions.map(({ input, ...d }) => d);
      const ticks: CardInput[] = tickTimes.map((at) => ({ type: 'tick', at }));
      const merged = [...inputs, ...ticks].sort((a, b) => a.at - b.at || (a.type === 'tick' ? -1 : 1));
      const withTicks = run(merged, RULES, end).decisions.map(({ input, ...d }) => d);
      return JSON.stringify(plain) === JSON.stringify(withTicks);
    }),
  );
  t.pass('ticks only reveal deadlines');
});

t.test('property: a restore needs the same card held for holdMs with no gap of a grace or more; taps only for master placements', async (t) => {
  fc.assert(
    fc.property(traceArb, (inputs) => {
      const { decisions } = run(inputs, RULES, (inputs.at(-1)?.at ?? 0) + 500_000);
      for (const [i, d] of decisions.entries()) {
        if (d.type === 'tap' && decisions[i + 1]?.type !== 'holdStarted') return false;
        if (d.type !== 'holdCompleted') continue;
        const start = decisions
          .slice(0, i)
          .reverse()
          .find((x) => x.type === 'holdStarted');
        if (!start || start.cardId !== d.cardId || start.reader !== d.reader || d.at - start.at < RULES.holdMs) return false;
        // Replay the trace on that reader from the placement that started the hold to the completion
        // (by position: inputs before it may share its timestamp): no gap of a grace or more, no other card.
        let offSince: number | null = null;
        for (const [index, input] of inputs.entries()) {
          if (input.type === 'tick' || index <= start.input || input.at > d.at || input.reader !== d.reader) continue;
          if (input.type === 'removed') offSince ??= input.at;
          else {
            if (input.cardId !== d.cardId) return false;
            if (offSince !== null && input.at - offSince >= RULES.dropoutGraceMs) return false;
            offSince = null;
          }
        }
        if (offSince !== null) return false;
      }
      const masterPlacements = inputs.filter((i) => i.type === 'present' && i.cardId !== null).length;
      return decisions.filter((d) => d.type === 'tap').length <= masterPlacements && decisions.every((d) => d.cardId !== null);
    }),
    { numRuns: 500 },
  );
  t.pass('held long enough, uninterrupted, by the same card');
});

t.test('mayHold false (a UID-only card under tapOnly): its tap counts, its hold never starts nor completes', async (t) => {
  const tapOnly = (at: number, cardId: string, reader = R1): CardInput => ({ type: 'present', reader, cardId, mayHold: false, at });
  const rows: Array<{ name: string; inputs: CardInput[]; until: number; want: string[] }> = [
    { name: 'left on the reader far past holdMs', inputs: [tapOnly(0, 'U')], until: 1_000_000, want: ['tap'] },
    { name: 'flicker within the grace: still one placement', inputs: [tapOnly(0, 'U'), removed(5000), tapOnly(5500, 'U')], until: 500_000, want: ['tap'] },
    {
      name: 'taken off past the grace and placed again: a second tap',
      inputs: [tapOnly(0, 'U'), removed(5000), tapOnly(7000, 'U')],
      until: 500_000,
      want: ['tap', 'tap'],
    },
    { name: 'a duplicate report changes nothing', inputs: [tapOnly(0, 'U'), tapOnly(10, 'U')], until: 500_000, want: ['tap'] },
    {
      name: 'placed while a full card holds on another reader: that hold is cancelled, none started',
      inputs: [present(0, 'A', R2), tapOnly(1000, 'U')],
      until: 500_000,
      want: ['tap', 'holdStarted', 'holdCancelled', 'tap'],
    },
    {
      name: 'a full card on another reader afterwards holds as usual',
      inputs: [tapOnly(0, 'U'), present(1000, 'A', R2)],
      until: 121_000,
      want: ['tap', 'tap', 'holdStarted', ...Array(11).fill('holdProgress'), 'holdCompleted'],
    },
    {
      name: 'replaced on the same reader by a full card: that card holds',
      inputs: [tapOnly(0, 'U'), removed(1000), present(1200, 'A')],
      until: 121_200,
      want: ['tap', 'tap', 'holdStarted', ...Array(11).fill('holdProgress'), 'holdCompleted'],
    },
  ];
  for (const row of rows) {
    const { decisions, state } = run(row.inputs, RULES, row.until);
    t.same(types(decisions), row.want, row.name);
    t.equal(holdView(state, row.until, RULES)?.cardId === 'U', false, `${row.name}: status never shows a hold for it`);
  }
  // mayHold true is the same as absent.
  const explicit = run([{ type: 'present', reader: R1, cardId: 'A', mayHold: true, at: 0 }], RULES, 120_000);
  t.same(types(explicit.decisions), types(run([present(0, 'A')], RULES, 120_000).decisions));
});

t.test('the hold re-proves the card at every progress step and right before the restore', async (t) => {
  const real = run([present(0, 'A')], RULES, 120_000);
  t.same(
    real.proofs.map((p) => [p.at, p.final]),
    [...Array.from({ length: 11 }, (_, i) => [(i + 1) * 10_000, false]), [120_000, true]],
    'one re-proof per progress step, and a final one at 120 s',
  );
  t.equal(real.decisions.at(-1)?.type, 'holdCompleted');

  // A relay for the placement, then an emulator: the first re-proof after the swap fails.
  const swappedAt = 35_000;
  const emulator = run([present(0, 'A')], RULES, 500_000, (_, at) => at < swappedAt);
  t.same(
    types(emulator.decisions).filter((d) => d !== 'holdProgress'),
    ['tap', 'holdStarted', 'holdCancelled'],
  );
  t.match(emulator.decisions.at(-1), { reason: 'proofFailed', elapsedSeconds: 40, at: 40_000 });
  t.equal(holdView(emulator.state, 500_000, RULES), null, 'no hold shown');

  // Only the last proof fails: no restore.
  const last = run([present(0, 'A')], RULES, 500_000, (p) => !p.final);
  t.notOk(types(last.decisions).includes('holdCompleted'));
  t.match(last.decisions.at(-1), { type: 'holdCancelled', reason: 'proofFailed' });

  // The restore waits for the last proof's answer, however late; nothing else completes it.
  const waiting = run([present(0, 'A'), { type: 'tick', at: 400_000 }], RULES, 500_000, (p) => (p.final ? null : true));
  t.notOk(types(waiting.decisions).includes('holdCompleted'), 'no answer: no restore');
  t.equal(step(waiting.state, { type: 'tick', at: 600_000 }, RULES).nextDeadline, null, 'no timer while waiting');
  const answered = step(waiting.state, { type: 'proof', reader: R1, cardId: 'A', holdStartedAt: 0, final: true, ok: true, at: 600_000 }, RULES);
  t.same(types(answered.decisions), ['holdCompleted']);

  // After a failed proof, the card must leave before it counts again; then a new placement holds anew.
  const again = run([present(0, 'A'), present(50_000, 'A'), removed(60_000), present(70_000, 'A')], RULES, 70_000, (_, at) => at < 15_000 || at >= 70_000);
  t.same(
    types(again.decisions).filter((d) => d !== 'holdProgress'),
    ['tap', 'holdStarted', 'holdCancelled', 'tap', 'holdStarted'],
  );
});

t.test('a proof answer for another hold, card or reader changes nothing', async (t) => {
  const { state } = run([present(0, 'A')], RULES, 119_000);
  for (const stale of [
    { reader: R1, cardId: 'A', holdStartedAt: -5 },
    { reader: R1, cardId: 'B', holdStartedAt: 0 },
    { reader: R2, cardId: 'A', holdStartedAt: 0 },
  ]) {
    const r = step(state, { type: 'proof', ...stale, final: true, ok: false, at: 119_500 }, RULES);
    t.same(r.decisions, [], JSON.stringify(stale));
    t.same(r.state, state);
  }
});

t.test('off the reader while the last proof runs: asked again when the card is back within the grace', async (t) => {
  let asked = 0;
  const r = run([present(0, 'A'), removed(120_100), present(120_600, 'A')], RULES, 200_000, (p) => (p.final && asked++ === 0 ? null : true));
  t.equal(r.proofs.filter((p) => p.final).length, 2, 'the final proof asked twice');
  t.match(r.decisions.at(-1), { type: 'holdCompleted', at: 120_600 });
});

t.test('property: no restore unless the final re-proof of that hold succeeded; a failed proof never restores', async (t) => {
  fc.assert(
    fc.property(traceArb, fc.array(fc.boolean(), { minLength: 1, maxLength: 64 }), (inputs, answers) => {
      let n = 0;
      const finals: Array<{ reader: string; cardId: string; ok: boolean }> = [];
      const { decisions } = run(inputs, RULES, (inputs.at(-1)?.at ?? 0) + 500_000, (p) => {
        const ok = answers[n++ % answers.length] ?? true;
        if (p.final) finals.push({ reader: p.reader, cardId: p.cardId, ok });
        return ok;
      });
      const completed = decisions.filter((d) => d.type === 'holdCompleted');
      // Each restore is matched by a successful final proof of its own card and reader.
      return (
        completed.every(
          (c) =>
            finals.filter((f) => f.ok && f.cardId === c.cardId && f.reader === c.reader).length >=
            completed.filter((x) => x.cardId === c.cardId && x.reader === c.reader).length,
        ) && (answers.every((a) => !a) ? completed.length === 0 : true)
      );
    }),
    { numRuns: 300 },
  );
  t.pass('every restore follows a successful final proof');
});
