// Secure master cards end to end: the real daemon, a private pcscd with vpcd, and the virtual
// NTAG 424 DNA (test/support/fixtures/ntag424_card.py, real AES) placed and removed by starting and killing it.
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { cardKeys } from '../../../agent/daemon/cards/secure-card.js';
import { GenerationStore } from '../../../agent/store/generation-store.js';
import { requireProvisioned, stateSchema, type State } from '../../../agent/store/state.js';
import { call } from '../../../agent/wire/client.js';
import { allLogText, cleanup, cli, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon, type Daemon, type Env } from '../../support/harness.js';
import { nonConforming, schemaErrors } from '../../support/json-schema.js';
import { cardStation, enrollTwice, securityEvents, securityEventsOnce, status, waitFor, type EnrolRun } from '../../support/master-card.js';
import { PcscPeer, requireNtag424Peer, type Ntag424Fault, type VirtualCard } from '../../support/pcsc.js';

requireNtag424Peer();

const UID = '04A1B2C3D4E5F6';
const OTHER_UID = '04112233445566';
const HOLD_SECONDS = 3;
const READER = PcscPeer.READERS[0];
const Z = '00'.repeat(16);
const OPERATOR = 'Harbor-Violet-46-Quill';
let MFR = 'Quartz-Fjord-91-Lantern';
let passwords = 0;

async function setManufacturerPassword(env: Env): Promise<void> {
  const current = passwords === 0 || (await status(env)).roles.manufacturer.isDefault ? DEFAULTS.manufacturer : MFR;
  MFR = `Quartz-Fjord-91-Lantern-${++passwords}`;
  const r = await cli(env, ['passwd', 'manufacturer', '--stdin'], `${current}\n${MFR}\n`);
  if (r.code !== 0) throw new Error(`passwd manufacturer: ${r.stderr}`);
}

async function stateOf(env: Env): Promise<State> {
  const store = new GenerationStore(env.stateDir, stateSchema);
  await store.load();
  return requireProvisioned(store.current);
}

/** The virtual card's keys as its state file holds them (what a lab would read out). */
async function cardFile(path: string): Promise<{ keys: string[]; versions: number[] }> {
  return JSON.parse(await readFile(path, 'utf8')) as { keys: string[]; versions: number[] };
}

/** This station's keys 0, 2 and 4 (the slaves') for the UID, upper-case hex as the card file holds them. */
async function ourKeys(env: Env, uid: string): Promise<{ k0: string; k2: string; k4: string }> {
  const master = Buffer.from((await stateOf(env)).cardMasterKey ?? '', 'hex');
  const keys = cardKeys(master, Buffer.from(uid, 'hex'));
  return { k0: keys.master.toString('hex').toUpperCase(), k2: keys.auth.toString('hex').toUpperCase(), k4: keys.slave.toString('hex').toUpperCase() };
}

interface Station {
  env: Env;
  peer: PcscPeer;
  daemon: Daemon;
  dir: string;
}

async function station(t: Test, rfid: Record<string, unknown> = {}, config: Record<string, unknown> = {}): Promise<Station> {
  const { env, peer, daemon } = await cardStation(t, () => ({
    ...config,
    rfid: { holdSeconds: HOLD_SECONDS, dropoutGraceMs: 500, maxRetryMs: 500, apduTimeoutMs: 500, ...rfid },
  }));
  passwords = 0;
  await setManufacturerPassword(env);
  return { env, peer, daemon, dir: env.dir };
}

const removedFrom = (env: Env, slot = 0): Promise<unknown> => waitFor(env, 'reader empty', (x) => x.rfid.readers[slot]?.cardPresent === false);

function ntag(s: Station, state: string, options: { slot?: 0 | 1; faults?: Ntag424Fault[]; uid?: string } = {}): () => Promise<VirtualCard> {
  return () => s.peer.placeNtag424({ state, uid: options.uid ?? UID, slot: options.slot ?? 0, faults: options.faults ?? [] });
}

