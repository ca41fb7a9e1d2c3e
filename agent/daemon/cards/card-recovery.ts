import type { Logger } from 'pino';
import { holdView, IDLE, step, type CardInput, type HoldDecision, type HoldRules, type HoldState } from '../../../policy/master-card-hold.js';
import type { ReaderEvent, ReaderWatch } from '../../../rfid/reader-watch.js';
import type { Config } from '../../common/config.js';
import type { Credentials } from '../credentials/credentials.js';
import { RefusedError, StateError } from '../../common/errors.js';
import type { FactoryDefaults } from '../settings/factory-defaults.js';
import type { GenerationStore } from '../../store/generation-store.js';
import type { SecurityLog } from '../../logs/logging.js';
import type { MasterCards } from './master-cards.js';
import type { Secret } from '../../common/secret.js';
import type { State } from '../../store/state.js';
import type { MasterCardListing } from '../../wire/results.js';
import type { ReaderStatus, RfidStatus } from '../../wire/status-report.js';

const PROGRESS_EVERY_MS = 10_000;

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
  resolve: (card: { uid: Buffer; reader: string }) => void;
  reject: (err: Error) => void;
}

/**
 * The master card on the station's readers: feeds reader events and monotonic time to the
 * tap/hold rules and carries out their decisions (password reset, manufacturer defaults), one
 * at a time. Also hands the next placed card to an enrolment.
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
  #enrolment: Enrolment | null = null;

  constructor(private readonly deps: CardRecoveryDeps) {
    this.#rules = { holdMs: deps.rfid.holdSeconds * 1000, dropoutGraceMs: deps.rfid.dropoutGraceMs, progressEveryMs: PROGRESS_EVERY_MS };
  }

  async start(): Promise<void> {
    if (!this.deps.rfid.enabled) {
      this.#service = 'off';
      return;
    }
    let readerWatch: typeof import('../../../rfid/reader-watch.js') | null = null;
    try {
      readerWatch = await import('../../../rfid/reader-watch.js');
      const watch = new readerWatch.ReaderWatch(
        { uidTimeoutMs: this.deps.rfid.uidTimeoutMs, firstRetryMs: 250, maxRetryMs: this.deps.rfid.maxRetryMs },
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
    return { service: this.#service, serviceError: this.#serviceError, enableCommand: this.#enableCommand, readers: this.readers(), hold: view, enrolling: this.#enrolment !== null };
  }

  readers(): ReaderStatus[] {
    return (this.#watch?.readers() ?? []).map((r) => ({ ...r, masterCard: r.cardPresent && (this.#cards.get(r.name) ?? null) !== null }));
  }

  /**
   * Authenticates the manufacturer, then takes the next card placed on any reader (not a card
   * already lying there) and enrols it. The card taken is not acted on as a tap.
   */
  async enroll(manufacturerPassword: Secret, timeoutSeconds: number, origin: string, signal: AbortSignal): Promise<MasterCardListing> {
    await this.deps.credentials.login('manufacturer', manufacturerPassword, origin);
    if (this.#enrolment) throw new RefusedError('another enrolment is already waiting for a card; finish or cancel it first');
    if (this.#service === 'off' || this.#service === 'unavailable') {
      throw new RefusedError(`no card reader can be used (rfid service ${this.#service}${this.#serviceError ? `: ${this.#serviceError}` : ''})`);
    }
    const card = await new Promise<{ uid: Buffer; reader: string }>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', aborted);
        this.#enrolment = null;
      };
      const timer = setTimeout(() => {
        done();
        const readers = this.readers().map((r) => r.name);
        const where = readers.length > 0 ? `readers: ${readers.join(', ')}` : `no reader is attached${this.#serviceError ? ` (${this.#serviceError})` : ''}`;
        reject(new RefusedError(`no card was placed within ${timeoutSeconds} s (${where}); nothing enrolled`));
      }, timeoutSeconds * 1000);
      const aborted = (): void => {
        done();
        reject(new StateError('the client went away; nothing enrolled'));
      };
      signal.addEventListener('abort', aborted);
      this.#enrolment = {
        resolve: (c) => {
          done();
          resolve(c);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      };
    });
    const listing = await this.deps.masterCards.enroll(card.uid, card.reader, origin);
    this.#cards.set(card.reader, listing.id);
    return listing;
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
      case 'cardUnreadable':
        if (this.#enrolment) {
          this.#enrolment.reject(new RefusedError(`the card on ${event.reader} could not be read (${event.reason}); nothing enrolled`));
          return;
        }
        this.deps.log.warn({ reader: event.reader, reason: event.reason }, 'a card was placed but its UID could not be read');
        this.#cards.set(event.reader, null);
        this.#feed({ type: 'present', reader: event.reader, cardId: null, at });
        return;
      case 'cardPresent': {
        if (this.#enrolment) {
          this.#enrolment.resolve({ uid: event.uid, reader: event.reader });
          return;
        }
        // Only a master card is named; other cards belong to the charging logic and are not logged.
        const cardId = this.deps.masterCards.identify(event.uid);
        this.#cards.set(event.reader, cardId);
        this.#feed({ type: 'present', reader: event.reader, cardId, at });
        return;
      }
      case 'cardRemoved':
        this.#cards.delete(event.reader);
        this.#feed({ type: 'removed', reader: event.reader, at });
        return;
    }
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
