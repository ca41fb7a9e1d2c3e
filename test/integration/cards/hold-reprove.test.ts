// Issue 22 #7: a relay of the real secure card for a moment, then an emulator with the same UID left
// on the reader (no removal in between), must not complete a hold. The attacker is a person at the
// reader, not a socket client: "another uid" does not apply here.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { cli, DEFAULTS, type Env } from '../../support/harness.js';
import { cardStation, enrollTwice, securityEvents, securityEventsOnce, status, waitFor } from '../../support/master-card.js';
import { PcscPeer, requireNtag424Peer, type VirtualCard } from '../../support/pcsc.js';

requireNtag424Peer();

const UID = '04A1B2C3D4E5F6';
const HOLD_SECONDS = 3;
const READER = PcscPeer.READERS[0];
const MFR = 'Quartz-Fjord-91-Lantern';

interface Station {
  env: Env;
  place: () => Promise<VirtualCard>;
}

/** A daemon with a private pcscd and an enrolled virtual NTAG 424 DNA; manufacturer defaults saved, then drifted. */
async function station(t: Test): Promise<Station> {
  const { env, peer } = await cardStation(t, () => ({ rfid: { holdSeconds: HOLD_SECONDS, dropoutGraceMs: 500, maxRetryMs: 500, apduTimeoutMs: 500 } }));
  const cardState = join(env.dir, 'master-card.json');
  const place = (): Promise<VirtualCard> => peer.placeNtag424({ state: cardState, uid: UID, slot: 0 });
  const set = await cli(env, ['passwd', 'manufacturer', '--stdin'], `${DEFAULTS.manufacturer}\n${MFR}\n`);
  if (set.code !== 0) throw new Error(`passwd manufacturer: ${set.stderr}`);
  const enrolled = await enrollTwice(env, { password: MFR, reader: READER, place, timeoutSeconds: 20 });
  if (enrolled.code !== 0) throw new Error(`enroll: ${enrolled.stderr}`);
  await enrolled.card?.remove();
  await waitFor(env, 'reader empty', (x) => x.rfid.readers[0]?.cardPresent === false);
  for (const args of [
    ['defaults', 'save', '--stdin'],
    ['policy', 'set', '--strong', 'off', '--stdin'],
  ]) {
    const r = await cli(env, args, `${MFR}\n`);
    if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  }
  return { env, place };
}

t.test('a hold whose card becomes an emulator mid-hold restores nothing and records a clone attempt; the real card throughout restores', async (t) => {
  const { env, place } = await station(t);
  const cardId = (await status(env)).rfid.masterCards[0]?.id;

  // The real card is placed (the relay) and the hold starts; then an emulator with the same UID answers instead.
  const relayed = await place();
  await waitFor(env, 'hold start', (x) => x.rfid.hold !== null);
  relayed.signal('SIGUSR1');
  await waitFor(env, 'hold ended', (x) => x.rfid.hold === null, (HOLD_SECONDS + 8) * 1000);
  // Past the hold's time and then some: a restore, had it come, would show by now.
  await sleep(1500);
  let st = await status(env);
  t.equal(st.policy.enforceStrong, false, 'the manufacturer defaults were not restored');
  t.same(await securityEvents(env, 'ResetOrReboot'), [], 'no ResetOrReboot event');
  t.match(await securityEvents(env, 'TamperDetectionActivated'), [{ cause: 'masterCardCloneAttempt', cardId, reader: READER }], 'a clone attempt recorded');
  t.match(await securityEvents(env, 'MasterCardHoldCancelled'), [{ cardId, reader: READER, reason: 'proofFailed' }], 'the hold ended on the failed proof');
  t.match(st.rfid.cloneAttempts, { count: 1, lastReader: READER });
  await relayed.remove();
  await waitFor(env, 'reader empty', (x) => x.rfid.readers[0]?.cardPresent === false);
  // Off for longer than the grace: the next placement is a new one, not the failed card back.
  await sleep(1000);

  // The real card held throughout: the restore completes.
  const held = await place();
  await waitFor(env, 'hold start', (x) => x.rfid.hold !== null);
  st = await waitFor(env, 'restore', (x) => x.policy.enforceStrong, (HOLD_SECONDS + 8) * 1000);
  t.equal(st.policy.enforceStrong, true, 'restored with the real card');
  // The event follows the restore's state write: wait for it (bounded) rather than race it.
  const restored = await securityEventsOnce(env, 'ResetOrReboot', (events) => events.length > 0);
  t.match(restored, [{ reason: 'ManufacturerDefaultsRestored', by: 'masterCard', cardId }]);
  t.equal((await securityEvents(env, 'TamperDetectionActivated')).length, 1, 'the real card is no clone');
  await held.remove();
});
