// The master card end to end: the real daemon, a private pcscd with a vpcd reader, and
// virtual cards (python3-virtualsmartcard) placed and removed by starting and killing them.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import * as v from 'valibot';
import { call } from '../../../agent/wire/client.js';
import { methods } from '../../../agent/wire/protocol.js';
import { GenerationStore } from '../../../agent/store/generation-store.js';
import { requireProvisioned, stateSchema } from '../../../agent/store/state.js';
import type { StatusReport } from '../../../agent/wire/status-report.js';
import { allLogText, cleanup, cli, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon, type Env } from '../../support/harness.js';
import { nonConforming, schemaErrors } from '../../support/json-schema.js';
import { enrollTwice, type EnrolRun } from '../../support/master-card.js';
import { PcscPeer } from '../../support/pcsc.js';

/** The manufacturer's password; each reset to the default is followed by a new one (history refuses reuse). */
let MFR = 'Quartz-Fjord-91-Lantern';
let passwords = 0;
const OPERATOR = 'Harbor-Violet-46-Quill';
const MASTER_UID = '04A1B2C3D4E5F6';
const OTHER_UID = '0499887766';
const HOLD_SECONDS = 3;

const status = async (env: Env): Promise<StatusReport> => (await call(env.socket, 'status', {})) as StatusReport;

async function waitFor(env: Env, what: string, test: (s: StatusReport) => boolean, timeoutMs = 10_000): Promise<StatusReport> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const s = await status(env);
    if (test(s)) return s;
    if (performance.now() > deadline) {
      const errors = (await allLogText(env)).split('\n').filter((l) => /"level":[56]0/.test(l));
      throw new Error(`timed out waiting for ${what}; last status: ${JSON.stringify(s)}; agent errors: ${errors.join('\n')}`);
    }
    await sleep(50);
  }
}

/** The probe's value once `ok` holds, or its last value after 5 s. */
async function eventually<T>(probe: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const deadline = performance.now() + 5000;
  for (;;) {
    const value = await probe();
    if (ok(value) || performance.now() > deadline) return value;
    await sleep(50);
  }
}

async function securityEvents(env: Env, name: string): Promise<Array<Record<string, unknown>>> {
  const r = (await call(env.socket, 'events', { limit: 10_000 })) as { events: Array<Record<string, unknown>> };
  return r.events.filter((e) => e.event === name);
}

async function setManufacturerPassword(env: Env): Promise<void> {
  MFR = `Quartz-Fjord-91-Lantern-${++passwords}`;
  const r = await cli(env, ['passwd', 'manufacturer', '--stdin'], `${DEFAULTS.manufacturer}\n${MFR}\n`);
  if (r.code !== 0) throw new Error(`passwd manufacturer: ${r.stderr}`);
}

/** `master-card enroll --uid-only` on the first reader, the card presented twice. */
async function enroll(env: Env, peer: PcscPeer, uid: string): Promise<EnrolRun> {
  return enrollTwice(env, { password: MFR, reader: PcscPeer.READERS[0], uidOnly: true, timeoutSeconds: 20, place: () => peer.placeCard(uid) });
}