async function enrolSecure(s: Station, state: string, extra: Partial<Parameters<typeof enrollTwice>[1]> = {}): Promise<EnrolRun> {
  return enrollTwice(s.env, { password: MFR, reader: READER, place: ntag(s, state), timeoutSeconds: 20, ...extra });
}

t.test('enrol a factory-fresh NTAG 424 DNA; tap and hold; clones, wrong keys, foreign and plain cards; a mute card', async (t) => {
  const s = await station(t);
  const { env, peer } = s;
  const cardState = join(s.dir, 'master-card.json');

  // Enrolment: presented twice on the named reader, personalised, verified, recorded.
  const enrolled = await enrolSecure(s, cardState);
  t.equal(enrolled.code, 0, enrolled.stderr);
  const card = JSON.parse(enrolled.stdout) as { id: string; reader: string; kind: string };
  t.match(card, { id: /^[0-9a-f]{8}$/, reader: READER, kind: 'ntag424' });
  const { k0, k2, k4 } = await ourKeys(env, UID);
  t.not(k0, k2, 'keys 0 and 2 differ');
  t.not(k4, k2, "and so does the slaves' key 4");
  t.same(
    await cardFile(cardState),
    { uid: UID, keys: [k0, Z, k2, Z, k4], versions: [1, 0, 1, 0, 1] },
    "the card holds this station’s diversified keys 0 and 2, and the slaves' key 4",
  );
  const saved = await stateOf(env);
  t.match(saved.masterCards, [{ id: card.id, kind: 'ntag424', authKey: k2.toLowerCase(), slaveKey: k4.toLowerCase(), keyVersion: 1 }]);
  t.equal(saved.pendingEnrolment, null, 'nothing pending after a finished enrolment');
  t.equal((await status(env)).roles.manufacturer.isDefault, false, 'the enrolled card did not act as a tap');
  await enrolled.card?.remove();
  await removedFrom(env);
  // A second station's keys for the same UID differ (one card read out unlocks nothing else).
  const elsewhere = cardKeys(randomBytes(16), Buffer.from(UID, 'hex'));
  t.not(elsewhere.auth.toString('hex').toUpperCase(), k2);

  const list = await cli(env, ['master-card', 'list', '--stdin', '--json'], `${MFR}\n`);
  t.equal(await schemaErrors('master-cards.schema.json', JSON.parse(list.stdout)), null, 'list --json conforms to its schema');
  t.same(
    (JSON.parse(list.stdout) as { masterCards: Array<{ kind: string }> }).masterCards.map((c) => c.kind),
    ['ntag424'],
  );
  t.same((await status(env)).rfid.masterCards, [{ id: card.id, kind: 'ntag424' }]);

  // Already a master card: said at the first presentation.
  const again = await enrolSecure(s, cardState);
  t.equal(again.code, 1);
  t.match(again.stderr, new RegExp(`already enrolled as master card ${card.id}`));
  await removedFrom(env);

  // Manufacturer defaults, then drift.
  t.equal((await cli(env, ['defaults', 'save', '--stdin'], `${MFR}\n`)).code, 0);
  t.equal((await cli(env, ['policy', 'set', '--strong', 'off', '--stdin'], `${MFR}\n`)).code, 0);
  t.equal((await cli(env, ['passwd', 'operator', '--stdin'], `${DEFAULTS.operator}\n${OPERATOR}\n`)).code, 0);

  // A tap with the real card: every role reset; removed early, nothing restored.
  const tapped = await ntag(s, cardState)();
  let st = await waitFor(env, 'tap', (x) => x.roles.operator.isDefault && x.roles.manufacturer.isDefault);
  t.match(st.rfid.readers[0], { cardPresent: true, masterCard: true });
  await tapped.remove();
  await waitFor(env, 'hold cancelled', (x) => x.rfid.hold === null);
  await sleep(HOLD_SECONDS * 1000);
  t.equal((await status(env)).policy.enforceStrong, false, 'an early removal restores nothing');

  // A hold restores the defaults.
  await setManufacturerPassword(env);
  const held = await ntag(s, cardState)();
  await waitFor(env, 'hold start', (x) => x.rfid.hold !== null);
  st = await waitFor(env, 'restore', (x) => x.policy.enforceStrong, (HOLD_SECONDS + 5) * 1000);
  t.same(st.rfid.masterCards, [{ id: card.id, kind: 'ntag424' }], 'the snapshot kept the secure card');
  await held.remove();
  await removedFrom(env);
  t.same(await securityEvents(env, 'TamperDetectionActivated'), [], 'the real card never counted as a clone');

  // Copies: a plain card with the same UID, and an NTAG 424 DNA with other keys and the same UID.
  await setManufacturerPassword(env);
  const copies: Array<[string, Ntag424Fault, string]> = [
    ['a UID-only card with the same UID', 'uid-only', 'notNtag424'],
    ['a card with the same UID and another key', 'wrong-key', 'refusedByCard'],
  ];
  for (const [what, fault, detail] of copies) {
    const before = (await securityEvents(env, 'TamperDetectionActivated')).length;
    const copy = await ntag(s, join(s.dir, `copy-${fault}.json`), { faults: [fault] })();
    const events = await waitUntil(
      () => securityEvents(env, 'TamperDetectionActivated'),
      (e) => e.length > before,
    );
    t.match(events.at(-1), { cause: 'masterCardCloneAttempt', cardId: card.id, reader: READER, detail }, `${what}: recorded`);
    st = await status(env);
    t.equal(st.roles.manufacturer.isDefault, false, `${what}: resets nothing`);
    t.equal(st.rfid.hold, null, `${what}: no hold`);
    t.match(st.rfid.readers[0], { cardPresent: true, masterCard: false });
    await copy.remove();
    await removedFrom(env);
  }
  st = await status(env);
  t.match(st.rfid.cloneAttempts, { count: 2, lastReader: READER });
  const audit = JSON.parse((await cli(env, ['audit', '--json'])).stdout) as { findings: Array<{ id: string; severity: string; title: string }> };
  t.match(
    audit.findings.find((f) => f.id === 'master-card-clone-attempts'),
    { severity: 'high', title: /^2 cards/ },
    'audit shows the clone attempts',
  );
  t.equal(await schemaErrors('audit.schema.json', audit), null);

  // A mute card with the enrolled UID: answers GET DATA, then nothing. The reader goes on serving.
  const mute = await ntag(s, join(s.dir, 'mute.json'), { faults: ['mute-after=2'] })();
  const muted = await waitUntil(
    () => securityEvents(env, 'TamperDetectionActivated'),
    (e) => e.length > 2,
  );
  t.match(muted.at(-1), { detail: 'timeout' }, 'a card that stops answering is not a master card');
  t.equal((await status(env)).roles.manufacturer.isDefault, false);
  await mute.remove();
  await removedFrom(env);
  const afterMute = await ntag(s, cardState)();
  await waitFor(env, 'tap after the mute card', (x) => x.roles.manufacturer.isDefault);
  await afterMute.remove();
  await removedFrom(env);

  // A slow card (150 ms per answer, under rfid.apduTimeoutMs): each APDU has its own deadline, so it is recognised.
  await setManufacturerPassword(env);
  const slow = await ntag(s, cardState, { faults: ['slow=150'] })();
  await waitFor(env, 'tap with a slow card', (x) => x.roles.manufacturer.isDefault);
  await slow.remove();
  await removedFrom(env);

  // The real card swiped off in the middle of its authentication: no clone attempt, and the next tap works.
  await setManufacturerPassword(env);
  const attempts = (await securityEvents(env, 'TamperDetectionActivated')).length;
  for (const apdu of [3, 5]) {
    const swiped = await ntag(s, cardState, { faults: [`exit-after=${apdu}`] })();
    await removedFrom(env);
    await swiped.remove();
  }
  await sleep(1500);
  t.equal((await securityEvents(env, 'TamperDetectionActivated')).length, attempts, 'a pulled genuine card is no clone attempt');
  t.equal((await status(env)).roles.manufacturer.isDefault, false, 'and resets nothing');
  const afterSwipe = await ntag(s, cardState)();
  await waitFor(env, 'tap after the swipes', (x) => x.roles.manufacturer.isDefault);
  await afterSwipe.remove();
  await removedFrom(env);

  // Enrolment refusals: a card personalised elsewhere, a plain card without --uid-only, two different cards.
  await setManufacturerPassword(env);
  const foreign = join(s.dir, 'foreign.json');
  await writeFile(
    foreign,
    JSON.stringify({ uid: OTHER_UID, keys: Array.from({ length: 5 }, () => randomBytes(16).toString('hex').toUpperCase()), versions: [1, 1, 1, 1, 1] }),
  );
  const foreignKeys = (await cardFile(foreign)).keys;
  const refused = await enrolSecure(s, foreign, { place: ntag(s, foreign, { uid: OTHER_UID }) });
  t.equal(refused.code, 1);
  t.match(refused.stderr, /this card's keys are neither factory keys nor this station's: it was personalised elsewhere; nothing enrolled/);
  t.same((await cardFile(foreign)).keys, foreignKeys, 'its keys untouched');
  await refused.card?.remove();
  await removedFrom(env);
  const plain = await enrollTwice(env, { password: MFR, reader: READER, place: () => peer.placeCard('04998877665544') });
  t.equal(plain.code, 1);
  t.match(plain.stderr, /not an NTAG 424 DNA .* add --uid-only/);
  await plain.card?.remove();
  await removedFrom(env);
  const swapped = await enrollTwice(env, {
    password: MFR,
    reader: READER,
    place: () => peer.placeCard('04998877665544'),
    placeAgain: () => peer.placeCard('04998877665533'),
  });
  t.equal(swapped.code, 1);
  t.match(swapped.stderr, /another card was presented the second time/);
  await swapped.card?.remove();
  await removedFrom(env);
  t.equal((await stateOf(env)).masterCards.length, 1, 'nothing else enrolled');

  const all = ((await call(env.socket, 'events', { limit: 10_000 })) as { events: unknown[] }).events;
  t.same(await nonConforming('event.schema.json', all), [], 'every event conforms to schemas/event.schema.json');
  t.equal(await schemaErrors('status.schema.json', await status(env)), null, 'status conforms to its schema');
  const logs = (await allLogText(env)).toLowerCase();
  for (const secret of [UID, k0, k2, (await stateOf(env)).cardMasterKey ?? 'none']) t.notOk(logs.includes(secret.toLowerCase()), 'no UID or key in any log');
});

