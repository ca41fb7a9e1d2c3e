// Card recovery in-process: a scripted reader watch in place of pcscd, the simulated NTAG 424 DNA
// as the card, and the real services on a temp-dir state (argon2 at test cost).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import t, { type Test } from 'tap';
import { provision } from '../../../../agent/cli/provision.js';
import { parseConfig, type Config } from '../../../../agent/common/config.js';
import { PasswordHasher } from '../../../../agent/common/hasher.js';
import { CardRecovery } from '../../../../agent/daemon/cards/card-recovery.js';
import { MasterCards } from '../../../../agent/daemon/cards/master-cards.js';
import type { OpenWatch, Watch } from '../../../../agent/daemon/cards/reader-service.js';
import { Credentials } from '../../../../agent/daemon/credentials/credentials.js';
import { LogPassword } from '../../../../agent/daemon/credentials/log-password.js';
import { StrengthService } from '../../../../agent/daemon/credentials/strength.js';
import { FactoryDefaults } from '../../../../agent/daemon/settings/factory-defaults.js';
import { WebUiStyle } from '../../../../agent/daemon/settings/web-ui-style.js';
import { openLogs } from '../../../../agent/logs/logging.js';
import type { SecurityEvent } from '../../../../agent/wire/security-event.js';
import { Authenticator } from '../../../../agent/daemon/credentials/authenticator.js';
import { Secret } from '../../../../agent/common/secret.js';
import { GenerationStore } from '../../../../agent/store/generation-store.js';
import { stateSchema, type State } from '../../../../agent/store/state.js';
import type { CardChannel, ReaderEvent } from '../../../../rfid/reader-watch.js';
import { DEFAULTS, FAST_ARGON2 } from '../../../support/harness.js';
import { SimulatedNtag424 } from '../../../support/ntag424-sim.js';

const READER = 'Scripted Reader 00';

/** A reader watch the test drives: one reader, cards placed and removed on command. */
class ScriptedReader implements Watch {
  cardPresent = false;
  constructor(private readonly emit: (event: ReaderEvent) => void) {}
  async start(): Promise<void> {
    this.emit({ type: 'serviceUp' });
    this.emit({ type: 'readerAttached', reader: READER });
  }
  stop(): void {}
  readers(): Array<{ name: string; cardPresent: boolean }> {
    return [{ name: READER, cardPresent: this.cardPresent }];
  }
  place(uid: Buffer, channel: CardChannel): void {
    this.cardPresent = true;
    this.emit({ type: 'cardPresent', reader: READER, uid, atr: Buffer.alloc(0), channel });
  }
  remove(): void {
    this.cardPresent = false;
    this.emit({ type: 'cardRemoved', reader: READER });
  }
}

const channelOf = (card: SimulatedNtag424): CardChannel => ({ transmit: card.transport });
/** A plain card: it answers nothing beyond its UID. */
const plainChannel: CardChannel = { transmit: async () => Buffer.from([0x6a, 0x82]) };