t.test('enrol, tap, other cards, hold, early removal, a mute card, pcscd restarts', async (t) => {
  const env = await makeEnv((dir) => ({
    rfid: { holdSeconds: HOLD_SECONDS, dropoutGraceMs: 500, uidTimeoutMs: 1500, maxRetryMs: 500 },
    webUi: { styleFile: join(dir, 'WebUIStyle_web') },
    https: { certFile: join(dir, 'https', 'server.crt'), keyFile: join(dir, 'https', 'server.key') },
  }));
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const peer = await PcscPeer.start(env.dir).catch((err: Error) => {
    throw err;
  });
  t.teardown(() => peer.stop());
  await peer.killPcscd();

  // The daemon starts while pcscd is down, and picks the readers up when it comes.
  const daemon = await startDaemon(env, peer.env);
  t.teardown(() => daemon.stop());
  t.equal((await status(env)).rfid.service, 'down', 'no pcscd yet');
  await peer.startPcscd();
  let s = await waitFor(env, 'readers', (x) => x.rfid.readers.length === 2);
  t.same(
    s.rfid.readers.map((r) => [r.name, r.cardPresent]),
    PcscPeer.READERS.map((name) => [name, false]),
  );
  t.equal(s.rfid.hold, null);

  await setManufacturerPassword(env);
  const enrolled = await enroll(env, peer, MASTER_UID);
  t.equal(enrolled.code, 0, enrolled.stderr);
  const card = JSON.parse(enrolled.stdout) as { id: string; reader: string };
  t.ok(v.is(methods['masterCard.enroll'].result, card), "master-card enroll --json is the contract's result");
  t.match(card, { id: /^[0-9a-f]{8}$/, reader: PcscPeer.READERS[0], kind: 'uidOnly' });
  t.equal((await status(env)).masterCards, 1);
  s = await status(env);
  t.equal(s.roles.manufacturer.isDefault, false, 'the enrolled card did not act as a tap');
  const readers = JSON.parse((await cli(env, ['readers', '--json'])).stdout) as { readers: Array<{ name: string; cardPresent: boolean; masterCard: boolean }> };
  t.equal(await schemaErrors('readers.schema.json', readers), null, 'readers --json conforms to schemas/readers.schema.json');
  t.same(readers.readers[0], { name: PcscPeer.READERS[0], cardPresent: true, masterCard: true });
  await enrolled.card?.remove();
  await waitFor(env, 'card removed', (x) => !x.rfid.readers.some((r) => r.cardPresent));

  const again = await enroll(env, peer, MASTER_UID);
  t.equal(again.code, 1);
  t.match(again.stderr, new RegExp(`already enrolled as master card ${card.id}`), 'said at the first presentation');
  t.equal(again.card, null, 'no second presentation was asked for');
  await waitFor(env, 'card removed', (x) => !x.rfid.readers.some((r) => r.cardPresent));

  const list = await cli(env, ['master-card', 'list', '--stdin', '--json'], `${MFR}\n`);
  t.equal(
    await schemaErrors('master-cards.schema.json', JSON.parse(list.stdout)),
    null,
    'master-card list --json conforms to schemas/master-cards.schema.json',
  );
  t.same(
    (JSON.parse(list.stdout) as { masterCards: Array<{ id: string; kind: string }> }).masterCards.map((c) => [c.id, c.kind]),
    [[card.id, 'uidOnly']],
  );
  t.same((await status(env)).rfid.masterCards, [{ id: card.id, kind: 'uidOnly' }], 'status shows the kind');

  // Manufacturer defaults: PUK, the card, strong passwords; then settings drift from them.
  t.equal((await cli(env, ['puk', 'set', '--stdin'], `${MFR}\nK7#pl-Rx9!-4mQz\n`)).code, 0);
  t.equal((await cli(env, ['defaults', 'save', '--stdin'], `${MFR}\n`)).code, 0);
  t.equal((await cli(env, ['policy', 'set', '--strong', 'off', '--stdin'], `${MFR}\n`)).code, 0);
  t.equal((await cli(env, ['log-password', 'set', '--stdin'], `${MFR}\nLog-Secret-Phrase-2026\n`)).code, 0);
  t.equal((await cli(env, ['https', 'enable', '--as', 'manufacturer', '--stdin'], `${MFR}\n`)).code, 0);
  t.equal((await cli(env, ['webui', 'set', '2.0-only', '--as', 'manufacturer', '--stdin'], `${MFR}\n`)).code, 0);
  t.equal((await cli(env, ['passwd', 'operator', '--stdin'], `${DEFAULTS.operator}\n${OPERATOR}\n`)).code, 0);

  // Another card on either reader: nothing happens, and its UID is nowhere.
  const other = await peer.placeCard(OTHER_UID, { slot: 1 });
  s = await waitFor(env, 'other card', (x) => x.rfid.readers[1]?.cardPresent === true);
  t.equal(s.rfid.hold, null);
  t.equal(s.roles.operator.isDefault, false, 'a non-master card resets nothing');
  await other.remove();

  // A tap: every role back on its default; removed before the hold ends, nothing else changes.
  const tapped = await peer.placeCard(MASTER_UID);
  s = await waitFor(env, 'tap', (x) => x.roles.operator.isDefault && x.roles.manufacturer.isDefault);
  t.ok(
    Object.values(s.roles).every((r) => r.isDefault && r.mustChange),
    'all four roles reset, must change',
  );
  s = await waitFor(env, 'hold shown', (x) => x.rfid.hold !== null);
  t.ok(s.rfid.hold !== null && s.rfid.hold.remainingSeconds <= HOLD_SECONDS && s.rfid.hold.remainingSeconds > 0);
  await tapped.remove();
  await waitFor(env, 'hold cancelled', (x) => x.rfid.hold === null);
  await sleep(HOLD_SECONDS * 1000);
  s = await status(env);
  t.equal(s.policy.enforceStrong, false, 'an early removal restores nothing');
  t.equal(s.logPasswordSet, true);
  t.match(await securityEvents(env, 'MasterCardHoldCancelled'), [{ cardId: card.id, reason: 'removed' }]);
  const resets = (await securityEvents(env, 'ReconfigurationOfSecurityParameters')).filter((e) => e.change === 'passwordReset');
  t.match(resets, [{ by: 'masterCard', cardId: card.id, roles: ['manufacturer', 'installer', 'operator', 'user'] }], 'tap recorded once');

  // A hold of holdSeconds restores the manufacturer defaults.
  await setManufacturerPassword(env);
  const held = await peer.placeCard(MASTER_UID);
  await waitFor(env, 'hold start', (x) => x.rfid.hold !== null);
  s = await waitFor(env, 'restore', (x) => x.policy.enforceStrong && !x.logPasswordSet && !x.https && x.webUi === '1.0', (HOLD_SECONDS + 5) * 1000);
  t.equal(s.masterCards, 1, 'the snapshot kept the card');
  t.same(s.puk, { set: true, triesLeft: 10, blocked: false });
  t.ok(Object.values(s.roles).every((r) => r.isDefault));
  t.equal(s.rfid.hold, null);
  // The event follows the last write of the restore (status may show the restored settings a moment earlier).
  t.match(
    await eventually(
      () => securityEvents(env, 'ResetOrReboot'),
      (e) => e.length > 0,
    ),
    [{ reason: 'ManufacturerDefaultsRestored', by: 'masterCard', cardId: card.id }],
  );
  t.ok((await securityEvents(env, 'MasterCardHoldStarted')).length >= 2);
  // Still on the reader after the restore: it does not count again until removed.
  await setManufacturerPassword(env);
  await sleep(1000);
  t.equal((await status(env)).roles.manufacturer.isDefault, false, 'the card left on the reader does nothing more');
  await held.remove();
  await waitFor(env, 'card removed', (x) => !x.rfid.readers.some((r) => r.cardPresent));

  // A mute card: the read times out; the daemon stays responsive and the next tap works.
  const mute = await peer.placeCard(MASTER_UID, { mute: true });
  await waitFor(env, 'mute card seen', (x) => x.rfid.readers[0]?.cardPresent === true, 5000);
  await sleep(1700);
  t.equal((await status(env)).roles.manufacturer.isDefault, false, 'an unreadable card is not taken for a master card');
  await mute.remove();
  await waitFor(env, 'mute card removed', (x) => !x.rfid.readers.some((r) => r.cardPresent));

  // pcscd killed and restarted mid-session: recovered without a daemon restart.
  await peer.killPcscd();
  await waitFor(env, 'service down', (x) => x.rfid.service === 'down' && x.rfid.readers.length === 0);
  await peer.startPcscd();
  await waitFor(env, 'readers back', (x) => x.rfid.service === 'up' && x.rfid.readers.length === 2, 10_000);
  const afterRestart = await peer.placeCard(MASTER_UID);
  await waitFor(env, 'tap after restart', (x) => x.roles.manufacturer.isDefault);
  await afterRestart.remove();

  // Remove: the card no longer acts.
  await setManufacturerPassword(env);
  const removed = await cli(env, ['master-card', 'remove', card.id, '--stdin'], `${MFR}\n`);
  t.equal(removed.code, 0, removed.stderr);
  const unknown = await cli(env, ['master-card', 'remove', 'deadbeef', '--stdin'], `${MFR}\n`);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /no master card with id deadbeef/);
  const gone = await peer.placeCard(MASTER_UID);
  await waitFor(env, 'card seen', (x) => x.rfid.readers[0]?.cardPresent === true);
  await sleep(500);
  t.equal((await status(env)).roles.manufacturer.isDefault, false, 'a removed card is just another card');
  await gone.remove();
  const all = ((await call(env.socket, 'events', { limit: 10_000 })) as { events: unknown[] }).events;
  t.same(await nonConforming('event.schema.json', all), [], 'every master-card event conforms to schemas/event.schema.json');

  const logs = (await allLogText(env)).toLowerCase();
  t.notOk(logs.includes(OTHER_UID.toLowerCase()), 'no UID of another card in any log');
  t.notOk(logs.includes(MASTER_UID.toLowerCase()), 'not even the master card UID');
  t.notOk(daemon.output().toLowerCase().includes(OTHER_UID.toLowerCase()));
});