/** The probe's value once `ok` holds, or its last value after 8 s. */
async function waitUntil<T>(probe: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const deadline = performance.now() + 8000;
  for (;;) {
    const value = await probe();
    if (ok(value) || performance.now() > deadline) return value;
    await sleep(50);
  }
}

// APDUs the second presentation of a factory-fresh card sees, counted as the fixture counts them
// (GET DATA of the reader watch included): 1 GET DATA; 2 SELECT; probe key 0 (ours 3-5, factory 6-8);
// probe key 2 (ours 9-11, factory 12-14); probe key 4 (ours 15-17, factory 18-20); 21-23 authenticate
// key 0; 24 ChangeKey 2; 25 ChangeKey 4; 26 ChangeKey 0; 27-29 authenticate key 0 with the new key;
// 30-32 key 4; 33-35 key 2; 36 GetCardUID.
/**
 * Places the card that leaves the field right after carrying out APDU `apdu` (24 or later: key 2 is
 * changed by then), and waits until the daemon has seen the enrolment cut and waits for the card again.
 */
async function pull(s: Station, state: string, uid: string, apdu: number, when: string): Promise<VirtualCard> {
  const card = await ntag(s, state, { uid, faults: [`exit-after=${apdu}`] })();
  await waitUntil(
    () => cardFile(state),
    (f) => f.keys[2] !== Z,
  );
  await waitFor(s.env, `the card pulled ${when}`, (x) => x.rfid.enrolmentStep === 'placeCardAgain');
  return card;
}