async function until(what: string, test: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function rig(t: Test, rfid: Record<string, unknown> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'ccguard-cards-'));
  const config: Config = parseConfig(
    {
      stateDir: join(dir, 'state'),
      socket: join(dir, 'sock'),
      logDir: join(dir, 'logs'),
      argon2: FAST_ARGON2,
      webUi: { styleFile: join(dir, 'style') },
      rfid: { holdSeconds: 0.6, ...rfid },
    },
    'test',
  );
  await provision(config, { defaults: { ...DEFAULTS }, force: false });
  const store = new GenerationStore<State>(config.stateDir, stateSchema);
  await store.prepare(true);
  await store.load();
  const logs = await openLogs(config.logDir, config.logs);
  const { security } = logs;
  const events: SecurityEvent[] = [];
  const unsubscribe = security.subscribe((e) => events.push(e));
  const log = pino({ level: 'silent' });
  const now = (): number => performance.now();
  const hasher = new PasswordHasher(config.argon2, 1);
  const authenticator = new Authenticator({ store, hasher, security, log, throttle: config.throttle, now });
  const credentials = new Credentials({ store, hasher, strength: new StrengthService(), security, config, authenticator });
  const logPassword = new LogPassword({ store, security, strength: new StrengthService(), device: config.device });
  await logPassword.load();
  const webUi = new WebUiStyle(config.webUi.styleFile, security, log);
  const masterCards = new MasterCards({ store, security });
  const factory = new FactoryDefaults({ store, credentials, logPassword, webUi, ensureCertificate: async () => {}, security, log });
  let reader: ScriptedReader | null = null;
  const openWatch: OpenWatch = async (_options, onEvent) => (reader = new ScriptedReader(onEvent));
  const cards = new CardRecovery({ rfid: config.rfid, store, credentials, masterCards, factory, security, log, now, openWatch });
  await cards.start();
  cards.watch();
  await cards.watching;
  t.teardown(async () => {
    await cards.stop();
    unsubscribe();
    logs.flush();
    await rm(dir, { recursive: true, force: true });
  });
  if (reader === null) throw new Error('the scripted reader was not opened');
  const named = (name: string): SecurityEvent[] => events.filter((e) => e.event === name);
  // The manufacturer as dispatch would hand it over (on its default password: enough for a test).
  const manufacturer = await authenticator.password('manufacturer', new Secret(DEFAULTS.manufacturer), true);
  return { cards, store, masterCards, reader: reader as ScriptedReader, events, named, manufacturer };
}

const signal = (): AbortSignal => new AbortController().signal;

t.test('a secure card presented twice is personalised and enrolled; a tap with it resets the passwords', async (t) => {
  const { cards, manufacturer, store, masterCards, reader, named } = await rig(t);
  t.equal(cards.status().service, 'up');
  const card = new SimulatedNtag424();
  const enrolled = cards.enroll(manufacturer, { timeoutSeconds: 10, reader: undefined, uidOnly: false }, 'test', signal());
  t.equal(cards.status().enrolmentStep, 'placeCard');
  reader.place(card.uid, channelOf(card));
  t.equal(cards.status().enrolmentStep, 'removeCard');
  reader.remove();
  t.equal(cards.status().enrolmentStep, 'placeCardAgain');
  reader.place(card.uid, channelOf(card));
  t.equal(cards.status().enrolmentStep, 'personalising');
  const listing = await enrolled;
  t.equal(listing.kind, 'ntag424');
  t.equal(masterCards.count, 1);
  t.notSame(card.keys[2], Buffer.alloc(16), 'the card holds this station’s key now');
  t.same(cards.status().enrolling, false);
  t.same(cards.readers(), [{ name: READER, cardPresent: true, masterCard: true }], 'the card taken is shown as a master card');
  t.equal(named('ReconfigurationOfSecurityParameters').filter((e) => e['change'] === 'passwordReset').length, 0, 'the enrolling placement is no tap');
  reader.remove();

  // The operator has chosen a password of their own; a tap puts it back to the default.
  await store.update((s) => {
    const next = structuredClone(s as State);
    next.roles.operator = { ...next.roles.operator, hash: next.roles.installer.hash, isDefault: false, mustChange: false };
    return next;
  });
  reader.place(card.uid, channelOf(card));
  await until('a master card tap', () => named('ReconfigurationOfSecurityParameters').some((e) => e['change'] === 'passwordReset'));
  reader.remove();
  const operator = store.current?.roles.operator;
  t.equal(operator?.isDefault, true, 'the operator is back on the default password');
  t.equal(operator?.hash, operator?.defaultHash);
  t.equal(named('TamperDetectionActivated').length, 0);
});