t.test('a restore cut off by a power loss is finished at the next start; enrolment without a reader', async (t) => {
  const env = await makeEnv((dir) => ({ webUi: { styleFile: join(dir, 'WebUIStyle_web') }, rfid: { maxRetryMs: 200 } }));
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  await writeFile(join(env.dir, 'WebUIStyle_web'), '2.0-only\n');
  await writeFile(join(env.stateDir, 'log-password'), 'Log-Secret-Phrase-2026', { mode: 0o600 });
  // The state as the restore's one write leaves it: settings restored, the files outside still to do.
  const store = new GenerationStore(env.stateDir, stateSchema);
  await store.load();
  await store.update((s) => ({
    ...structuredClone(requireProvisioned(s)),
    pendingRestore: { logPassword: null, webUi: '2.0', https: false, reason: 'masterCardHold' },
  }));

  const daemon = await startDaemon(env, { PCSCLITE_CSOCK_NAME: join(env.dir, 'no-pcscd.sock') });
  t.teardown(() => daemon.stop());
  const s = await status(env);
  t.equal(s.webUi, '2.0', 'style file restored');
  t.equal(s.logPasswordSet, false, 'log password removed');
  t.equal(await readFile(join(env.dir, 'WebUIStyle_web'), 'utf8'), '2.0\n');
  await store.load();
  t.equal(store.current?.pendingRestore, null, 'nothing left pending');
  t.equal(s.rfid.service, 'down');

  await setManufacturerPassword(env);
  const noReader = await cli(env, ['master-card', 'enroll', '--timeout', '1', '--stdin'], `${MFR}\n`);
  t.equal(noReader.code, 1);
  t.match(noReader.stderr, /no card reader is attached \(PC\/SC service not running\); nothing enrolled/);
  const named = await cli(env, ['master-card', 'enroll', '--reader', 'Nowhere\u001b[8m', '--timeout', '1', '--stdin'], `${MFR}\n`);
  t.equal(named.code, 1);
  t.match(named.stderr, /the reader named is not attached \(none is attached/);
  t.notOk(named.stderr.includes('Nowhere'), 'the reader name sent is not echoed back');
  const wrong = await cli(env, ['master-card', 'enroll', '--timeout', '1', '--stdin'], 'Not-The-Password-1\n');
  t.equal(wrong.code, 1);
  t.match(wrong.stderr, /wrong password for manufacturer/);
  const badTimeout = await cli(env, ['master-card', 'enroll', '--timeout', '0', '--stdin'], `${MFR}\n`);
  t.equal(badTimeout.code, 2);
  t.match(badTimeout.stderr, /--timeout takes a whole number from 1 to 600/);
  const readers = await cli(env, ['readers']);
  t.equal(readers.code, 0);
  t.match(readers.stdout, /PC\/SC service down: PC\/SC service not running\nno card reader attached/);
});

t.test('rfid.tapResetsRoles: a vendor setting that leaves the manufacturer out of a tap', async (t) => {
  const env = await makeEnv((dir) => ({
    rfid: { holdSeconds: 3600, tapResetsRoles: ['installer', 'operator', 'user'] },
    webUi: { styleFile: join(dir, 'WebUIStyle_web') },
  }));
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const peer = await PcscPeer.start(env.dir);
  t.teardown(() => peer.stop());
  const daemon = await startDaemon(env, peer.env);
  t.teardown(() => daemon.stop());
  await waitFor(env, 'readers', (x) => x.rfid.readers.length === 2);
  await setManufacturerPassword(env);
  t.equal((await cli(env, ['passwd', 'operator', '--stdin'], `${DEFAULTS.operator}\n${OPERATOR}\n`)).code, 0);
  const enrolled = await enroll(env, peer, MASTER_UID);
  t.equal(enrolled.code, 0, enrolled.stderr);
  await enrolled.card?.remove();
  await waitFor(env, 'card removed', (x) => !x.rfid.readers.some((r) => r.cardPresent));
  const card = await peer.placeCard(MASTER_UID, { slot: 1 });
  const s = await waitFor(env, 'tap', (x) => x.roles.operator.isDefault);
  t.equal(s.roles.manufacturer.isDefault, false, 'the manufacturer keeps its password');
  t.ok(s.roles.installer.isDefault && s.roles.user.isDefault);
  t.match(s.rfid.hold, { reader: PcscPeer.READERS[1], cardOnReader: true }, 'on the second reader too');
  t.ok((s.rfid.hold?.remainingSeconds ?? 0) > 3590);
  await card.remove();
});