const PULLS: Array<[string, number]> = [
  ['after the first ChangeKey', 24],
  ['after the second ChangeKey', 25],
  ['after the third ChangeKey', 26],
  ['before the verification', 28],
  ['at the GetCardUID of the verification', 36],
];

t.test('a card pulled at each step of its enrolment ends enrolled (presented again) or back on factory keys', async (t) => {
  const s = await station(t);
  const { env } = s;
  let n = 0;
  for (const [when, apdu] of PULLS) {
    // Presented again while the enrol command still waits: the enrolment is finished.
    const finished = join(s.dir, `finish-${++n}.json`);
    const uid = `04A1B2C3D4E5${n.toString(16).padStart(2, '0').toUpperCase()}`;
    const run = await enrollTwice(env, {
      password: MFR,
      reader: READER,
      timeoutSeconds: 30,
      place: ntag(s, finished, { uid }),
      placeAgain: async () => {
        const pulled = await pull(s, finished, uid, apdu, when);
        await pulled.remove();
        return ntag(s, finished, { uid })();
      },
    });
    t.equal(run.code, 0, `${when}: enrolled once presented again (${run.stderr})`);
    const { k0, k2, k4 } = await ourKeys(env, uid);
    t.same((await cardFile(finished)).keys, [k0, Z, k2, Z, k4], `${when}: the card holds our keys`);
    const state = await stateOf(env);
    t.equal(state.masterCards.length, n, `${when}: recorded`);
    t.equal(state.pendingEnrolment, null);
    await run.card?.remove();
    await removedFrom(env);
  }

  // Pulled, the enrol command given up: the next ordinary placement puts the factory keys back.
  for (const [when, apdu] of PULLS.slice(0, 3)) {
    const undone = join(s.dir, `undo-${apdu}.json`);
    const uid = `04B1B2C3D4E5${apdu.toString(16).padStart(2, '0').toUpperCase()}`;
    const run = await enrollTwice(env, {
      password: MFR,
      reader: READER,
      timeoutSeconds: 4,
      place: ntag(s, undone, { uid }),
      placeAgain: async () => {
        return pull(s, undone, uid, apdu, when);
      },
    });
    t.equal(run.code, 1, `${when}: the enrol command timed out`);
    t.match(run.stderr, /not presented a second time/);
    t.ok((await status(env)).rfid.pendingEnrolment, `${when}: the cut-off enrolment is shown`);
    const keysBefore = (await cardFile(undone)).keys;
    t.not(keysBefore.join(), [Z, Z, Z, Z, Z].join(), `${when}: the card had been changed`);
    const before = (await securityEvents(env, 'ReconfigurationOfSecurityParameters')).filter((e) => e.change === 'masterCardEnrolmentUndone').length;
    const again = await ntag(s, undone, { uid, slot: 1 })();
    await waitFor(env, `${when}: undone`, (x) => x.rfid.pendingEnrolment === null);
    t.same((await cardFile(undone)).keys, [Z, Z, Z, Z, Z], `${when}: factory keys back`);
    const undoneEvents = (events: Array<Record<string, unknown>>): number => events.filter((e) => e.change === 'masterCardEnrolmentUndone').length;
    const after = await securityEventsOnce(env, 'ReconfigurationOfSecurityParameters', (events) => undoneEvents(events) > before);
    t.equal(undoneEvents(after), before + 1, 'recorded');
    t.equal((await stateOf(env)).masterCards.length, PULLS.length, 'not enrolled');
    await again.remove();
    await removedFrom(env, 1);
  }
});