t.test('a card held for rfid.holdSeconds restores the manufacturer defaults', async (t) => {
  const { cards, manufacturer, reader, named } = await rig(t, { holdSeconds: 0.6 });
  const uid = Buffer.from('04a1b2c3d4e5f6', 'hex');
  const enrolled = cards.enroll(manufacturer, { timeoutSeconds: 10, reader: READER, uidOnly: true }, 'test', signal());
  reader.place(uid, plainChannel);
  reader.remove();
  reader.place(uid, plainChannel);
  t.equal((await enrolled).kind, 'uidOnly');
  reader.remove();
  reader.place(uid, plainChannel);
  await until('the hold to start', () => named('MasterCardHoldStarted').length === 1);
  t.ok(cards.status().hold, 'status shows the hold running');
  await until('the hold to complete', () => named('ResetOrReboot').length === 1);
  t.match(named('ResetOrReboot')[0], { reason: 'ManufacturerDefaultsRestored', by: 'masterCard' });
  reader.remove();
});

t.test('another card presented the second time: nothing enrolled, and the reader is free again', async (t) => {
  const { cards, manufacturer, masterCards, reader } = await rig(t);
  const enrolled = cards.enroll(manufacturer, { timeoutSeconds: 10, reader: undefined, uidOnly: true }, 'test', signal());
  reader.place(Buffer.from('04000000000001', 'hex'), plainChannel);
  reader.remove();
  reader.place(Buffer.from('04000000000002', 'hex'), plainChannel);
  await t.rejects(enrolled, { message: /another card was presented the second time/ });
  t.equal(masterCards.count, 0);
  t.equal(cards.status().enrolmentStep, null);
});

t.test('the enrolment window ends: refused with what was missing', async (t) => {
  const { cards, manufacturer, reader } = await rig(t);
  const enrolled = cards.enroll(manufacturer, { timeoutSeconds: 0.2, reader: undefined, uidOnly: true }, 'test', signal());
  reader.place(Buffer.from('04000000000003', 'hex'), plainChannel);
  await t.rejects(enrolled, { message: `the card was not presented a second time within 0.2 s on ${READER}; nothing enrolled` });
  await t.rejects(cards.enroll(manufacturer, { timeoutSeconds: 0.1, reader: 'Elsewhere', uidOnly: true }, 'test', signal()), {
    message: /the reader named is not attached/,
  });
});

t.test('a second enrolment is refused while one waits; the client leaving ends it', async (t) => {
  const { cards, manufacturer } = await rig(t);
  const client = new AbortController();
  const first = cards.enroll(manufacturer, { timeoutSeconds: 10, reader: undefined, uidOnly: true }, 'test', client.signal);
  await t.rejects(cards.enroll(manufacturer, { timeoutSeconds: 10, reader: undefined, uidOnly: true }, 'test', signal()), {
    message: /another enrolment is already waiting/,
  });
  client.abort();
  await t.rejects(first, { message: 'the client went away; nothing enrolled' });
  t.equal(cards.status().enrolling, false);
});

t.test('a copy of a secure card’s UID that cannot prove the key is a clone attempt, not a tap', async (t) => {
  const { cards, manufacturer, reader, named } = await rig(t);
  const genuine = new SimulatedNtag424();
  const enrolled = cards.enroll(manufacturer, { timeoutSeconds: 10, reader: undefined, uidOnly: false }, 'test', signal());
  reader.place(genuine.uid, channelOf(genuine));
  reader.remove();
  reader.place(genuine.uid, channelOf(genuine));
  await enrolled;
  reader.remove();
  const copy = new SimulatedNtag424(genuine.uid);
  reader.place(copy.uid, channelOf(copy));
  await until('the clone attempt', () => named('TamperDetectionActivated').length === 1);
  t.match(named('TamperDetectionActivated')[0], { cause: 'masterCardCloneAttempt', reader: READER });
  t.equal(cards.status().cloneAttempts?.count, 1);
  t.same(cards.readers(), [{ name: READER, cardPresent: true, masterCard: false }]);
  t.equal(named('ReconfigurationOfSecurityParameters').filter((e) => e['change'] === 'passwordReset').length, 0);
  reader.remove();
});
