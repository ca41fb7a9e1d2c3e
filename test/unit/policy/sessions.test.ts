import t from 'tap';
import { credentialMark, isChangeOnly, sessionExpiry } from '../../../policy/sessions.js';

const limits = { idleMs: 1000, absoluteMs: 5000 };

t.test('a session is live until its idle or its absolute limit', async (t) => {
  t.equal(sessionExpiry({ openedAt: 0, lastUsedAt: 0 }, 999, limits), 'live');
  t.equal(sessionExpiry({ openedAt: 0, lastUsedAt: 0 }, 1000, limits), 'idle', 'idle at the limit');
  t.equal(sessionExpiry({ openedAt: 0, lastUsedAt: 4500 }, 4999, limits), 'live', 'used: the idle time starts again');
  t.equal(sessionExpiry({ openedAt: 0, lastUsedAt: 4900 }, 5000, limits), 'expired', 'however recently used, the absolute limit ends it');
});

t.test('a new password or a reset changes the credential mark; a rehash does not', async (t) => {
  const before = credentialMark({ changedAt: '2026-01-01T00:00:00.000Z', isDefault: false });
  t.equal(credentialMark({ changedAt: '2026-01-01T00:00:00.000Z', isDefault: false }), before);
  t.not(credentialMark({ changedAt: '2026-01-02T00:00:00.000Z', isDefault: false }), before, 'changed');
  t.not(credentialMark({ changedAt: '2026-01-01T00:00:00.000Z', isDefault: true }), before, 'back on the default');
});

t.test('a default or must-change role gets a change-only session', async (t) => {
  t.ok(isChangeOnly({ isDefault: true, mustChange: true }));
  t.ok(isChangeOnly({ isDefault: false, mustChange: true }));
  t.notOk(isChangeOnly({ isDefault: false, mustChange: false }));
});
