import type { Logger } from 'pino';
import { enrolmentStepOf, NO_ENROLMENT, step, type EndReason, type EnrolmentInput, type EnrolmentState } from '../../../policy/card-enrolment.js';
import { CcguardError, RefusedError, StateError } from '../../common/errors.js';
import type { SecurityLog } from '../../logs/logging.js';
import type { MasterCardListing } from '../../wire/results.js';
import type { RfidStatus } from '../../wire/status-report.js';
import type { PresentedCard } from './card-validator.js';
import type { MasterCards } from './master-cards.js';
import { cardKeys, failureKind, ForeignCardError, KEY_VERSION, moveKeys, NotSecureCardError, probeCard, wipeKeys } from './secure-card.js';

export interface EnrolmentOptions {
  timeoutSeconds: number;
  uidOnly: boolean;
}

/** The enrolment asked for: whom to answer, and what ends it needs for its messages. */
interface Request extends EnrolmentOptions {
  reader: string;
  origin: string;
  resolve: (listing: MasterCardListing) => void;
  reject: (err: Error) => void;
  release: () => void;
}

/**
 * Runs master card enrolments by the rules of policy/card-enrolment.ts: feeds them the events of
 * the enrolment's reader, the end of the card exchange and monotonic time, and carries out their
 * decisions: personalising the card (a secure card gets this station's keys, a UID-only card is
 * recorded by its UID) and answering the client.
 */
export class MasterCardEnrolment {
  #state: EnrolmentState = NO_ENROLMENT;
  #timer: NodeJS.Timeout | null = null;
  #request: Request | null = null;
  /** Why the first presentation was refused (the card is already enrolled), for the client. */
  #refusal: Error | null = null;
  /** The last card exchange's result, for the decisions its end brings. */
  #exchange: { listing: MasterCardListing } | { err: unknown } | null = null;

  constructor(
    private readonly deps: {
      masterCards: MasterCards;
      security: SecurityLog;
      log: Logger;
      now: () => number;
      /** A card was enrolled while it lies on `reader`. */
      enrolled: (reader: string, cardId: string) => void;
    },
  ) {}

