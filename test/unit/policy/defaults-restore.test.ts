// The settings part of a manufacturer-defaults restore (policy/defaults-restore.ts): the saved
// settings come back as saved (a blocked PUK stays blocked), what lives outside the state is left
// pending, and credentials and everything else in the state are untouched.
import t from 'tap';
import { withRestoredSettings } from '../../../policy/defaults-restore.js';
import type { SettingsSnapshot, State } from '../../../agent/store/state.js';

const h = (name: string): string => `$argon2id$v=19$m=8192,t=1,p=1$${name}`;
const role = {
  hash: h('now'),
  defaultHash: h('default'),
  isDefault: false,
  mustChange: false,
  history: [h('now')],
  failures: 2,
  failuresBySource: { 'uid:33': 2 },
  changedAt: 'then',
};
const card = (id: string) => ({ id, uidHmac: 'cd'.repeat(32), enrolledAt: 'then', reader: 'Virtual PCD 00 00', kind: 'uidOnly' as const });

function current(): State {
  return {
    format: 1,
    provisionedAt: 'then',
    deviceSecret: 'ab'.repeat(32),
    pendingEnrolment: null,
    roles: { manufacturer: { ...role }, installer: { ...role }, operator: { ...role }, user: { ...role } },
    policy: { enforceStrong: false, enforcePasswordChange: true },
    puk: { hash: h('puk-now'), triesLeft: 5, blocked: false, failuresBySource: { 'uid:33': 5 }, setAt: 'now' },
    https: { enabled: true },
    masterCards: [card('00000001'), card('00000002')],
    manufacturerDefaults: null,
    syncRevision: null,
    syncReceived: null,
    fallback: null,
    syncPeerSealingKey: null,
    syncSealingKeyPair: null,
    pendingRestore: null,
  };
}

const saved: SettingsSnapshot = {
  policy: { enforceStrong: true, enforcePasswordChange: false },
  puk: { hash: h('puk-saved'), triesLeft: 0, blocked: true, failuresBySource: {}, setAt: 'saved' },
  masterCards: [card('0000000a')],
  logPassword: 'Saved-Log-Password-1',
  webUi: '1.0',
  https: false,
};

t.test('the saved settings come back as saved', async (t) => {
  const after = withRestoredSettings(current(), saved, 'master card held');
  t.same(after.policy, saved.policy);
  t.same(after.puk, saved.puk, 'a PUK saved while blocked comes back blocked, its tries as saved');
  t.same(after.masterCards, saved.masterCards, 'cards enrolled since are gone, the saved ones back');
  t.same(after.https, { enabled: false });
});

t.test('what lives outside the state is left pending, with the reason', async (t) => {
  const after = withRestoredSettings(current(), saved, 'master card held');
  t.same(after.pendingRestore, { logPassword: 'Saved-Log-Password-1', webUi: '1.0', https: false, reason: 'master card held' });
  const noLogPassword = withRestoredSettings(current(), { ...saved, logPassword: null, puk: null }, 'cli');
  t.same(noLogPassword.pendingRestore, { logPassword: null, webUi: '1.0', https: false, reason: 'cli' }, 'no Log Password saved: removed');
  t.equal(noLogPassword.puk, null, 'no PUK saved: none after');
});

t.test('credentials and the rest of the state are untouched; the inputs are not changed', async (t) => {
  const before = current();
  const snapshot = structuredClone(saved);
  const after = withRestoredSettings(before, snapshot, 'x');
  t.same(after.roles, before.roles, 'passwords are restored by their own transition, not this one');
  t.same(
    { ...after, policy: null, puk: null, masterCards: null, https: null, pendingRestore: null },
    { ...before, policy: null, puk: null, masterCards: null, https: null, pendingRestore: null },
  );
  t.same(before, current(), 'the state given');
  t.same(snapshot, saved, 'the snapshot given');
  after.masterCards.push(card('0000000b'));
  after.policy.enforceStrong = false;
  t.same(snapshot, saved, 'the result shares nothing with the snapshot');
});
