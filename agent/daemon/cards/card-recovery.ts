import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Config } from '../../common/config.js';
import { RefusedError } from '../../common/errors.js';
import type { Actor } from '../credentials/authenticator.js';
import type { SecurityLog } from '../../logs/logging.js';
import type { GenerationStore } from '../../store/generation-store.js';
import type { State } from '../../store/state.js';
import type { MasterCardListing } from '../../wire/results.js';
import type { ReaderStatus, RfidStatus } from '../../wire/status-report.js';
import type { Credentials } from '../credentials/credentials.js';
import type { FactoryDefaults } from '../settings/factory-defaults.js';
import { CardHold } from './card-hold.js';
import { CardValidator, type PresentedCard } from './card-validator.js';
import { MasterCardEnrolment, type EnrolmentOptions } from './master-card-enrolment.js';
import type { MasterCards } from './master-cards.js';
import { ReaderService, type CardEvent, type OpenWatch } from './reader-service.js';

const PROGRESS_EVERY_MS = 10_000;

export interface CardRecoveryDeps {
  rfid: Config['rfid'];
  store: GenerationStore<State>;
  credentials: Credentials;
  masterCards: MasterCards;
  factory: FactoryDefaults;
  security: SecurityLog;
  log: Logger;
  /** Monotonic milliseconds: every duration of the hold and of an enrolment is measured on it. */
  now: () => number;
  /** The readers' watch; pcscd's through rfid/reader-watch.ts unless given (tests script one). */
  openWatch?: OpenWatch;
}

/**
 * The master card on the station's readers, composed the way EVerest's Auth module is: the reader
 * service (PC/SC) provides cards, the validator tells master cards from others, the tap/hold
 * rules decide and their effects are carried out; enrolments take the cards of their reader.
 */
export class CardRecovery {
  readonly #readers: ReaderService;
  readonly #validator: CardValidator;
  readonly #hold: CardHold;
  readonly #enrolment: MasterCardEnrolment;
  /** Per reader, what the card on it is: a master card id, null for another card. */
  readonly #cards = new Map<string, string | null>();
  /** Per reader, counts placements: a recognition that ends after its card left is dropped. */
  readonly #placements = new Map<string, number>();
  /** Per reader, the master card recognised on the current placement, for the hold's re-proofs. */
  readonly #recognised = new Map<string, { card: PresentedCard; placement: number }>();
  #watching: Promise<void> = Promise.resolve();
  #watchStarting = false;

  constructor(private readonly deps: CardRecoveryDeps) {
    const { rfid, masterCards, security, log, now } = deps;
    this.#readers = new ReaderService({ rfid, log, ...(deps.openWatch ? { openWatch: deps.openWatch } : {}) });
    this.#validator = new CardValidator({ rfid, masterCards, security, log, now });
    this.#hold = new CardHold(
      { holdMs: rfid.holdSeconds * 1000, dropoutGraceMs: rfid.dropoutGraceMs, progressEveryMs: PROGRESS_EVERY_MS },
      { rfid, credentials: deps.credentials, factory: deps.factory, security, log, now, reprove: (reader, cardId) => this.#reprove(reader, cardId) },
    );
    this.#enrolment = new MasterCardEnrolment({ masterCards, security, log, now, enrolled: (reader, cardId) => this.#cards.set(reader, cardId) });
  }

  async start(): Promise<void> {
    await this.deps.masterCards.ensureCardMasterKey();
    const pending = this.deps.masterCards.pending;
    if (pending) {
      this.deps.log.warn(pending, 'a secure master card enrolment was cut off; it is finished or undone when that card is presented again');
    }
  }