  /** What `status` shows as `rfid.enrolmentStep`. */
  step(): RfidStatus['enrolmentStep'] {
    return enrolmentStepOf(this.#state);
  }

  get running(): boolean {
    return this.#state.phase !== 'idle';
  }

  refuseIfRunning(): void {
    if (this.running) throw new RefusedError('another enrolment is already waiting for a card; finish or cancel it first');
  }

  /** Waits for a card presented twice on `reader` and enrols it; rejects with what went wrong otherwise. */
  run(reader: string, options: EnrolmentOptions, origin: string, signal: AbortSignal): Promise<MasterCardListing> {
    this.refuseIfRunning();
    return new Promise<MasterCardListing>((resolve, reject) => {
      const aborted = (): void => {
        this.#feed({ type: 'abort', at: this.deps.now() });
      };
      signal.addEventListener('abort', aborted);
      this.#request = { ...options, reader, origin, resolve, reject, release: () => signal.removeEventListener('abort', aborted) };
      this.#feed({ type: 'begin', reader, timeoutMs: options.timeoutSeconds * 1000, at: this.deps.now() });
    });
  }

  /** A card placed; true if it was the enrolment's (then it is no tap). */
  placed(card: PresentedCard): boolean {
    const mine = this.#state.phase !== 'idle' && this.#state.reader === card.reader;
    this.#refusal = null;
    if (mine) {
      try {
        this.deps.masterCards.refuseKnown(card.uid);
      } catch (err) {
        this.#refusal = err as Error;
      }
    }
    return this.#feed({ type: 'placed', reader: card.reader, uid: card.uid.toString('hex'), acceptable: this.#refusal === null, at: this.deps.now() }, card);
  }

  /** A card whose UID could not be read; true if that ended the enrolment (then it is no tap). */
  unreadable(reader: string, cause: string): boolean {
    return this.#feed({ type: 'unreadable', reader, cause, at: this.deps.now() });
  }

  removed(reader: string): void {
    this.#feed({ type: 'removed', reader, at: this.deps.now() });
  }

  stop(): void {
    this.#feed({ type: 'stop', at: this.deps.now() });
  }

  /** `card`: the card of a placement, which a `personalise` decision works on. */
  #feed(input: EnrolmentInput, card?: PresentedCard): boolean {
    const result = step(this.#state, input);
    this.#state = result.state;
    // An enrolment's deadline never moves: one timer from its start, gone once time no longer matters.
    if (this.#timer && result.nextDeadline === null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (result.nextDeadline !== null && this.#timer === null) {
      const wait = Math.max(0, result.nextDeadline - this.deps.now());
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#feed({ type: 'tick', at: this.deps.now() });
      }, wait);
    }
    for (const decision of result.decisions) {
      switch (decision.type) {
        case 'refused':
          throw new RefusedError('another enrolment is already waiting for a card; finish or cancel it first');
        case 'started':
          break;
        case 'firstPresented':
          this.deps.log.info({ reader: decision.reader }, 'enrolment: card presented once; it is to be removed and presented again');
          break;
        case 'personalise':
          if (card !== undefined) this.#personalise(card);
          break;
        case 'presentAgain': {
          const err = this.#exchange && 'err' in this.#exchange ? this.#exchange.err : null;
          this.deps.log.warn({ reader: decision.reader, detail: failureKind(err) }, 'enrolment: the card left or stopped answering; present it again');
          break;
        }
        case 'completed': {
          const listing = this.#exchange && 'listing' in this.#exchange ? this.#exchange.listing : null;
          const request = this.#end();
          if (listing === null || request === null) break;
          this.deps.enrolled(decision.reader, listing.id);
          request.resolve(listing);
          break;
        }
        case 'ended': {
          const err = this.#endError(decision.reason, decision.cause);
          this.#end()?.reject(err);
          break;
        }
      }
    }
    return result.claimed;
  }

  #end(): Request | null {
    const request = this.#request;
    this.#request = null;
    this.#exchange = null;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    request?.release();
    return request;
  }

  #endError(reason: EndReason, cause: string | undefined): Error {
    const request = this.#request;
    const reader = request?.reader ?? '';
    switch (reason) {
      case 'cardRefused':
        return this.#refusal ?? new RefusedError('this card is already enrolled; nothing changed');
      case 'otherCard':
        return new RefusedError('another card was presented the second time than the first; nothing enrolled (present the same card twice)');
      case 'unreadable':
        return new RefusedError(`the card on ${reader} could not be read (${cause ?? 'unknown'}); nothing enrolled`);
      case 'exchangeFailed': {
        const err = this.#exchange && 'err' in this.#exchange ? this.#exchange.err : null;
        return err instanceof CcguardError ? err : new RefusedError(`the card could not be enrolled (${failureKind(err)}); present it again`);
      }
      case 'notPlaced':
      case 'notPlacedAgain': {
        const what = reason === 'notPlacedAgain' ? 'the card was not presented a second time' : 'no card was placed';
        return new RefusedError(`${what} within ${request?.timeoutSeconds ?? 0} s on ${reader}; nothing enrolled`);
      }
      case 'clientGone':
        return new StateError('the client went away; nothing enrolled');
      case 'stopping':
        return new StateError('the daemon is stopping');
    }
  }

  #personalise(card: PresentedCard): void {
    const request = this.#request;
    if (request === null) return;
    this.#exchange = null;
    void this.#enrolCard(card, request).then(
      (listing) => {
        this.#exchange = { listing };
        this.#feed({ type: 'exchangeEnded', outcome: 'enrolled', at: this.deps.now() });
      },
      (err: unknown) => {
        this.#exchange = { err };
        // A card that is not ours to take, or a refusal: no point in presenting it again.
        const final = err instanceof ForeignCardError || err instanceof NotSecureCardError || err instanceof RefusedError || err instanceof StateError;
        this.#feed({ type: 'exchangeEnded', outcome: final ? 'failed' : 'pulled', at: this.deps.now() });
      },
    );
  }

  async #enrolCard(card: PresentedCard, request: Request): Promise<MasterCardListing> {
    const { masterCards } = this.deps;
    if (request.uidOnly) return masterCards.enroll(card.uid, card.reader, { kind: 'uidOnly' }, request.origin);
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
      const listing = await masterCards.enroll(
        card.uid,
        card.reader,
        { kind: 'ntag424', authKey: keys.auth, slaveKey: keys.slave, keyVersion: KEY_VERSION },
        request.origin,
      );
      if (resumed)
        this.deps.security.record('ReconfigurationOfSecurityParameters', { change: 'masterCardEnrolmentFinished', cardId: listing.id, reader: card.reader });
      return listing;
    } finally {
      wipeKeys(keys);
      master.fill(0);
    }
  }
}
