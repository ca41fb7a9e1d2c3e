import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { holdView, IDLE, step, type CardInput, type HoldDecision, type HoldRules, type HoldState } from '../../../policy/master-card-hold.js';
import type { ReaderEvent, ReaderWatch } from '../../../rfid/reader-watch.js';
import { CcguardError } from '../../common/errors.js';
import type { Config } from '../../common/config.js';
import type { Credentials } from '../credentials/credentials.js';
import { RefusedError, StateError } from '../../common/errors.js';
import type { FactoryDefaults } from '../settings/factory-defaults.js';
import type { GenerationStore } from '../../store/generation-store.js';
import type { SecurityLog } from '../../logs/logging.js';
import type { MasterCards } from './master-cards.js';
import { cardKeys, failureKind, moveKeys, probeCard, verifySecureCard, ForeignCardError, NotSecureCardError, KEY_VERSION } from './secure-card.js';
import type { CardChannel } from '../../../rfid/reader-watch.js';
import type { State } from '../../store/state.js';
import type { MasterCardListing } from '../../wire/results.js';
import type { ReaderStatus, RfidStatus } from '../../wire/status-report.js';
import type { Actor } from '../credentials/authenticator.js';

const PROGRESS_EVERY_MS = 10_000;
/** Clone attempts kept in memory for `audit` (the security log keeps every one). */
const MAX_CLONE_ATTEMPTS = 100;
const RECENT_CLONE_MS = 24 * 3600 * 1000;
/**
 * A genuine card swiped off mid-authentication looks like a card that stopped answering; pcscd
 * reports the removal within about half a second. A failure of that kind counts as a clone attempt
 * only if the card is still there after this long.
 */
const PULL_SETTLE_MS = 1000;
const PULL_LIKE = new Set(['truncatedAnswer', 'timeout', 'unexpected']);

export interface CardRecoveryDeps {
  rfid: Config['rfid'];
  store: GenerationStore<State>;
  credentials: Credentials;
  masterCards: MasterCards;
  factory: FactoryDefaults;
  security: SecurityLog;
  log: Logger;
  /** Monotonic milliseconds: every duration of the hold is measured on it. */
  now: () => number;
}

interface Enrolment {
  reader: string;
  uidOnly: boolean;
  origin: string;
  /** The UID of the first presentation; null until then. */
  first: Buffer | null;
  /** The first presentation's card has left the reader: the next placement is the second. */
  removed: boolean;
  /** The card's keys are being changed: the timeout waits for the end. */
  busy: boolean;
  expired: boolean;
  resolve: (listing: MasterCardListing) => void;
  reject: (err: Error) => void;
}

function enrolmentStep(e: Enrolment | null): RfidStatus['enrolmentStep'] {
  if (e === null) return null;
  if (e.busy) return 'personalising';
  if (e.first === null) return 'placeCard';
  return e.removed ? 'placeCardAgain' : 'removeCard';
}

type Presented = { uid: Buffer; reader: string; channel: CardChannel };

/**
 * The master card on the station's readers: recognises master cards (a secure card by AES
 * authentication), feeds reader events and monotonic time to the tap/hold rules and carries out
 * their decisions (password reset, manufacturer defaults), one at a time. Also runs enrolments
 * and finishes or undoes a secure card's enrolment that was cut off.
 */
export class CardRecovery {
  readonly #rules: HoldRules;
  #watch: ReaderWatch | null = null;
  #service: RfidStatus['service'] = 'down';
  #serviceError: string | null = null;
  #enableCommand: string | null = null;
  #hold: HoldState = IDLE;
  #timer: NodeJS.Timeout | null = null;
  #actions: Promise<void> = Promise.resolve();
  /** Per reader, what the card on it is: a master card id, null for another card. */
  readonly #cards = new Map<string, string | null>();
  /** Per reader, counts placements: a recognition that ends after its card left is dropped. */
  readonly #placements = new Map<string, number>();
  #enrolment: Enrolment | null = null;
  readonly #cloneAttempts: Array<{ at: string; mono: number; reader: string }> = [];

  constructor(private readonly deps: CardRecoveryDeps) {
    this.#rules = { holdMs: deps.rfid.holdSeconds * 1000, dropoutGraceMs: deps.rfid.dropoutGraceMs, progressEveryMs: PROGRESS_EVERY_MS };
  }

