import fc from 'fast-check';
import t from 'tap';
import {
  admitFollower,
  connectionToEvict,
  costDecision,
  countByUid,
  followerSlots,
  readsTooSlowly,
  refund,
  SOCKET_LIMITS,
  startDecision,
  type ConnectionSnapshot,
  type CostSnapshot,
  type FollowerSnapshot,
  type SocketLimits,
  type StartSnapshot,
} from '../../../policy/socket-admission.js';
import { fullBucket, refill, spend } from '../../../policy/token-bucket.js';

const uidArb = fc.integer({ min: -1, max: 4 });

/** Connections with distinct use order (their index), as the server numbers them. */
const connectionsArb = fc.array(fc.record({ uid: uidArb, running: fc.constantFrom(0, 0, 1, 3), following: fc.boolean() }), { maxLength: 40 }).chain((list) =>
  fc
    .shuffledSubarray(
      list.map((_, i) => i),
      { minLength: list.length, maxLength: list.length },
    )
    .map((order) => list.map((c, i) => ({ ...c, lastUsed: order[i] as number }) satisfies ConnectionSnapshot)),
);

const busy = (c: ConnectionSnapshot): boolean => !c.following && c.running > 0;
const rank = (c: ConnectionSnapshot): number => (c.following ? 1 : 0);

t.test('eviction: never a busy connection; null only when every one is busy', async () => {
  fc.assert(
    fc.property(connectionsArb, (connections) => {
      const victim = connectionToEvict(connections);
      if (victim === null) return connections.every(busy);
      return !busy(victim) && connections.includes(victim);
    }),
  );
});

t.test('eviction: an idle connection before any follower', async () => {
  fc.assert(
    fc.property(connectionsArb, (connections) => {
      const victim = connectionToEvict(connections);
      const idle = connections.some((c) => !c.following && c.running === 0);
      return !idle || (victim !== null && !victim.following);
    }),
  );
});

t.test('eviction: never from a uid holding no more than another candidate uid; the least recently used of its uid', async () => {
  fc.assert(
    fc.property(connectionsArb, (connections) => {
      const victim = connectionToEvict(connections);
      if (victim === null) return true;
      const perUid = countByUid(connections);
      const mine = perUid.get(victim.uid) ?? 0;
      const peers = connections.filter((c) => !busy(c) && rank(c) === rank(victim));
      const fairest = peers.every((c) => (perUid.get(c.uid) ?? 0) <= mine);
      const oldest = peers.filter((c) => (perUid.get(c.uid) ?? 0) === mine).every((c) => c.lastUsed >= victim.lastUsed);
      return fairest && oldest;
    }),
  );
});

t.test('eviction: an example', async (t) => {
  const conns = [
    { uid: 0, running: 0, following: false, lastUsed: 1 }, // root, idle, oldest
    { uid: 1000, running: 0, following: false, lastUsed: 5 },
    { uid: 1000, running: 0, following: false, lastUsed: 3 },
    { uid: 1000, running: 2, following: false, lastUsed: 2 },
  ];
  t.equal(connectionToEvict(conns), conns[2], "the flooding uid's least recently used idle connection, not root's older one");
  t.equal(connectionToEvict([conns[3]!, { uid: 0, running: 0, following: true, lastUsed: 9 }])?.lastUsed, 9, 'a follower when the rest are busy');
  t.equal(connectionToEvict([conns[3]!]), null, 'none when all are busy');
});

/** A run of follow requests from the given uids against `slots`; each admitted follower is newer than the last. */
function followRun(slots: number, uids: number[]): Array<{ before: FollowerSnapshot[]; uid: number; admit: boolean; evict: FollowerSnapshot | null }> {
  let followers: FollowerSnapshot[] = [];
  const steps = [];
  for (const [i, uid] of uids.entries()) {
    const decision = admitFollower(followers, uid, slots);
    const evict = decision.admit ? decision.evict : null;
    steps.push({ before: followers, uid, admit: decision.admit, evict });
    if (decision.admit) followers = [...followers.filter((f) => f !== evict), { uid, lastUsed: i }];
  }
  return steps;
}

const followArb = fc.tuple(fc.integer({ min: 1, max: 8 }), fc.array(uidArb, { maxLength: 80 }));

t.test('followers: never more than the slots', async () => {
  fc.assert(
    fc.property(followArb, ([slots, uids]) =>
      followRun(slots, uids).every((s) => s.before.length <= slots && (!s.admit || s.evict !== null || s.before.length < slots)),
    ),
  );
});

t.test('followers: a newcomer is refused only while no uid holds two more than its own', async () => {
  fc.assert(
    fc.property(followArb, ([slots, uids]) =>
      followRun(slots, uids)
        .filter((s) => !s.admit)
        .every((s) => {
          const perUid = countByUid(s.before);
          const mine = perUid.get(s.uid) ?? 0;
          return [...perUid.values()].every((n) => n <= mine + 1);
        }),
    ),
  );
});