t.test('a power cut during an enrolment: the pending record is kept across the restart until the card shows up', async (t) => {
  const s = await station(t);
  const { env } = s;
  const cut = join(s.dir, 'power-cut.json');
  const uid = '04C1C2C3C4C5C6';
  const run = await enrollTwice(env, {
    password: MFR,
    reader: READER,
    timeoutSeconds: 30,
    place: ntag(s, cut, { uid }),
    placeAgain: async () => {
      const pulled = await pull(s, cut, uid, 24, 'after the first ChangeKey');
      s.daemon.proc.kill('SIGKILL');
      return pulled;
    },
  });
  t.not(run.code, 0);
  t.match((await stateOf(env)).pendingEnrolment, { reader: READER }, 'written before the first ChangeKey');
  const restarted = await startDaemon(env, s.peer.env);
  t.teardown(() => restarted.stop());
  await waitFor(env, 'readers', (x) => x.rfid.readers.length === 2);
  t.match((await status(env)).rfid.pendingEnrolment, { reader: READER }, 'still pending after the restart');
  const audit = JSON.parse((await cli(env, ['audit', '--json'])).stdout) as { findings: Array<{ id: string; severity: string }> };
  t.match(
    audit.findings.find((f) => f.id === 'master-card-enrolment-pending'),
    { severity: 'info' },
  );
  // Another card's enrolment waits until that one is settled: its pending record must not be lost.
  const blocked = await enrolSecure(s, join(s.dir, 'other.json'), { place: ntag(s, join(s.dir, 'other.json'), { uid: OTHER_UID }) });
  t.equal(blocked.code, 1);
  t.match(blocked.stderr, /the enrolment of another card .* was cut off/);
  t.same((await cardFile(join(s.dir, 'other.json'))).keys, [Z, Z, Z, Z, Z], 'the other card untouched');
  await blocked.card?.remove();
  await removedFrom(env);
  const back = await ntag(s, cut, { uid })();
  await waitFor(env, 'undone after the restart', (x) => x.rfid.pendingEnrolment === null);
  t.same((await cardFile(cut)).keys, [Z, Z, Z, Z, Z]);
  await back.remove();
  const all = ((await call(env.socket, 'events', { limit: 10_000 })) as { events: Array<Record<string, unknown>> }).events;
  t.match(
    all.filter((e) => e.change === 'masterCardEnrolmentUndone'),
    [{ event: 'ReconfigurationOfSecurityParameters', reader: READER }],
  );
  t.same(await nonConforming('event.schema.json', all), [], 'every event conforms to schemas/event.schema.json');
});

