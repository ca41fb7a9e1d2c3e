// The audit rules on plain values: the findings the daemon test cannot reach cheaply.
import t from 'tap';
import { audit, summarize, type AuditFacts } from '../../../policy/audit.js';

const CLEAN: AuditFacts = {
  provisioned: true,
  roles: { manufacturer: { isDefault: false }, installer: { isDefault: false }, operator: { isDefault: false }, user: { isDefault: false } },
  manufacturerNeverChanged: false,
  policy: { enforceStrong: true, enforcePasswordChange: true },
  puk: { set: true, blocked: false },
  masterCards: 0,
  rfidUnavailable: null,
  tapResetsRoles: ['manufacturer', 'installer', 'operator', 'user'],
  logPasswordSet: true,
  webUi: '2.0-only',
  https: true,
  sync: null,
  looseFiles: [],
  argon2: { memoryKiB: 19_456, timeCost: 2, parallelism: 1 },
  configPath: '/etc/ccguard/config.json',
  stateFallback: null,
};
const ids = (facts: Partial<AuditFacts>): Array<[string, string]> => audit({ ...CLEAN, ...facts }).map((f) => [f.id, f.severity]);

t.test('a hardened station has no finding', async (t) => {
  t.same(audit(CLEAN), []);
  t.same(summarize([]), { counts: { high: 0, medium: 0, low: 0, info: 0 }, passed: true });
});

t.test("argon2 against each of OWASP's equivalent minimums", async (t) => {
  for (const [memoryKiB, timeCost, ok] of [
    [19_456, 2, true],
    [19_455, 2, false],
    [47_104, 1, true],
    [47_103, 1, false],
    [12_288, 3, true],
    [9_216, 4, true],
    [7_168, 5, true],
    [7_168, 4, false],
    [1024, 1, false],
  ] as const) {
    t.same(ids({ argon2: { memoryKiB, timeCost, parallelism: 1 } }), ok ? [] : [['argon2-below-owasp', 'high']], `${memoryKiB} KiB, t=${timeCost}`);
  }
  t.match(
    audit({ ...CLEAN, argon2: { memoryKiB: 1024, timeCost: 1, parallelism: 1 } })[0]?.fix,
    /argon2\.memoryKiB to 19456 .* in \/etc\/ccguard\/config\.json/,
  );
});

t.test('PUK blocked, master card also resetting the manufacturer, web 2.0, slave out of sync, not provisioned', async (t) => {
  t.same(ids({ puk: { set: true, blocked: true } }), [['puk-blocked', 'high']]);
  t.same(ids({ masterCards: 1 }), [['tap-resets-manufacturer', 'info']], 'informational only when a card exists');
  t.same(ids({ masterCards: 1, tapResetsRoles: ['operator'] }), []);
  t.same(ids({ puk: { set: false, blocked: false }, masterCards: 1, tapResetsRoles: [] }), [], 'a master card alone is a recovery path');
  t.same(ids({ webUi: '2.0' }), [['legacy-web-interface', 'low']]);
  t.same(ids({ sync: { peer: 'slave:22', inSync: false, detail: 'last acknowledged revision 3 of 5' } }), [['slave-out-of-sync', 'high']]);
  t.same(ids({ sync: { peer: 'slave:22', inSync: true, detail: '' } }), []);
  t.same(ids({ provisioned: false }), [['not-provisioned', 'high']]);
  const loose = audit({ ...CLEAN, looseFiles: [{ path: '/var/lib/ccguard', mode: 0o755, allowed: 0o700 }] });
  t.match(loose, [{ id: 'loose-permissions./var/lib/ccguard', severity: 'high', fix: 'chmod 0700 /var/lib/ccguard' }]);
  const mixed = audit({ ...CLEAN, webUi: '2.0', masterCards: 1, https: false });
  t.same(
    mixed.map((f) => f.severity),
    ['high', 'low', 'info'],
    'most severe first',
  );
  t.same(summarize(mixed), { counts: { high: 1, medium: 0, low: 1, info: 1 }, passed: false });
});

t.test('card readers unusable: low, medium once master cards are enrolled, with the command that enables them', async (t) => {
  const rfidUnavailable = {
    reason: 'the PC/SC binding (npm package smartcard) is not installed',
    enableCommand: 'apt-get install --no-install-recommends libpcsclite-dev pcscd && cd /opt/ccguard && npm install',
  };
  t.same(ids({ rfidUnavailable }), [['rfid-unavailable', 'low']]);
  t.same(
    ids({ rfidUnavailable, masterCards: 1, tapResetsRoles: [] }),
    [['rfid-unavailable', 'medium']],
    'an enrolled card is a recovery path that does not work',
  );
  t.match(audit({ ...CLEAN, rfidUnavailable })[0], { fix: rfidUnavailable.enableCommand, meaning: /not installed/ });
});
