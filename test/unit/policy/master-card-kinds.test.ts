// Master card kinds and the rules for UID-only cards (policy/master-card-kinds.ts) are what the
// state, the sync payload's records and the config accept: nothing more, nothing less.
import t from 'tap';
import * as v from 'valibot';
import { MASTER_CARD_KINDS, UID_ONLY_RULES } from '../../../policy/master-card-kinds.js';
import { parseConfig } from '../../../agent/common/config.js';
import { masterCardRecord } from '../../../agent/store/state.js';

const base = { id: '0a1b2c3d', uidHmac: 'ab'.repeat(32), enrolledAt: '2026-01-01T00:00:00.000Z', reader: 'Virtual PCD 00 00' };
const KEY = '00112233445566778899aabbccddeeff';

t.test('the kinds: UID alone (copyable) and NTAG 424 DNA (AES key)', async (t) => {
  t.same([...MASTER_CARD_KINDS], ['uidOnly', 'ntag424']);
  t.same([...UID_ONLY_RULES], ['allow', 'tapOnly', 'refuse']);
});

t.test('a stored master card record takes exactly these kinds; older records without one are uidOnly', async (t) => {
  t.equal(v.parse(masterCardRecord, base).kind, 'uidOnly', 'a record from before kinds existed');
  t.equal(v.parse(masterCardRecord, { ...base, kind: 'uidOnly' }).kind, 'uidOnly');
  t.equal(v.parse(masterCardRecord, { ...base, kind: 'ntag424', authKey: KEY, keyVersion: 1 }).kind, 'ntag424');
  t.notOk(v.safeParse(masterCardRecord, { ...base, kind: 'desfire' }).success, 'an unknown kind is refused');
  t.notOk(v.safeParse(masterCardRecord, { ...base, kind: 'ntag424' }).success, 'an ntag424 card without its key is refused');
  t.notOk(v.safeParse(masterCardRecord, { ...base, kind: 'uidOnly', authKey: KEY }).success, 'a uidOnly card with a key is refused');
});

t.test('rfid.uidOnlyMasterCards takes exactly the UID-only rules, allow by default', async (t) => {
  t.equal(parseConfig({}, 'test').rfid.uidOnlyMasterCards, 'allow');
  for (const rule of UID_ONLY_RULES) t.equal(parseConfig({ rfid: { uidOnlyMasterCards: rule } }, 'test').rfid.uidOnlyMasterCards, rule);
  t.throws(() => parseConfig({ rfid: { uidOnlyMasterCards: 'sometimes' } }, 'test'), 'another value is refused');
});