t.test('UID-only master cards: allow, tapOnly, refuse; audit names each with the command that replaces it', async (t) => {
  const rows: Array<{ rule: 'allow' | 'tapOnly' | 'refuse'; severity: string | null; taps: boolean; holds: boolean }> = [
    { rule: 'allow', severity: 'high', taps: true, holds: true },
    { rule: 'tapOnly', severity: 'medium', taps: true, holds: false },
    { rule: 'refuse', severity: 'info', taps: false, holds: false },
  ];
  for (const row of rows) {
    const s = await station(t, { uidOnlyMasterCards: row.rule });
    const { env, peer } = s;
    const uid = '04778899AABBCC';
    const run = await enrollTwice(env, { password: MFR, reader: READER, uidOnly: true, place: () => peer.placeCard(uid) });
    t.equal(run.code, 0, run.stderr);
    const id = (JSON.parse(run.stdout) as { id: string }).id;
    await run.card?.remove();
    await removedFrom(env);
    const audit = JSON.parse((await cli(env, ['audit', '--json'])).stdout) as { findings: Array<{ id: string; severity: string; fix: string }> };
    t.equal(await schemaErrors('audit.schema.json', audit), null);
    const finding = audit.findings.find((f) => f.id === `master-card-uid-only.${id}`);
    t.equal(finding?.severity, row.severity, `${row.rule}: audit severity`);
    if (row.rule !== 'refuse') t.match(finding?.fix, new RegExp(`ccguard master-card enroll --reader .* then: ccguard master-card remove ${id}`));
    t.equal(
      audit.findings.some((f) => f.id === 'no-recovery-path'),
      row.rule === 'refuse',
      `${row.rule}: a refused card is no recovery path`,
    );

    t.equal((await cli(env, ['defaults', 'save', '--stdin'], `${MFR}\n`)).code, 0);
    t.equal((await cli(env, ['policy', 'set', '--strong', 'off', '--stdin'], `${MFR}\n`)).code, 0);
    const card = await peer.placeCard(uid);
    await waitFor(env, 'card seen', (x) => x.rfid.readers[0]?.cardPresent === true);
    const tapped = await waitUntil(
      () => status(env),
      (x) => x.roles.manufacturer.isDefault,
    );
    t.equal(tapped.roles.manufacturer.isDefault, row.taps, `${row.rule}: tap`);
    await sleep((HOLD_SECONDS + 1.5) * 1000);
    const st = await status(env);
    t.equal(st.policy.enforceStrong, row.holds, `${row.rule}: hold restores defaults`);
    t.equal(st.rfid.hold, null);
    await card.remove();
  }
});

