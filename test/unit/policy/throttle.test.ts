import t from 'tap';
import { admitAttempt, delayAfter, laneFor, type ThrottleRules } from '../../../policy/throttle.js';

const rules: ThrottleRules = { freeFailures: 5, baseDelayMs: 1000, maxDelayMs: 15 * 60 * 1000 };

t.test('delay: none for the first four failures, 1 s after the 5th, doubling, capped at 15 min', async (t) => {
  const table: Array<[number, number]> = [
    [0, 0],
    [1, 0],
    [4, 0],
    [5, 1000],
    [6, 2000],
    [7, 4000],
    [10, 32_000],
    [14, 512_000],
    [15, 900_000],
    [40, 900_000],
    [10_000, 900_000],
  ];
  for (const [failures, ms] of table) t.equal(delayAfter(failures, rules), ms, `${failures} failures → ${ms} ms`);
});

t.test('admission', async (t) => {
  type Row = { failures: number; last: number | null; inFlight: number; now: number; admit: true | 'wait' | 'busy'; wait?: number };
  const table: Row[] = [
    { failures: 0, last: null, inFlight: 0, now: 0, admit: true },
    { failures: 4, last: 100, inFlight: 0, now: 100, admit: true },
    // The 5th failure starts the waits.
    { failures: 5, last: 100, inFlight: 0, now: 100, admit: 'wait', wait: 1000 },
    { failures: 5, last: 100, inFlight: 0, now: 1099, admit: 'wait', wait: 1 },
    { failures: 5, last: 100, inFlight: 0, now: 1100, admit: true },
    { failures: 6, last: 0, inFlight: 0, now: 1500, admit: 'wait', wait: 500 },
    { failures: 20, last: 0, inFlight: 0, now: 899_999, admit: 'wait', wait: 1 },
    { failures: 20, last: 0, inFlight: 0, now: 900_000, admit: true },
    // Guesses in flight count against the free allowance: the excess waits for their outcome.
    { failures: 3, last: 0, inFlight: 1, now: 0, admit: true },
    { failures: 3, last: 0, inFlight: 2, now: 0, admit: 'busy' },
    { failures: 0, last: null, inFlight: 5, now: 0, admit: 'busy' },
    // Past the delay, one attempt at a time; inside it, refused whatever is in flight.
    { failures: 5, last: 0, inFlight: 1, now: 10_000, admit: 'busy' },
    { failures: 5, last: 0, inFlight: 1, now: 10, admit: 'wait', wait: 990 },
  ];
  for (const row of table) {
    const a = admitAttempt({ failures: row.failures, lastFailureAt: row.last, inFlight: row.inFlight }, row.now, rules);
    t.equal(a.admit ? true : a.reason, row.admit, JSON.stringify(row));
    if (!a.admit && a.reason === 'wait') {
      t.ok(a.waitMs > 0, 'a refusal always names a positive wait');
      if (row.wait !== undefined) t.equal(a.waitMs, row.wait);
    }
  }
});

t.test('hash lane: routine only for a key whose last attempt succeeded and with nothing in flight', async (t) => {
  t.equal(laneFor({ failures: 0, inFlight: 0 }), 'routine');
  t.equal(laneFor({ failures: 1, inFlight: 0 }), 'suspect', 'after a failure');
  t.equal(laneFor({ failures: 0, inFlight: 1 }), 'suspect', 'in a burst');
  t.equal(laneFor({ failures: 7, inFlight: 3 }), 'suspect');
});
