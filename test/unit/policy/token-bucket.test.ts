// The token bucket on values (policy/token-bucket.ts): refills at its rate, never above it, never
// backwards in time; spending may go into debt, which only time pays back.
import fc from 'fast-check';
import t from 'tap';
import { fullBucket, refill, spend, type Bucket } from '../../../policy/token-bucket.js';

const rate = fc.integer({ min: 1, max: 10_000 });
const time = fc.integer({ min: 0, max: 1e9 });

t.test('a full bucket holds one second of its rate', async (t) => {
  t.same(fullBucket(10, 123), { tokens: 10, at: 123 });
});

t.test('refill: the rate per second of elapsed time, capped at the rate', async (t) => {
  const empty: Bucket = { tokens: 0, at: 1000 };
  t.equal(refill(empty, 10, 1100).tokens, 1, '100 ms at 10/s is one token');
  t.equal(refill(empty, 10, 1500).tokens, 5);
  t.equal(refill(empty, 10, 2000).tokens, 10, 'a second refills it');
  t.equal(refill(empty, 10, 60_000).tokens, 10, 'a minute refills no more than a second');
  t.equal(refill(empty, 10, 1500).at, 1500, 'the bucket is then as of the new time');
  t.equal(refill({ tokens: -20, at: 0 }, 10, 1000).tokens, -10, 'a debt is paid back at the rate');
  t.equal(refill({ tokens: 4, at: 5000 }, 10, 4000).tokens, 4, 'a clock that went back adds nothing');
});

t.test('spend takes the cost now, below zero too, and keeps the time', async (t) => {
  t.same(spend({ tokens: 3, at: 7 }, 1), { tokens: 2, at: 7 });
  t.same(spend({ tokens: 1, at: 7 }, 5), { tokens: -4, at: 7 });
});

t.test('property: tokens never exceed the rate and never fall on refill', async () => {
  fc.assert(
    fc.property(rate, fc.double({ min: -1e6, max: 1e4, noNaN: true }), time, time, (perSecond, tokens, at, later) => {
      const before: Bucket = { tokens: Math.min(tokens, perSecond), at };
      const after = refill(before, perSecond, later);
      return after.tokens <= perSecond && after.tokens >= before.tokens && after.at === later;
    }),
  );
});

t.test('property: refilling in steps gives what one refill gives (no time is lost or counted twice)', async () => {
  fc.assert(
    fc.property(rate, fc.integer({ min: 0, max: 1e6 }), fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 20 }), (perSecond, debt, steps) => {
      const start: Bucket = { tokens: -debt, at: 0 };
      let stepped = start;
      let at = 0;
      for (const step of steps) stepped = refill(stepped, perSecond, (at += step));
      const once = refill(start, perSecond, at);
      return Math.abs(stepped.tokens - once.tokens) < 1e-6 * Math.max(1, debt);
    }),
  );
});

t.test('property: spending n tokens from a full bucket leaves rate - n, and n / rate seconds restore it', async () => {
  fc.assert(
    fc.property(rate, fc.integer({ min: 0, max: 1e6 }), time, (perSecond, n, at) => {
      const spent = spend(fullBucket(perSecond, at), n);
      if (spent.tokens !== perSecond - n) return false;
      const restored = refill(spent, perSecond, at + Math.ceil((n * 1000) / perSecond));
      return restored.tokens === perSecond;
    }),
  );
});