t.test('a PUK and a secure master card: each recovery works while the other is set up; a hold restores the PUK as saved', async (t) => {
  // The PUK's block rule, without the throttle's waits before it.
  const s = await station(t, {}, { throttle: { freeFailures: 10 } });
  const { env } = s;
  const PUK = 'K7#pl-Rx9!-4mQz';
  t.equal((await cli(env, ['puk', 'set', '--stdin'], `${MFR}\n${PUK}\n`)).code, 0);
  const cardState = join(s.dir, 'card.json');
  const enrolled = await enrolSecure(s, cardState);
  t.equal(enrolled.code, 0, enrolled.stderr);
  await enrolled.card?.remove();
  await removedFrom(env);
  t.equal((await cli(env, ['defaults', 'save', '--stdin'], `${MFR}\n`)).code, 0);

  // The PUK path with a card enrolled.
  t.equal((await cli(env, ['passwd', 'operator', '--stdin'], `${DEFAULTS.operator}\n${OPERATOR}\n`)).code, 0);
  const viaPuk = await cli(env, ['puk', 'reset', '--stdin'], `${PUK}\nMeadow-Copper-58-Tide\n`);
  t.equal(viaPuk.code, 0, viaPuk.stderr);
  t.equal((await cli(env, ['login', 'operator', '--stdin'], 'Meadow-Copper-58-Tide\n')).code, 0, 'the PUK set the operator password');

  // The card path with a PUK set: tap, then a hold; the PUK, blocked since the save, comes back as saved.
  for (let i = 0; i < 10; i++) await cli(env, ['puk', 'reset', '--stdin'], `Wrong-Puk-${i}-xx\nMeadow-Copper-58-Tidy\n`);
  t.match((await status(env)).puk, { blocked: true }, 'PUK blocked by wrong tries');
  const held = await ntag(s, cardState)();
  const st = await waitFor(env, 'restore', (x) => !x.puk.blocked && x.roles.operator.isDefault, (HOLD_SECONDS + 6) * 1000);
  t.same(st.puk, { set: true, triesLeft: 10, blocked: false }, 'the saved PUK state (not blocked) is back');
  await held.remove();
  await removedFrom(env);

  // Saved while blocked: the restore puts the PUK back as saved, blocked.
  await setManufacturerPassword(env);
  for (let i = 0; i < 10; i++) {
    await cli(env, ['puk', 'reset', '--stdin'], `Wrong-Puk-${i}-yy\nMeadow-Copper-58-Tidy\n`);
  }
  t.match((await status(env)).puk, { blocked: true }, 'PUK blocked again');
  t.equal((await cli(env, ['defaults', 'save', '--stdin'], `${MFR}\n`)).code, 0);
  t.equal((await cli(env, ['policy', 'set', '--strong', 'off', '--stdin'], `${MFR}\n`)).code, 0);
  const held2 = await ntag(s, cardState)();
  const st2 = await waitFor(env, 'restore', (x) => x.policy.enforceStrong, (HOLD_SECONDS + 6) * 1000);
  t.same(st2.puk, { set: true, triesLeft: 0, blocked: true }, 'the saved PUK, blocked as it was saved');
  await held2.remove();
  await removedFrom(env);
  const blocked = await cli(env, ['puk', 'reset', '--stdin'], `${PUK}\nMeadow-Copper-58-Tidy\n`);
  t.equal(blocked.code, 4, 'even the right PUK is refused while blocked');
  t.match(blocked.stderr, /blocked/);
  // The manufacturer (back on its default password after the hold) sets the PUK again: unblocked.
  await setManufacturerPassword(env);
  t.equal((await cli(env, ['puk', 'set', '--stdin'], `${MFR}\n${PUK}\n`)).code, 0);
  const withPuk = await cli(env, ['puk', 'reset', '--stdin'], `${PUK}\nMeadow-Copper-58-Tidy\n`);
  t.equal(withPuk.code, 0, `the PUK set again works (${withPuk.stderr})`);
});