t.test("followers: room is made from the uid holding the most, its oldest, and only when it holds two more than the newcomer's", async () => {
  fc.assert(
    fc.property(followArb, ([slots, uids]) =>
      followRun(slots, uids)
        .filter((s) => s.evict !== null)
        .every((s) => {
          const perUid = countByUid(s.before);
          const evicted = s.evict as FollowerSnapshot;
          const top = Math.max(...perUid.values());
          const theirs = perUid.get(evicted.uid) ?? 0;
          const oldestOfTop = s.before.filter((f) => perUid.get(f.uid) === top).every((f) => f.lastUsed >= evicted.lastUsed);
          return theirs === top && theirs >= (perUid.get(s.uid) ?? 0) + 2 && oldestOfTop;
        }),
    ),
  );
});

t.test('followers: one uid holding every slot cannot keep another out', async (t) => {
  const slots = 4;
  const run = followRun(slots, [0, 0, 0, 0, 1000, 1000, 1000]);
  t.same(
    run.map((s) => (s.admit ? (s.evict ? 'replace' : 'admit') : 'refuse')),
    ['admit', 'admit', 'admit', 'admit', 'replace', 'replace', 'refuse'],
    'two each, then the newcomer already holds its share',
  );
  t.equal(followerSlots(256), SOCKET_LIMITS.followers);
  t.equal(followerSlots(10), 5, 'at most half the connections');
  t.equal(followerSlots(1), 1, 'at least one');
});

const limits: SocketLimits = {
  ...SOCKET_LIMITS,
  perConnection: 4,
  running: 6,
  unreadTotalBytes: 1000,
  unreadPerConnectionBytes: 500,
  unreadPerUidBytes: 2000,
  reservedCeiling: 100,
};

const snapshotArb: fc.Arbitrary<StartSnapshot> = fc.record({
  inFlight: fc.integer({ min: 0, max: 6 }),
  running: fc.integer({ min: 0, max: 6 }),
  unread: fc.constantFrom(0, 0, 1, 400, 999),
  lastInvalid: fc.boolean(),
  lastCostly: fc.boolean(),
  invalidBudget: fc.constantFrom(-10, 0, 0.5, 1, 5000),
  costBudget: fc.constantFrom(-10, 0, 0.5, 1, 5000),
  runningTotal: fc.integer({ min: 0, max: 10 }),
  unreadTotal: fc.constantFrom(0, 999, 1000, 5000),
  uidUnread: fc.constantFrom(0, 0, 999, 2000, 5000),
});

t.test('start: the per-connection and daemon-wide caps hold, except for a connection with nothing running or unread', async () => {
  fc.assert(
    fc.property(snapshotArb, (s) => {
      if (startDecision(s, limits) !== 'start') return true;
      const first = s.running === 0 && s.unread === 0;
      return (
        s.inFlight < limits.perConnection &&
        s.uidUnread < limits.unreadPerUidBytes &&
        (first || s.runningTotal < limits.running) &&
        (first || s.unread === 0 || s.unreadTotal < limits.unreadTotalBytes)
      );
    }),
  );
});

t.test("start: a connection's first request is never queued behind others' work, only behind its own uid's unread answers", async () => {
  fc.assert(
    fc.property(snapshotArb, (s) => {
      const first = { ...s, running: 0, unread: 0, inFlight: 0, lastInvalid: false, lastCostly: false };
      return (startDecision(first, limits) === 'start') === s.uidUnread < limits.unreadPerUidBytes;
    }),
  );
});

t.test('start: a connection waits for a budget only when its last frame drew on it and it is short', async () => {
  fc.assert(
    fc.property(snapshotArb, (s) => {
      const short = (s.lastInvalid && s.invalidBudget < 1) || (s.lastCostly && s.costBudget < 1);
      const decision = startDecision(s, limits);
      if (s.inFlight >= limits.perConnection) return decision === 'hold';
      return (decision === 'budget') === short;
    }),
  );
});

t.test('start: the daemon-wide totals are not read for a first request', async (t) => {
  const snapshot: StartSnapshot = {
    inFlight: 0,
    running: 0,
    unread: 0,
    lastInvalid: false,
    lastCostly: false,
    invalidBudget: 0,
    costBudget: 0,
    uidUnread: 0,
    runningTotal: 99,
    get unreadTotal(): number {
      throw new Error('read');
    },
  };
  t.equal(startDecision(snapshot), 'start');
});

