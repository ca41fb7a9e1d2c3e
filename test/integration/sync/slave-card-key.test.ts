// Issue 22 #5: root on a compromised slave must hold nothing that answers as the master's card.
// A secure card enrolled before slave keys existed (keys 0 and 2 only) is tapped at the master:
// it proves key 2, gets its key 4 (the slaves'), and the master pushes the card to its slave over a
// real sshd. Then every key the slave's state files hold, opened with the slave's own sealing key
// where sealed (as root on the slave could), is tried as key 2 against the card: none works. The
// slave still recognises the card, with key 4. The attacker is root on the slave, not another uid
// on the master: the "attacker as another uid" rule of the socket rows does not apply here.
import { createHmac, randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { AUTH_KEY_NO, cardKeys, SLAVE_KEY_NO, verifySecureCard } from '../../../agent/daemon/cards/secure-card.js';
import { GenerationStore } from '../../../agent/store/generation-store.js';
import { requireProvisioned, stateSchema } from '../../../agent/store/state.js';
import { open, type SealingKeyPair } from '../../../agent/sync/card-key-seal.js';
import { BIN, startDaemon, type Env } from '../../support/harness.js';
import { securityEvents, waitFor } from '../../support/master-card.js';
import { SimulatedNtag424 } from '../../support/ntag424-sim.js';
import { PcscPeer, requireNtag424Peer } from '../../support/pcsc.js';
import { doubleStation, stateOf } from '../../support/double-station.js';
import { startSshd } from '../../support/sshd.js';

requireNtag424Peer();
const UID = '04C1D2E3F4A5B7';
const CARD_ID = 'c0ffee01';
const Z = '0'.repeat(32);

/** Every string in every state file of the slave (all generations kept), as root there reads them. */
async function slaveStrings(env: Env): Promise<string[]> {
  const out: string[] = [];
  const walk = (x: unknown): void => {
    if (typeof x === 'string') out.push(x);
    else if (Array.isArray(x)) x.forEach(walk);
    else if (x !== null && typeof x === 'object') Object.values(x).forEach(walk);
  };
  for (const name of await readdir(env.stateDir)) {
    if (!name.startsWith('state.')) continue;
    const text = await readFile(join(env.stateDir, name), 'utf8');
    try {
      walk(JSON.parse(text.slice(text.indexOf('\n') + 1)));
    } catch {
      out.push(text);
    }
  }
  return out;
}

/** Every 16-byte value the slave could derive from its strings: hex as is, sealed ones opened with its own key under any label. */
function candidateKeys(strings: string[], pair: SealingKeyPair | null, labels: string[]): Buffer[] {
  const keys = new Map<string, Buffer>();
  for (const s of strings) {
    for (const hex of s.match(/[0-9a-fA-F]{32,64}/g) ?? [])
      for (let i = 0; i + 32 <= hex.length; i += 2) keys.set(hex.slice(i, i + 32).toLowerCase(), Buffer.from(hex.slice(i, i + 32), 'hex'));
    if (pair === null || !/^[A-Za-z0-9+/]{80,}={0,2}$/.test(s)) continue;
    for (const label of labels) {
      try {
        const opened = open(s, pair, label);
        for (let i = 0; i + 16 <= opened.length; i++) keys.set(opened.subarray(i, i + 16).toString('hex'), opened.subarray(i, i + 16));
      } catch {
        // not sealed under this label
      }
    }
  }
  return [...keys.values()];
}

/** Whether `key` authenticates as key `keyNo` of the card with the keys of its state file (the master's own check). */
async function authenticatesAs(cardKeysHex: string[], key: Buffer, keyNo: number): Promise<boolean> {
  const card = new SimulatedNtag424(Buffer.from(UID, 'hex'));
  cardKeysHex.forEach((k, i) => (card.keys[i] = Buffer.from(k, 'hex')));
  try {
    await verifySecureCard({ transmit: card.transport }, key, Buffer.from(UID, 'hex'), keyNo);
    return true;
  } catch {
    return false;
  }
}

t.test('a card enrolled before slave keys gets its key 4 at the master; the slave holds nothing that answers as its key 2', async (t) => {
  const { dir, peer, sshdDir, port, master, slave, key } = await doubleStation(t);

  // The card as an older version enrolled it: keys 0 and 2 of this station, key 4 factory; its record without a slave key.
  const store = new GenerationStore(master.stateDir, stateSchema);
  await store.load();
  const written = await store.update((current) => {
    const s = structuredClone(requireProvisioned(current));
    s.cardMasterKey ??= randomBytes(16).toString('hex');
    const keys = cardKeys(Buffer.from(s.cardMasterKey, 'hex'), Buffer.from(UID, 'hex'));
    const uidHmac = createHmac('sha256', Buffer.from(s.deviceSecret, 'hex')).update(Buffer.from(UID, 'hex')).digest('hex');
    s.masterCards = [
      {
        id: CARD_ID,
        uidHmac,
        enrolledAt: '2026-01-01T00:00:00.000Z',
        reader: PcscPeer.READERS[0],
        kind: 'ntag424',
        authKey: keys.auth.toString('hex'),
        keyVersion: 1,
      },
    ];
    return s;
  });
  const keys = cardKeys(Buffer.from(written.cardMasterKey ?? '', 'hex'), Buffer.from(UID, 'hex'));
  const hex = (b: Buffer): string => b.toString('hex').toUpperCase();
  const cardState = join(dir, 'card.json');
  await writeFile(cardState, JSON.stringify({ uid: UID, keys: [hex(keys.master), Z, hex(keys.auth), Z, Z], versions: [1, 0, 1, 0, 0] }));

  // The slave starts after the master's card exchanges: its reader watch would add its own APDUs
  // to the card's count (one pcscd, shared readers). Meanwhile the master's pushes fail and are retried.
  const sshd = await startSshd(sshdDir, {
    port,
    authorizedKeys: `${key.authorizedKeysLine}\n`,
    forceCommand: `env CCGUARD_SOCKET=${slave.socket} ${BIN} sync receive`,
  });
  t.teardown(() => sshd.stop());
  const masterDaemon = await startDaemon(master, peer.env);
  t.teardown(() => masterDaemon.stop());
  await waitFor(master, 'readers', (s) => s.rfid.readers.length === 2);

  // Pulled mid-upgrade, right after the ChangeKey of key 4 (APDUs: 1 GET DATA; 2-5 SELECT, key 2,
  // GetCardUID; 6 SELECT; 7-9 key 4 ours, 10-12 factory; 13-15 key 0; 16 ChangeKey 4): keys 0 and 2
  // untouched, the record not yet written. The card stays a working master card.
  const pulled = await peer.placeNtag424({ state: cardState, uid: UID, slot: 0, faults: ['exit-after=16'] });
  for (let i = 0; i < 100 && (JSON.parse(await readFile(cardState, 'utf8')) as { keys: string[] }).keys[4] === Z; i++) await sleep(100);
  const half = JSON.parse(await readFile(cardState, 'utf8')) as { keys: string[] };
  t.same(
    [half.keys[0], half.keys[2], half.keys[4]],
    [hex(keys.master), hex(keys.auth), hex(keys.slave)],
    'pulled after the ChangeKey: key 4 written, keys 0 and 2 untouched',
  );
  await waitFor(master, 'the pulled card gone', (s) => s.rfid.readers[0]?.cardPresent === false);
  await pulled.remove();
  t.equal((await stateOf(master)).masterCards[0]?.slaveKey, undefined, 'its record not written yet');

  // The next presentation at the master: recognised by key 2, then its key 4 (already there) is recorded.
  // (Only the master reads the card meanwhile: the slave holds no usable key for it yet, and ignores it.)
  const tap = await peer.placeNtag424({ state: cardState, uid: UID, slot: 0, faults: [] });
  await waitFor(master, 'the master recognises the card', (s) => s.rfid.readers[0]?.masterCard === true, 10_000);
  for (let i = 0; i < 100 && (await stateOf(master)).masterCards[0]?.slaveKey === undefined; i++) await sleep(100);
  const card = JSON.parse(await readFile(cardState, 'utf8')) as { keys: string[]; versions: number[] };
  t.equal(card.keys[4], hex(keys.slave), "the card got its key 4 (the slaves')");
  t.equal(card.keys[2], hex(keys.auth), 'key 2 untouched');
  t.equal(card.keys[0], hex(keys.master), 'key 0 untouched');
  t.equal((await stateOf(master)).masterCards[0]?.slaveKey, keys.slave.toString('hex'), 'the master recorded it');
  const added = (await securityEvents(master, 'ReconfigurationOfSecurityParameters')).filter((e) => e.change === 'masterCardSlaveKeyAdded');
  t.match(added, [{ cardId: CARD_ID, reader: PcscPeer.READERS[0] }], 'and the security log says so, once');
  t.equal((await securityEvents(master, 'TamperDetectionActivated')).length, 0, 'no clone attempt at the master');
  await tap.remove();
  await waitFor(master, 'reader empty', (s) => s.rfid.readers[0]?.cardPresent === false);

  // Pushed to the slave, which now knows the card.
  const slaveDaemon = await startDaemon(slave, peer.env);
  t.teardown(() => slaveDaemon.stop());
  await waitFor(slave, 'readers', (s) => s.rfid.readers.length === 2);
  await waitFor(slave, 'the card synced', (s) => s.rfid.masterCards.some((c) => c.id === CARD_ID && c.kind === 'ntag424'), 20_000);

  // Root on the slave: everything its state files hold, opened where sealed to its own key.
  const slaveState = await stateOf(slave);
  const candidates = candidateKeys(await slaveStrings(slave), slaveState.syncSealingKeyPair ?? null, [CARD_ID, `${CARD_ID}/slave-key`, 'uid-hmac-key']);
  t.ok(candidates.length > 0, `${candidates.length} candidate keys from the slave's state`);
  let asKey2 = 0;
  let asKey4 = 0;
  for (const candidate of candidates) {
    if (await authenticatesAs(card.keys, candidate, AUTH_KEY_NO)) asKey2++;
    if (await authenticatesAs(card.keys, candidate, SLAVE_KEY_NO)) asKey4++;
  }
  t.equal(asKey2, 0, "nothing the slave holds authenticates as the card's key 2 (the master's check)");
  t.ok(asKey4 >= 1, "the slave holds the card's key 4");

  // The slave recognises the card with key 4 (the master off the shared reader: one session per card).
  await masterDaemon.stop();
  const onSlave = await peer.placeNtag424({ state: cardState, uid: UID, slot: 0, faults: [] });
  await waitFor(slave, 'the slave recognises the card', (s) => s.rfid.readers[0]?.masterCard === true, 10_000);
  t.equal((await securityEvents(slave, 'TamperDetectionActivated')).length, 0, 'no clone attempt on the slave');
  await onSlave.remove();
});
