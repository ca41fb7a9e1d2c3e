// The slaves' key 4 of a secure master card (issue 22 #5), against the in-process NTAG 424 DNA:
// written at enrolment, added to a card enrolled before, never usable as key 2.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import {
  addSlaveKey,
  AUTH_KEY_NO,
  cardKeys,
  ForeignCardError,
  moveKeys,
  probeCard,
  SLAVE_KEY_NO,
  verifySecureCard,
} from '../../../../agent/daemon/cards/secure-card.js';
import { SimulatedNtag424 } from '../../../support/ntag424-sim.js';

const UID = Buffer.from('04A1B2C3D4E5F6', 'hex');
const channelOf = (card: SimulatedNtag424) => ({ transmit: card.transport });
const changeKeys = (card: SimulatedNtag424): number => card.received.filter((apdu) => apdu[1] === 0xc4).length;
const rejects = async (p: Promise<unknown>): Promise<boolean> =>
  p.then(
    () => false,
    () => true,
  );

t.test("key 4 has its own label: it differs from keys 0 and 2 and from a key 4 derived with the station's label", async (t) => {
  const keys = cardKeys(randomBytes(16), UID);
  t.not(keys.slave.toString('hex'), keys.auth.toString('hex'));
  t.not(keys.slave.toString('hex'), keys.master.toString('hex'));
  t.equal(keys.slave.length, 16);
  // A 10-byte UID still fits AN10922's 31-byte input with the longer label.
  t.doesNotThrow(() => cardKeys(randomBytes(16), randomBytes(10)));
});

t.test('enrolment writes keys 2, 4 and 0; neither key 2 nor 4 answers for the other', async (t) => {
  const card = new SimulatedNtag424(UID);
  const keys = cardKeys(randomBytes(16), UID);
  const held = await probeCard(channelOf(card), keys);
  t.same(held, { master: 'factory', auth: 'factory', slave: 'factory' });
  await moveKeys(channelOf(card), UID, keys, held, 'ours', async () => {});
  t.same([card.keys[0], card.keys[2], card.keys[4]], [keys.master, keys.auth, keys.slave]);
  t.same(card.versions, [1, 0, 1, 0, 1]);
  await verifySecureCard(channelOf(card), keys.auth, UID, AUTH_KEY_NO);
  await verifySecureCard(channelOf(card), keys.slave, UID, SLAVE_KEY_NO);
  t.ok(await rejects(verifySecureCard(channelOf(card), keys.slave, UID, AUTH_KEY_NO)), 'the slave key is no key 2');
  // Back to factory: key 4 too.
  await moveKeys(channelOf(card), UID, keys, await probeCard(channelOf(card), keys), 'factory', async () => {});
  t.same(
    card.keys.map((k) => k.toString('hex')),
    Array.from({ length: 5 }, () => '0'.repeat(32)),
  );
});

t.test('a card enrolled before slave keys: key 4 added with one ChangeKey, keys 0 and 2 untouched; again, nothing changes', async (t) => {
  const card = new SimulatedNtag424(UID);
  const keys = cardKeys(randomBytes(16), UID);
  card.keys[0] = Buffer.from(keys.master);
  card.keys[2] = Buffer.from(keys.auth);
  await addSlaveKey(channelOf(card), keys);
  t.same([card.keys[0], card.keys[2], card.keys[4]], [keys.master, keys.auth, keys.slave]);
  t.equal(changeKeys(card), 1, 'one ChangeKey');
  await addSlaveKey(channelOf(card), keys);
  t.equal(changeKeys(card), 1, 'a card that already holds it (pulled before its record was written) is not changed again');
});

t.test('a key 4 nobody here knows: refused as a foreign card, nothing written', async (t) => {
  const card = new SimulatedNtag424(UID);
  const keys = cardKeys(randomBytes(16), UID);
  card.keys[0] = Buffer.from(keys.master);
  card.keys[2] = Buffer.from(keys.auth);
  card.keys[4] = randomBytes(16);
  await t.rejects(addSlaveKey(channelOf(card), keys), ForeignCardError);
  t.equal(changeKeys(card), 0);
});
