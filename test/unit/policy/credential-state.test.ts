// Transitions of the credential part of the state (policy/credential-state.ts): a new password
// leaves the defaults, keeps the last HISTORY_DEPTH hashes and clears the failures; a reset to
// defaults touches only the roles named; neither changes the state it was given.
import fc from 'fast-check';
import t from 'tap';
import { withDefaultPasswords, withNewPassword } from '../../../policy/credential-state.js';
import { HISTORY_DEPTH } from '../../../policy/password.js';
import { ROLES, type Role } from '../../../policy/roles.js';
import type { State } from '../../../agent/store/state.js';

const NOW = '2026-12-04T12:00:00.000Z';
const h = (name: string): string => `$argon2id$v=19$m=8192,t=1,p=1$${name}`;

function state(): State {
  const role = (name: Role) => ({
    hash: h(`${name}-now`),
    defaultHash: h(`${name}-default`),
    isDefault: false,
    mustChange: false,
    history: [h(`${name}-now`), h(`${name}-old1`)],
    failures: 7,
    failuresBySource: { 'uid:0': 3, 'uid:65534': 4 },
    changedAt: '2026-01-01T00:00:00.000Z',
  });
  return {
    format: 1,
    provisionedAt: '2026-01-01T00:00:00.000Z',
    deviceSecret: 'ab'.repeat(32),
    pendingEnrolment: null,
    roles: { manufacturer: role('manufacturer'), installer: role('installer'), operator: role('operator'), user: role('user') },
    policy: { enforceStrong: true, enforcePasswordChange: false },
    puk: null,
    https: { enabled: false },
    masterCards: [],
    manufacturerDefaults: null,
    syncRevision: null,
    syncReceived: null,
    fallback: null,
    syncPeerSealingKey: null,
    syncSealingKeyPair: null,
    pendingRestore: null,
  };
}

t.test('a new password: current, not default, first in the history, failures cleared', async (t) => {
  const before = state();
  const after = withNewPassword(before, 'operator', h('new'), true, NOW);
  t.same(after.roles.operator, {
    hash: h('new'),
    defaultHash: h('operator-default'),
    isDefault: false,
    mustChange: true,
    history: [h('new'), h('operator-now'), h('operator-old1')],
    failures: 0,
    failuresBySource: {},
    changedAt: NOW,
  });
  t.same(after.roles.installer, before.roles.installer, 'other roles untouched');
  t.same(before, state(), 'the given state is not changed');
});

t.test('the history keeps the newest HISTORY_DEPTH hashes', async (t) => {
  let s = state();
  for (let i = 0; i < HISTORY_DEPTH + 3; i++) s = withNewPassword(s, 'user', h(`p${i}`), false, NOW);
  t.equal(s.roles.user.history.length, HISTORY_DEPTH);
  t.same(
    s.roles.user.history,
    Array.from({ length: HISTORY_DEPTH }, (_, i) => h(`p${HISTORY_DEPTH + 2 - i}`)),
  );
});

t.test('back to defaults: the named roles only, must change, failures cleared, history kept', async (t) => {
  const before = state();
  const after = withDefaultPasswords(before, ['installer', 'user'], NOW);
  for (const role of ['installer', 'user'] as const) {
    t.same(
      after.roles[role],
      { ...before.roles[role], hash: h(`${role}-default`), isDefault: true, mustChange: true, failures: 0, failuresBySource: {}, changedAt: NOW },
      role,
    );
  }
  t.same(after.roles.manufacturer, before.roles.manufacturer);
  t.same(after.roles.operator, before.roles.operator);
  t.same(before, state(), 'the given state is not changed');
});

const role = fc.constantFrom(...ROLES);

t.test('property: any sequence of changes and resets keeps every role consistent', async () => {
  const step = fc.oneof(
    fc.record({ kind: fc.constant('new' as const), role, n: fc.nat(), mustChange: fc.boolean() }),
    fc.record({ kind: fc.constant('reset' as const), roles: fc.subarray([...ROLES]) }),
  );
  fc.assert(
    fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
      let s = state();
      for (const st of steps) s = st.kind === 'new' ? withNewPassword(s, st.role, h(`n${st.n}`), st.mustChange, NOW) : withDefaultPasswords(s, st.roles, NOW);
      return ROLES.every((r) => {
        const rec = s.roles[r];
        return (
          rec.history.length <= HISTORY_DEPTH &&
          rec.defaultHash === h(`${r}-default`) &&
          // A default is always to be changed; a current password other than the default is in the history.
          (!rec.isDefault || (rec.hash === rec.defaultHash && rec.mustChange)) &&
          (rec.isDefault || rec.history[0] === rec.hash)
        );
      });
    }),
  );
});
