import fc from 'fast-check';
import t from 'tap';
import { crossedCeiling, roleWideWait, type CeilingRules } from '../../../policy/throttle.js';
import {
  countedAs,
  failuresOf,
  isTrusted,
  MAX_SOURCES,
  OTHER_SOURCE,
  peerFailures,
  peerOf,
  sourceOf,
  TRUSTED_SOURCE,
  untrustedFailures,
  withFailure,
  withoutSource,
} from '../../../policy/sources.js';

const RULES: CeilingRules = { freeFailures: 5, baseDelayMs: 1000, maxDelayMs: 60_000, roleCeiling: 20 };
const source = fc.integer({ min: 0, max: 100 }).map((uid) => sourceOf(uid));

t.test('a source is the peer uid; only root is trusted; a front end names clients within its share', async (t) => {
  t.equal(sourceOf(0), TRUSTED_SOURCE);
  t.ok(isTrusted(sourceOf(0)));
  t.notOk(isTrusted(sourceOf(33)));
  t.notOk(isTrusted(sourceOf(0, '192.0.2.7')), 'a client named by a front end run as root is not root itself');
  t.equal(sourceOf(null), OTHER_SOURCE);
});

t.test('properties: counts are bounded, per source, and clearing one source leaves the others', async () => {
  fc.assert(
    fc.property(fc.array(source, { maxLength: 300 }), source, (failures, cleared) => {
      let counts: Record<string, number> = {};
      for (const s of failures) counts = withFailure(counts, s);
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      if (total !== failures.length) return false;
      if (Object.keys(counts).length > MAX_SOURCES) return false;
      const after = withoutSource(counts, cleared);
      for (const s of failures) if (countedAs(counts, s) !== countedAs(counts, cleared) && failuresOf(after, s) !== failuresOf(counts, s)) return false;
      return failuresOf(after, cleared) === 0;
    }),
  );
});

t.test('properties: the role-wide wait never slows root or a grace window, and never anyone below the ceiling', async () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 200 }),
      fc.option(fc.integer({ min: 0, max: 100_000 })),
      fc.integer({ min: 0, max: 100_000 }),
      (untrusted, last, later) => {
        // Monotonic time: now is never before the last failure.
        const now = (last ?? 0) + later;
        const state = { untrustedFailures: untrusted, lastUntrustedFailureAt: last, graceUntil: null };
        if (roleWideWait(state, true, now, RULES) !== 0) return false;
        if (roleWideWait({ ...state, graceUntil: now + 1 }, false, now, RULES) !== 0) return false;
        if (untrusted < RULES.roleCeiling && roleWideWait(state, false, now, RULES) !== 0) return false;
        return roleWideWait(state, false, now, RULES) <= RULES.maxDelayMs;
      },
    ),
  );
});

t.test('past the ceiling an untrusted attempt right after a failure waits; the ceiling is crossed once', async (t) => {
  const state = { untrustedFailures: 20, lastUntrustedFailureAt: 1000, graceUntil: null };
  t.equal(roleWideWait(state, false, 1000, RULES), 1000);
  t.equal(roleWideWait(state, false, 2000, RULES), 0);
  t.ok(crossedCeiling(19, 20, RULES));
  t.notOk(crossedCeiling(20, 21, RULES));
  t.equal(untrustedFailures({ [TRUSTED_SOURCE]: 7, 'uid:33': 2, other: 1 }), 3, "root's own failures are not a stranger's");
});

t.test("a front end's clients count within its share", async (t) => {
  const counts = { 'uid:33/192.0.2.1': 3, 'uid:33/192.0.2.2': 4, 'uid:33': 1, 'uid:34': 9 };
  t.equal(peerOf('uid:33/192.0.2.1'), 'uid:33');
  t.equal(peerOf('uid:33'), 'uid:33');
  t.equal(peerFailures(counts, 'uid:33'), 8, 'all of uid 33 and its clients');
  t.equal(failuresOf(counts, 'uid:33/192.0.2.1'), 3, 'the client on its own');
});