t.test('a state from before secure cards: its card master key is made once at start; its cards are UID-only', async (t) => {
  const env = await makeEnv((dir) => ({ rfid: { maxRetryMs: 200 }, webUi: { styleFile: join(dir, 'WebUIStyle_web') } }));
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const store = new GenerationStore(env.stateDir, stateSchema);
  await store.load();
  await store.update((current) => {
    const old = structuredClone(requireProvisioned(current)) as Record<string, unknown>;
    delete old.cardMasterKey;
    delete old.pendingEnrolment;
    // A record as older versions wrote it: no kind.
    old.masterCards = [{ id: 'a1b2c3d4', uidHmac: 'ab'.repeat(32), enrolledAt: '2026-01-01T00:00:00.000Z', reader: 'Old Reader' }];
    return old as State;
  });
  t.equal((await stateOf(env)).cardMasterKey, undefined);
  const daemon = await startDaemon(env, { PCSCLITE_CSOCK_NAME: join(env.dir, 'no-pcscd.sock') });
  t.teardown(() => daemon.stop());
  const key = (await stateOf(env)).cardMasterKey;
  t.match(key, /^[0-9a-f]{32}$/, 'made and written at start');
  t.same((await status(env)).rfid.masterCards, [{ id: 'a1b2c3d4', kind: 'uidOnly' }], 'an old record is a UID-only card');
  const human = await cli(env, ['status']);
  t.match(human.stdout, /1 master card.*1 UID-only: copyable/);
  const audit = JSON.parse((await cli(env, ['audit', '--json'])).stdout) as { findings: Array<{ id: string; severity: string }> };
  t.match(
    audit.findings.find((f) => f.id === 'master-card-uid-only.a1b2c3d4'),
    { severity: 'high' },
    'allow is the default for existing state',
  );
  await daemon.stop();
  const again = await startDaemon(env, { PCSCLITE_CSOCK_NAME: join(env.dir, 'no-pcscd.sock') });
  t.teardown(() => again.stop());
  t.equal((await stateOf(env)).cardMasterKey, key, 'kept across restarts');
  t.notOk((await allLogText(env)).includes(key ?? 'none'), 'never logged');
  await again.stop();
  const defaults = join(env.dir, 'defaults.json');
  const reprovisioned = await cli(null, ['provision', '--config', env.configPath, '--defaults', defaults, '--force']);
  t.equal(reprovisioned.code, 0, reprovisioned.stderr);
  t.equal((await stateOf(env)).cardMasterKey, key, 'provision --force keeps it: cards personalised with it stay recoverable');
  t.same((await stateOf(env)).masterCards, [], 'while every record is gone');
});
