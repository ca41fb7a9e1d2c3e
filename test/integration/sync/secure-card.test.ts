// A double station with a secure master card: the master enrols an NTAG 424 DNA, pushes the card to
// its slave over a real sshd with the card's key sealed to the slave's own X25519 key, and the
// slave recognises the card on its reader (one private pcscd, both daemons reading it in shared mode).
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { syncContent } from '../../../agent/sync/payload.js';
import { BIN, cli, DEFAULTS, startDaemon } from '../../support/harness.js';
import { enrollTwice, securityEvents, status, waitFor } from '../../support/master-card.js';
import { PcscPeer, requireNtag424Peer } from '../../support/pcsc.js';
import { doubleStation, stateOf } from '../../support/double-station.js';
import { startSshd } from '../../support/sshd.js';

requireNtag424Peer();
const UID = '04C1D2E3F4A5B6';
const READER = PcscPeer.READERS[0];
const MFR = 'Lagoon-Ember-72-Trellis';

t.test("the slave recognises the master's secure card after a sync; its key never travels in clear; a copy is refused there too", async (t) => {
  const { dir, peer, sshdDir, port, master, slave, key } = await doubleStation(t);
  const slaveDaemon = await startDaemon(slave, peer.env);
  t.teardown(() => slaveDaemon.stop());
  const sshd = await startSshd(sshdDir, {
    port,
    authorizedKeys: `${key.authorizedKeysLine}\n`,
    forceCommand: `env CCGUARD_SOCKET=${slave.socket} ${BIN} sync receive`,
  });
  t.teardown(() => sshd.stop());
  const masterDaemon = await startDaemon(master, peer.env);
  t.teardown(() => masterDaemon.stop());
  await waitFor(master, 'readers', (s) => s.rfid.readers.length === 2);
  await waitFor(slave, 'readers', (s) => s.rfid.readers.length === 2);
  t.equal((await cli(master, ['passwd', 'manufacturer', '--stdin'], `${DEFAULTS.manufacturer}\n${MFR}\n`)).code, 0);

  // The first push taught the master the slave's sealing key.
  const slaveKeys = await (async () => {
    for (let i = 0; i < 100; i++) {
      const s = await stateOf(slave);
      const m = await stateOf(master);
      if (s.syncSealingKeyPair && m.syncPeerSealingKey === s.syncSealingKeyPair.publicKey) return s.syncSealingKeyPair;
      await sleep(100);
    }
    throw new Error("the master never learned the slave's sealing key");
  })();
  t.ok(slaveKeys.publicKey, "the master holds the slave's public sealing key");

  const cardState = join(dir, 'card.json');
  const enrolled = await enrollTwice(master, {
    password: MFR,
    reader: READER,
    timeoutSeconds: 20,
    place: () => peer.placeNtag424({ state: cardState, uid: UID, slot: 0, faults: [] }),
  });
  t.equal(enrolled.code, 0, enrolled.stderr);
  const card = JSON.parse(enrolled.stdout) as { id: string; kind: string };
  t.equal(card.kind, 'ntag424');
  await enrolled.card?.remove();
  await waitFor(master, 'reader empty', (s) => s.rfid.readers[0]?.cardPresent === false);

  // The slave has the card, with the key opened from the sealed copy; the payload never holds it in clear.
  await waitFor(slave, 'the card synced', (s) => s.rfid.masterCards.some((c) => c.id === card.id && c.kind === 'ntag424'), 15_000);
  const masterRecord = (await stateOf(master)).masterCards.find((c) => c.id === card.id);
  const slaveRecord = (await stateOf(slave)).masterCards.find((c) => c.id === card.id);
  t.ok(masterRecord?.authKey, "the master has the card's key 2");
  t.ok(masterRecord?.slaveKey, "and its slaves' key 4");
  t.equal(slaveRecord?.slaveKey, masterRecord?.slaveKey, 'the slave opened the slave key');
  t.equal(slaveRecord?.authKey, undefined, "and holds no key 2 (the master's)");
  const payload = JSON.stringify(syncContent(await stateOf(master)));
  t.notMatch(payload, new RegExp(masterRecord?.authKey ?? 'x'), 'key 2 is not in the payload in clear');
  t.notMatch(payload, /authKeySealed/, 'nor sealed');
  t.notMatch(payload, new RegExp(masterRecord?.slaveKey ?? 'x'), 'nor is key 4 in clear');
  t.notMatch(payload, new RegExp((await stateOf(master)).cardMasterKey ?? 'x'), 'nor is the card master key');
  t.match(payload, /slaveKeySealed/, 'key 4 is sealed');
  const masterState = await stateOf(master);
  t.notMatch(payload, new RegExp(masterState.deviceSecret), 'nor the UID HMAC key');
  t.match(payload, /cardKeySealed/, 'which is sealed too');
  t.equal((await stateOf(slave)).syncReceived?.cardKey, masterState.deviceSecret, 'and opened by the slave');

  // A tap on the reader: the slave recognises the card by its AES key and resets its roles. The
  // master leaves the reader first: on a station each controller has its own, and two sessions
  // interleaved on one card would break each other.
  await masterDaemon.stop();
  const tap = await peer.placeNtag424({ state: cardState, uid: UID, slot: 0, faults: [] });
  await waitFor(slave, 'the slave recognises the card', (s) => s.rfid.readers[0]?.masterCard === true, 10_000);
  await waitFor(slave, "the slave's tap", (s) => s.roles.manufacturer.isDefault, 10_000);
  t.equal((await securityEvents(slave, 'TamperDetectionActivated')).length, 0, 'no clone attempt on the slave');
  await tap.remove();
  await waitFor(slave, 'reader empty', (s) => s.rfid.readers[0]?.cardPresent === false);

  // A UID-only copy of the card does nothing on the slave either, and is recorded there.
  const copy = await peer.placeCard(UID, { slot: 0 });
  await waitFor(slave, 'the clone attempt', (s) => (s.rfid.cloneAttempts?.count ?? 0) >= 1, 10_000);
  t.equal((await status(slave)).rfid.readers[0]?.masterCard, false, 'the copy is no master card');
  await copy.remove();
});