  /**
   * Starts watching the readers. The daemon calls it once it serves: loading the PC/SC binding
   * costs its start ~5 ms, and a card is seen only once pcscd answers anyway. What reports the
   * readers' state waits for it (`watching`), so nobody sees a state from before the binding loaded.
   */
  watch(): void {
    this.#watchStarting = true;
    this.#watching = this.#readers
      .start((event) => this.#onCard(event))
      .finally(() => {
        this.#watchStarting = false;
      });
  }

  /** Settles once the watch has started (or found the PC/SC library missing). */
  get watching(): Promise<void> {
    return this.#watching;
  }

  /** Stops watching; waits for an action in progress (a restore is not cut in half). */
  async stop(): Promise<void> {
    await this.#watching;
    this.#readers.stop();
    this.#enrolment.stop();
    await this.#hold.stop();
  }

  status(): RfidStatus {
    const records = this.deps.store.current?.masterCards ?? [];
    return {
      ...this.#readers.status(),
      readers: this.readers(),
      hold: this.#hold.view(),
      enrolling: this.#enrolment.running,
      enrolmentStep: this.#enrolment.step(),
      masterCards: records.map(({ id, kind }) => ({ id, kind })),
      pendingEnrolment: this.deps.masterCards.pending,
      cloneAttempts: this.#validator.recentCloneAttempts(),
    };
  }

  readers(): ReaderStatus[] {
    return this.#readers.readers().map((r) => ({ ...r, masterCard: r.cardPresent && (this.#cards.get(r.name) ?? null) !== null }));
  }

  /**
   * For the manufacturer (authenticated at dispatch): waits for a card presented twice on `reader`
   * (placed, removed, placed again: a card tapped by chance does not become a master card) and
   * enrols it: a secure card is personalised with this station's keys, `uidOnly` records a plain
   * card's UID. A card already lying there does not count; the card taken is not acted on as a tap.
   */
  async enroll(
    _manufacturer: Actor<'manufacturer'>,
    options: EnrolmentOptions & { reader: string | undefined },
    origin: string,
    signal: AbortSignal,
  ): Promise<MasterCardListing> {
    // Only while the watch starts: once it runs, the enrolment listens from the request on.
    if (this.#watchStarting) await this.#watching;
    this.#enrolment.refuseIfRunning();
    const service = this.#readers.status();
    if (!this.#readers.usable()) {
      throw new RefusedError(`no card reader can be used (rfid service ${service.service}${service.serviceError ? `: ${service.serviceError}` : ''})`);
    }
    const reader = this.#enrolmentReader(options.reader);
    return this.#enrolment.run(reader, { timeoutSeconds: options.timeoutSeconds, uidOnly: options.uidOnly }, origin, signal);
  }

  /** The reader named, or the only one attached. */
  #enrolmentReader(requested: string | undefined): string {
    const { serviceError } = this.#readers.status();
    const attached = this.readers().map((r) => r.name);
    const list = attached.length > 0 ? `attached: ${attached.map((n) => `"${n}"`).join(', ')}` : `none is attached${serviceError ? ` (${serviceError})` : ''}`;
    if (requested === undefined) {
      if (attached.length === 1) return attached[0] as string;
      throw new RefusedError(
        attached.length === 0
          ? `no card reader is attached${serviceError ? ` (${serviceError})` : ''}; nothing enrolled`
          : `name the reader to enrol on with --reader (${list})`,
      );
    }
    // The requested name is not echoed back: only the names the daemon knows.
    if (!attached.includes(requested)) throw new RefusedError(`the reader named is not attached (${list}); nothing enrolled`);
    return requested;
  }

  #onCard(event: CardEvent): void {
    const at = this.deps.now();
    switch (event.type) {
      case 'cardUnreadable': {
        this.#nextPlacement(event.reader);
        if (this.#enrolment.unreadable(event.reader, event.reason)) return;
        this.deps.log.warn({ reader: event.reader, reason: event.reason }, 'a card was placed but its UID could not be read');
        this.#cards.set(event.reader, null);
        this.#hold.feed({ type: 'present', reader: event.reader, cardId: null, at });
        return;
      }
      case 'cardPresent': {
        const placement = this.#nextPlacement(event.reader);
        const card = { uid: event.uid, reader: event.reader, channel: event.channel };
        if (this.#enrolment.placed(card)) {
          this.#cards.set(event.reader, null);
          return;
        }
        // Only a master card is named; other cards belong to the charging logic and are not logged.
        void this.#validator
          .recognise(card, (ms) => this.#leaves(event.reader, placement, ms))
          .then(({ cardId, mayHold }) => {
            if (this.#placements.get(event.reader) !== placement) return;
            this.#cards.set(event.reader, cardId);
            if (cardId !== null) this.#recognised.set(event.reader, { card, placement });
            this.#hold.feed({ type: 'present', reader: event.reader, cardId, mayHold, at: this.deps.now() });
          });
        return;
      }
      case 'cardRemoved': {
        this.#nextPlacement(event.reader);
        this.#enrolment.removed(event.reader);
        this.#cards.delete(event.reader);
        this.#hold.feed({ type: 'removed', reader: event.reader, at });
        return;
      }
    }
  }

  /** The hold's re-proof: on the card of the current placement, the one that was recognised (null: it left). */
  async #reprove(reader: string, cardId: string): Promise<boolean | null> {
    const current = this.#recognised.get(reader);
    const placement = this.#placements.get(reader);
    if (current === undefined || current.placement !== placement) return null;
    return this.#validator.reprove(current.card, cardId, (ms) => this.#leaves(reader, current.placement, ms));
  }

  /** Whether the placement ends (the card is reported removed) within `ms`. */
  async #leaves(reader: string, placement: number, ms: number): Promise<boolean> {
    const deadline = this.deps.now() + ms;
    while (this.#placements.get(reader) === placement && this.deps.now() < deadline) await sleep(50);
    return this.#placements.get(reader) !== placement;
  }

  #nextPlacement(reader: string): number {
    this.#recognised.delete(reader);
    const next = (this.#placements.get(reader) ?? 0) + 1;
    this.#placements.set(reader, next);
    return next;
  }
}