t.test('budgets: with every spender gated on the rule, an invalid-frame budget never goes negative', async () => {
  const perSecond = 50;
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 100 }), { maxLength: 300 }), (gaps) => {
      let now = 0;
      let bucket = fullBucket(perSecond, now);
      for (const gap of gaps) {
        now += gap;
        bucket = refill(bucket, perSecond, now);
        const s: StartSnapshot = {
          inFlight: 0,
          running: 0,
          unread: 0,
          lastInvalid: true,
          lastCostly: false,
          invalidBudget: bucket.tokens,
          costBudget: 0,
          uidUnread: 0,
          runningTotal: 0,
          unreadTotal: 0,
        };
        if (startDecision(s, limits) === 'start') bucket = spend(bucket, 1);
        if (bucket.tokens < 0) return false;
      }
      return true;
    }),
  );
});

t.test('budgets: refilled by time up to the capacity; a debt is waited out', async () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 100_000 }), (perSecond, times, wait) => {
      const capacity = perSecond * times;
      const later = refill(spend(fullBucket(capacity, 0), capacity), perSecond, wait, capacity);
      return later.tokens <= capacity && later.tokens >= Math.min(capacity, (wait * perSecond) / 1000) - 1e-6;
    }),
  );
});

t.test('budgets: refilled by time up to the rate; a debt is waited out', async () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 0, max: 50_000 }), fc.integer({ min: 0, max: 5000 }), (perSecond, debt, wait) => {
      const spent = spend(fullBucket(perSecond, 0), perSecond + debt);
      const later = refill(spent, perSecond, wait);
      const due = ((debt + 1) * 1000) / perSecond;
      const clean = { units: 1, uidUnread: 0, uidReserved: 0, reservedTotal: 0 };
      const refusedWhileInDebt = (costDecision({ ...clean, uidBudget: spent.tokens }) !== 'admit') === debt > 0;
      return (
        later.tokens <= perSecond &&
        later.tokens >= spent.tokens &&
        refusedWhileInDebt &&
        refill(spent, perSecond, due).tokens >= 1 - 1e-9 &&
        refill(later, perSecond, wait + 1).tokens >= later.tokens
      );
    }),
  );
});

t.test('unread answers: a client is disconnected only beyond its cap', async (t) => {
  t.notOk(readsTooSlowly(limits.unreadPerConnectionBytes, limits));
  t.ok(readsTooSlowly(limits.unreadPerConnectionBytes + 1, limits));
  t.notOk(readsTooSlowly(0));
});

const costArb: fc.Arbitrary<CostSnapshot> = fc.record({
  units: fc.integer({ min: 1, max: 200 }),
  uidBudget: fc.constantFrom(-50, -0.5, 0, 0.5, 1, 5000),
  uidUnread: fc.constantFrom(0, 1999, 2000, 9000),
  uidReserved: fc.constantFrom(0, 0, 1, 100),
  reservedTotal: fc.integer({ min: 0, max: 10_000 }),
});

t.test('cost: refused only for what its own uid holds, or beyond the ceiling while its uid already has one in flight', async () => {
  fc.assert(
    fc.property(costArb, (s) => {
      const own = s.uidBudget < 0 || s.uidUnread >= limits.unreadPerUidBytes;
      const ceiling = s.uidReserved > 0 && s.reservedTotal + s.units > limits.reservedCeiling;
      return (costDecision(s, limits) === 'admit') === (!own && !ceiling);
    }),
  );
});

t.test("cost: another uid's flood never refuses a uid that owes nothing and has nothing in flight", async () => {
  fc.assert(
    fc.property(costArb, fc.integer({ min: 0, max: 1e9 }), (s, othersReserved) => {
      const clean = { ...s, uidBudget: Math.max(0, s.uidBudget), uidUnread: 0, uidReserved: 0, reservedTotal: othersReserved };
      return costDecision(clean, limits) === 'admit';
    }),
  );
});

t.test("cost: a burst from one uid, every request gated and reserved at admission, reserves at most its budget's capacity plus one request", async () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 20_000 }), fc.array(fc.integer({ min: 1, max: 10_000 }), { maxLength: 300 }), (capacity, burst) => {
      let bucket = fullBucket(capacity, 0);
      let reserved = 0;
      for (const units of burst) {
        const decision = costDecision(
          { units, uidBudget: bucket.tokens, uidUnread: 0, uidReserved: reserved, reservedTotal: reserved },
          { ...limits, reservedCeiling: Infinity },
        );
        if (decision !== 'admit') continue;
        bucket = spend(bucket, units);
        reserved += units;
      }
      return reserved <= capacity + Math.max(0, ...burst);
    }),
  );
});

t.test('cost: what is kept is what was answered; what is given back never exceeds what was reserved', async () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: -5, max: 20_000 }), (reserved, answered) => {
      const back = refund(reserved, answered);
      return back <= reserved && reserved - back === Math.max(0, answered);
    }),
  );
});
