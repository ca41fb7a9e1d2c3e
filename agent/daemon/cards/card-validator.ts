import type { Logger } from 'pino';
import type { CardChannel } from '../../../rfid/reader-watch.js';
import type { Config } from '../../common/config.js';
import type { SecurityLog } from '../../logs/logging.js';
import type { RfidStatus } from '../../wire/status-report.js';
import type { MasterCards } from './master-cards.js';
import { addSlaveKey, cardKeys, failureKind, moveKeys, probeCard, verifySecureCard, wipeKeys } from './secure-card.js';

/** A card on a reader, as the reader edge reported it. */
export interface PresentedCard {
  uid: Buffer;
  reader: string;
  channel: CardChannel;
}

/** What a placement is for the hold rules: a master card (and whether its hold counts), or none. */
export interface Recognition {
  cardId: string | null;
  mayHold: boolean;
}

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

/**
 * Tells a master card from any other card: a UID-only card by its UID (as rfid.uidOnlyMasterCards
 * allows), a secure card by its proof of this station's key over NTAG 424 DNA. A secure card that
 * fails the proof is recorded as a clone attempt; a card whose enrolment was cut off goes back to
 * factory keys.
 */
export class CardValidator {
  readonly #cloneAttempts: Array<{ at: string; mono: number; reader: string }> = [];

  constructor(private readonly deps: { rfid: Config['rfid']; masterCards: MasterCards; security: SecurityLog; log: Logger; now: () => number }) {}

  /** `leaves(ms)`: whether this placement ends (the card is reported removed) within ms. */
  async recognise(card: PresentedCard, leaves: (ms: number) => Promise<boolean>): Promise<Recognition> {
    const { masterCards } = this.deps;
    const none = { cardId: null, mayHold: false };
    const known = masterCards.identify(card.uid);
    if (known === null) {
      if (masterCards.isPending(card.uid)) await this.#undoPending(card);
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
      await verifySecureCard(card.channel, known.authKey, card.uid, known.keyNo);
      // Recorded, yet still marked pending (its record was written by another path): the record wins.
      if (masterCards.isPending(card.uid)) await masterCards.clearPending();
      if (known.needsSlaveKey) await this.#upgrade(card, known.id);
      return { cardId: known.id, mayHold: true };
    } catch (err) {
      const detail = failureKind(err);
      // A card pulled during the exchange is no attempt; anything else is a card that could not prove the key.
      const pulled = detail === 'cardRemoved' || (PULL_LIKE.has(detail) && (await leaves(PULL_SETTLE_MS)));
      if (!pulled) this.#cloneAttempt(known.id, card.reader, detail);
      return none;
    } finally {
      known.authKey.fill(0);
    }
  }

  /**
   * The proof again for a card recognised earlier on this placement (a hold asks before each step and
   * the restore): true when it still proves the key, false when it fails (recorded as a clone attempt:
   * a relay that ended, an emulator left in its place), null when the card left mid-proof.
   * A UID-only card has no proof beyond its UID, which the placement already bound.
   */
  async reprove(card: PresentedCard, cardId: string, leaves: (ms: number) => Promise<boolean>): Promise<boolean | null> {
    const known = this.deps.masterCards.identify(card.uid);
    if (known === null || known.id !== cardId) return false;
    if (known.kind === 'uidOnly') return true;
    try {
      await verifySecureCard(card.channel, known.authKey, card.uid, known.keyNo);
      return true;
    } catch (err) {
      const detail = failureKind(err);
      if (detail === 'cardRemoved' || (PULL_LIKE.has(detail) && (await leaves(PULL_SETTLE_MS)))) return null;
      this.#cloneAttempt(known.id, card.reader, detail);
      return false;
    } finally {
      known.authKey.fill(0);
    }
  }

  /** Clone attempts of the last 24 hours, for `status` and `audit`. */
  recentCloneAttempts(): RfidStatus['cloneAttempts'] {
    const since = this.deps.now() - RECENT_CLONE_MS;
    const recent = this.#cloneAttempts.filter((a) => a.mono >= since);
    const last = recent.at(-1);
    return last ? { count: recent.length, lastReader: last.reader, lastAt: last.at } : null;
  }

  /**
   * A card enrolled before slave keys existed, just proven with this station's key 2: its key 4
   * is written now. A failure (the card pulled) leaves it a working master card; the next
   * presentation tries again.
   */
  async #upgrade(card: PresentedCard, cardId: string): Promise<void> {
    const master = this.deps.masterCards.cardMasterKey();
    if (master === null) return;
    const keys = cardKeys(master, card.uid);
    try {
      await addSlaveKey(card.channel, keys);
      await this.deps.masterCards.setSlaveKey(cardId, keys.slave);
      this.deps.security.record('ReconfigurationOfSecurityParameters', { change: 'masterCardSlaveKeyAdded', cardId, reader: card.reader });
    } catch (err) {
      this.deps.log.warn(
        { reader: card.reader, cardId, detail: failureKind(err) },
        'the slave key of a master card could not be written; it is tried again at its next presentation',
      );
    } finally {
      wipeKeys(keys);
      master.fill(0);
    }
  }

  /** A card whose enrolment was cut off, presented outside an enrolment: its keys go back to factory values. */
  async #undoPending(card: PresentedCard): Promise<void> {
    const { masterCards } = this.deps;
    const master = masterCards.cardMasterKey();
    if (master === null) return;
    const keys = cardKeys(master, card.uid);
    try {
      const held = await probeCard(card.channel, keys);
      await moveKeys(card.channel, card.uid, keys, held, 'factory', async () => {});
      await masterCards.clearPending();
      this.deps.security.record('ReconfigurationOfSecurityParameters', { change: 'masterCardEnrolmentUndone', reader: card.reader, by: 'masterCardRecovery' });
    } catch (err) {
      this.deps.log.warn(
        { reader: card.reader, detail: failureKind(err) },
        'a card whose enrolment was cut off could not be put back to factory keys; present it again',
      );
    } finally {
      wipeKeys(keys);
      master.fill(0);
    }
  }

  #cloneAttempt(cardId: string, reader: string, detail: string): void {
    this.#cloneAttempts.push({ at: new Date().toISOString(), mono: this.deps.now(), reader });
    if (this.#cloneAttempts.length > MAX_CLONE_ATTEMPTS) this.#cloneAttempts.shift();
    this.deps.security.record('TamperDetectionActivated', { cause: 'masterCardCloneAttempt', cardId, reader, detail });
  }
}