  async start(): Promise<void> {
    await this.deps.masterCards.ensureCardMasterKey();
    const pending = this.deps.masterCards.pending;
    if (pending) {
      this.deps.log.warn(pending, 'a secure master card enrolment was cut off; it is finished or undone when that card is presented again');
    }
    if (!this.deps.rfid.enabled) {
      this.#service = 'off';
      return;
    }
    let readerWatch: typeof import('../../../rfid/reader-watch.js') | null = null;
    try {
      readerWatch = await import('../../../rfid/reader-watch.js');
      const watch = new readerWatch.ReaderWatch(
        { uidTimeoutMs: this.deps.rfid.uidTimeoutMs, apduTimeoutMs: this.deps.rfid.apduTimeoutMs, firstRetryMs: 250, maxRetryMs: this.deps.rfid.maxRetryMs },
        (event) => this.#onReaderEvent(event),
      );
      await watch.start();
      this.#watch = watch;
    } catch (err) {
      this.#service = 'unavailable';
      const unavailable = readerWatch !== null && err instanceof readerWatch.PcscUnavailableError ? err : null;
      this.#serviceError = unavailable?.reason ?? (err as Error).message;
      this.#enableCommand = unavailable?.enableCommand ?? null;
      this.deps.log.error({ err: this.#serviceError, enableCommand: this.#enableCommand }, 'the PC/SC library cannot be loaded: no master card recovery');
    }
  }

  /** Stops watching; waits for an action in progress (a restore is not cut in half). */
  async stop(): Promise<void> {
    this.#watch?.stop();
    if (this.#timer) clearTimeout(this.#timer);
    this.#enrolment?.reject(new StateError('the daemon is stopping'));
    await this.#actions;
  }

  status(): RfidStatus {
    const view = holdView(this.#hold, this.deps.now(), this.#rules);
    const records = this.deps.store.current?.masterCards ?? [];
    return {
      service: this.#service,
      serviceError: this.#serviceError,
      enableCommand: this.#enableCommand,
      readers: this.readers(),
      hold: view,
      enrolling: this.#enrolment !== null,
      enrolmentStep: enrolmentStep(this.#enrolment),
      masterCards: records.map(({ id, kind }) => ({ id, kind })),
      pendingEnrolment: this.deps.masterCards.pending,
      cloneAttempts: this.#recentCloneAttempts(),
    };
  }

  readers(): ReaderStatus[] {
    return (this.#watch?.readers() ?? []).map((r) => ({ ...r, masterCard: r.cardPresent && (this.#cards.get(r.name) ?? null) !== null }));
  }

  /**
   * Authenticates the manufacturer, then waits for a card presented twice on `reader` (placed,
   * removed, placed again: a card tapped by chance does not become a master card) and enrols it:
   * a secure card is personalised with this station's keys, `uidOnly` records a plain card's UID.
   * A card already lying there does not count; the card taken is not acted on as a tap.
   */
  async enroll(
    _actor: Actor<'manufacturer'>,
    options: { timeoutSeconds: number; reader: string | undefined; uidOnly: boolean },
    origin: string,
    signal: AbortSignal,
  ): Promise<MasterCardListing> {
    if (this.#enrolment) throw new RefusedError('another enrolment is already waiting for a card; finish or cancel it first');
    if (this.#service === 'off' || this.#service === 'unavailable') {
      throw new RefusedError(`no card reader can be used (rfid service ${this.#service}${this.#serviceError ? `: ${this.#serviceError}` : ''})`);
    }
    const reader = this.#enrolmentReader(options.reader);
    const { timeoutSeconds } = options;
    return new Promise<MasterCardListing>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', aborted);
        this.#enrolment = null;
      };
      const timer = setTimeout(() => {
        const enrolment = this.#enrolment;
        if (enrolment?.busy) {
          enrolment.expired = true;
          return;
        }
        const what = enrolment?.first ? 'the card was not presented a second time' : 'no card was placed';
        enrolment?.reject(new RefusedError(`${what} within ${timeoutSeconds} s on ${reader}; nothing enrolled`));
      }, timeoutSeconds * 1000);
      const aborted = (): void => {
        const enrolment = this.#enrolment;
        // The card's keys are being changed: finish, so that the record is written; then end.
        if (enrolment?.busy) enrolment.expired = true;
        else enrolment?.reject(new StateError('the client went away; nothing enrolled'));
      };
      signal.addEventListener('abort', aborted);
      this.#enrolment = {
        reader,
        uidOnly: options.uidOnly,
        origin,
        first: null,
        removed: false,
        busy: false,
        expired: false,
        resolve: (listing) => {
          done();
          resolve(listing);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      };
    });
  }

  /** The reader named, or the only one attached. */
  #enrolmentReader(requested: string | undefined): string {
    const attached = this.readers().map((r) => r.name);
    const list = attached.length > 0 ? `attached: ${attached.map((n) => `"${n}"`).join(', ')}` : `none is attached${this.#serviceError ? ` (${this.#serviceError})` : ''}`;
    if (requested === undefined) {
      if (attached.length === 1) return attached[0] as string;
      throw new RefusedError(
        attached.length === 0 ? `no card reader is attached${this.#serviceError ? ` (${this.#serviceError})` : ''}; nothing enrolled` : `name the reader to enrol on with --reader (${list})`,
      );
    }
    // The requested name is not echoed back: only the names the daemon knows.
    if (!attached.includes(requested)) throw new RefusedError(`the reader named is not attached (${list}); nothing enrolled`);
    return requested;
  }

  /** A card placed on the enrolment's reader: the first presentation, or the second (enrol it). */
  #enrolmentPlacement(enrolment: Enrolment, card: Presented): void {
    if (enrolment.busy) return;
    if (enrolment.first === null) {
      try {
        this.deps.masterCards.refuseKnown(card.uid);
      } catch (err) {
        enrolment.reject(err as Error);
        return;
      }
      enrolment.first = card.uid;
      this.deps.log.info({ reader: card.reader }, 'enrolment: card presented once; it is to be removed and presented again');
      return;
    }
    if (!enrolment.removed) return;
    if (!enrolment.first.equals(card.uid)) {
      enrolment.reject(new RefusedError('another card was presented the second time than the first; nothing enrolled (present the same card twice)'));
      return;
    }
    enrolment.busy = true;
    enrolment.removed = false;
    void this.#enrolCard(enrolment, card).then(
      (listing) => {
        this.#cards.set(card.reader, listing.id);
        enrolment.resolve(listing);
      },
      (err: unknown) => {
        enrolment.busy = false;
        const pulled = !(err instanceof ForeignCardError || err instanceof NotSecureCardError || err instanceof RefusedError || err instanceof StateError);
        if (pulled && !enrolment.expired) {
          // Pulled mid-exchange: the enrolment waits for the same card again, and finishes it then.
          this.deps.log.warn({ reader: card.reader, detail: failureKind(err) }, 'enrolment: the card left or stopped answering; present it again');
          return;
        }
        enrolment.reject(err instanceof CcguardError ? err : new RefusedError(`the card could not be enrolled (${failureKind(err)}); present it again`));
      },
    );
  }

  async #enrolCard(enrolment: Enrolment, card: Presented): Promise<MasterCardListing> {
    const { masterCards } = this.deps;
    if (enrolment.uidOnly) return masterCards.enroll(card.uid, card.reader, { kind: 'uidOnly' }, enrolment.origin);
    const master = masterCards.cardMasterKey();
    if (master === null) throw new StateError('no card master key in the state; restart the daemon');
    const resumed = masterCards.isPending(card.uid);
    const other = masterCards.pending;
    if (!resumed && other !== null) {
      throw new RefusedError(
        `the enrolment of another card on ${other.reader} (${other.startedAt}) was cut off: present that card on any reader first, so that it is finished or undone; nothing enrolled`,
      );
    }
    const keys = cardKeys(master, card.uid);
    try {
      const held = await probeCard(card.channel, keys);
      await moveKeys(card.channel, card.uid, keys, held, 'ours', () => masterCards.setPending(card.uid, card.reader));
      const listing = await masterCards.enroll(card.uid, card.reader, { kind: 'ntag424', authKey: keys.auth, keyVersion: KEY_VERSION }, enrolment.origin);
      if (resumed) this.deps.security.record('ReconfigurationOfSecurityParameters', { change: 'masterCardEnrolmentFinished', cardId: listing.id, reader: card.reader });
      return listing;
    } finally {
      keys.master.fill(0);
      keys.auth.fill(0);
      master.fill(0);
    }
  }

  /** A card whose enrolment was cut off, presented outside an enrolment: its keys go back to factory values. */
  async #undoPending(card: Presented): Promise<void> {
    const master = this.deps.masterCards.cardMasterKey();
    if (master === null) return;
    const keys = cardKeys(master, card.uid);
    try {
      const held = await probeCard(card.channel, keys);
      await moveKeys(card.channel, card.uid, keys, held, 'factory', async () => {});
      await this.deps.masterCards.clearPending();
      this.deps.security.record('ReconfigurationOfSecurityParameters', { change: 'masterCardEnrolmentUndone', reader: card.reader, by: 'masterCardRecovery' });
    } catch (err) {
      this.deps.log.warn({ reader: card.reader, detail: failureKind(err) }, 'a card whose enrolment was cut off could not be put back to factory keys; present it again');
    } finally {
      keys.master.fill(0);
      keys.auth.fill(0);
      master.fill(0);
    }
  }

  /** What an ordinary placement is for the hold rules: a master card (and whether its hold counts), or none. */
  async #recognise(card: Presented, placement: number): Promise<{ cardId: string | null; mayHold: boolean }> {
    const none = { cardId: null, mayHold: false };
    const known = this.deps.masterCards.identify(card.uid);
    if (known === null) {
      if (this.deps.masterCards.isPending(card.uid)) await this.#undoPending(card);
      return none;
    }
    if (known.kind === 'uidOnly') {
      const rule = this.deps.rfid.uidOnlyMasterCards;
      if (rule === 'refuse') {
        this.deps.log.warn({ reader: card.reader, cardId: known.id }, 'a UID-only master card was presented; rfid.uidOnlyMasterCards is "refuse": ignored');
        return none;
      }
      return { cardId: known.id, mayHold: rule === 'allow' };
    }
    try {
      await verifySecureCard(card.channel, known.authKey, card.uid);
      // Recorded, yet still marked pending (its record was written by another path): the record wins.
      if (this.deps.masterCards.isPending(card.uid)) await this.deps.masterCards.clearPending();
      return { cardId: known.id, mayHold: true };
    } catch (err) {
      const detail = failureKind(err);
      // A card pulled during the exchange is no attempt; anything else is a card that could not prove the key.
      const pulled = detail === 'cardRemoved' || (PULL_LIKE.has(detail) && (await this.#leaves(card.reader, placement, PULL_SETTLE_MS)));
      if (!pulled) this.#cloneAttempt(known.id, card.reader, detail);
      return none;
    } finally {
      known.authKey.fill(0);
    }
  }

  /** Whether the placement ends (the card is reported removed) within `ms`. */
  async #leaves(reader: string, placement: number, ms: number): Promise<boolean> {
    const deadline = this.deps.now() + ms;
    while (this.#placements.get(reader) === placement && this.deps.now() < deadline) await sleep(50);
    return this.#placements.get(reader) !== placement;
  }

  #cloneAttempt(cardId: string, reader: string, detail: string): void {
    this.#cloneAttempts.push({ at: new Date().toISOString(), mono: this.deps.now(), reader });
    if (this.#cloneAttempts.length > MAX_CLONE_ATTEMPTS) this.#cloneAttempts.shift();
    this.deps.security.record('TamperDetectionActivated', { cause: 'masterCardCloneAttempt', cardId, reader, detail });
  }

  #recentCloneAttempts(): RfidStatus['cloneAttempts'] {
    const since = this.deps.now() - RECENT_CLONE_MS;
    const recent = this.#cloneAttempts.filter((a) => a.mono >= since);
    const last = recent.at(-1);
    return last ? { count: recent.length, lastReader: last.reader, lastAt: last.at } : null;
  }

  #onReaderEvent(event: ReaderEvent): void {
    const at = this.deps.now();
    switch (event.type) {
      case 'serviceUp':
        this.#service = 'up';
        this.#serviceError = null;
        this.deps.log.info('pcscd reachable: watching the card readers');
        return;
      case 'serviceDown':
        this.#service = 'down';
        this.#serviceError = event.reason;
        this.deps.log.warn({ reason: event.reason, retryInMs: event.retryInMs }, 'pcscd not reachable; every card counts as removed; retrying with backoff');
        return;
      case 'readerAttached':
      case 'readerDetached':
        this.deps.log.info({ reader: event.reader }, event.type === 'readerAttached' ? 'card reader attached' : 'card reader detached');
        return;
      case 'cardUnreadable': {
        this.#nextPlacement(event.reader);
        const enrolment = this.#enrolment;
        if (enrolment && enrolment.reader === event.reader && !enrolment.busy) {
          enrolment.reject(new RefusedError(`the card on ${event.reader} could not be read (${event.reason}); nothing enrolled`));
          return;
        }
        this.deps.log.warn({ reader: event.reader, reason: event.reason }, 'a card was placed but its UID could not be read');
        this.#cards.set(event.reader, null);
        this.#feed({ type: 'present', reader: event.reader, cardId: null, at });
        return;
      }
      case 'cardPresent': {
        const placement = this.#nextPlacement(event.reader);
        const card = { uid: event.uid, reader: event.reader, channel: event.channel };
        const enrolment = this.#enrolment;
        if (enrolment && enrolment.reader === event.reader) {
          this.#cards.set(event.reader, null);
          this.#enrolmentPlacement(enrolment, card);
          return;
        }
        // Only a master card is named; other cards belong to the charging logic and are not logged.
        void this.#recognise(card, placement).then(({ cardId, mayHold }) => {
          if (this.#placements.get(event.reader) !== placement) return;
          this.#cards.set(event.reader, cardId);
          this.#feed({ type: 'present', reader: event.reader, cardId, mayHold, at: this.deps.now() });
        });
        return;
      }
      case 'cardRemoved': {
        this.#nextPlacement(event.reader);
        const enrolment = this.#enrolment;
        if (enrolment && enrolment.reader === event.reader && enrolment.first !== null) enrolment.removed = true;
        this.#cards.delete(event.reader);
        this.#feed({ type: 'removed', reader: event.reader, at });
        return;
      }
    }
  }

  #nextPlacement(reader: string): number {
    const next = (this.#placements.get(reader) ?? 0) + 1;
    this.#placements.set(reader, next);
    return next;
  }

  #feed(input: CardInput): void {
    const result = step(this.#hold, input, this.#rules);
    this.#hold = result.state;
    for (const decision of result.decisions) {
      this.#actions = this.#actions.then(() => this.#perform(decision)).catch((err: unknown) => {
        this.deps.log.error({ err, decision: decision.type }, 'master card action failed');
      });
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (result.nextDeadline !== null) {
      const wait = Math.max(0, result.nextDeadline - this.deps.now());
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#feed({ type: 'tick', at: this.deps.now() });
      }, wait);
    }
  }

  async #perform(decision: HoldDecision): Promise<void> {
    const { security } = this.deps;
    const card = { cardId: decision.cardId, reader: decision.reader };
    switch (decision.type) {
      case 'tap': {
        const roles = this.deps.rfid.tapResetsRoles;
        await this.deps.credentials.resetToDefaults(roles);
        security.record('ReconfigurationOfSecurityParameters', { change: 'passwordReset', roles, by: 'masterCard', ...card });
        return;
      }
      case 'holdStarted':
        security.record('MasterCardHoldStarted', { ...card, holdSeconds: decision.holdSeconds });
        return;
      case 'holdProgress':
        security.record('MasterCardHoldProgress', { ...card, elapsedSeconds: decision.elapsedSeconds, remainingSeconds: decision.remainingSeconds });
        return;
      case 'holdCancelled':
        security.record('MasterCardHoldCancelled', { ...card, reason: decision.reason, elapsedSeconds: decision.elapsedSeconds });
        return;
      case 'holdCompleted':
        await this.deps.factory.restore('masterCardHold');
        security.record('ResetOrReboot', { reason: 'ManufacturerDefaultsRestored', by: 'masterCard', ...card });
        return;
    }
  }
}
