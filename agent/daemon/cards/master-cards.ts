import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { InvalidInputError, RefusedError } from '../../common/errors.js';
import type { GenerationStore } from '../../store/generation-store.js';
import type { SecurityLog } from '../../logs/logging.js';
import { requireProvisioned, type MasterCardRecord, type State } from '../../store/state.js';
import type { ResultOf } from '../../wire/protocol.js';
import type { MasterCardListing } from '../../wire/results.js';
import type { Actor } from '../credentials/authenticator.js';
import { AUTH_KEY_NO, SLAVE_KEY_NO } from './secure-card.js';

/**
 * What a placed card's UID matched: the record's id and how the card must prove itself: `keyNo`
 * 2 with the station's key where it was enrolled, 4 with the slave key on a slave;
 * `needsSlaveKey`: a card of this station's that has no slave key yet (enrolled before them).
 */
export type IdentifiedCard = { id: string; kind: 'uidOnly' } | { id: string; kind: 'ntag424'; authKey: Buffer; keyNo: number; needsSlaveKey: boolean };

/** What an enrolment writes: a UID-only record, or a secure one with its recognition keys. */
export type NewCard = { kind: 'uidOnly' } | { kind: 'ntag424'; authKey: Buffer; slaveKey: Buffer; keyVersion: number };

/**
 * The enrolled master cards. A card is known only by the HMAC of its UID under the device
 * secret, so neither the state nor a log can give a card's UID away, and matching compares
 * every record in constant time.
 */
export class MasterCards {
  constructor(private readonly deps: { store: GenerationStore<State>; security: SecurityLog }) {}

  get count(): number {
    return this.deps.store.current?.masterCards.length ?? 0;
  }

  /** The manufacturer's view of the enrolled cards. */
  list(): MasterCardListing[] {
    return requireProvisioned(this.deps.store.current).masterCards.map(listing);
  }

  /** The enrolled card with this UID, or null (also while unprovisioned). */
  identify(uid: Buffer): IdentifiedCard | null {
    const state = this.deps.store.current;
    if (!state) return null;
    const own = match(state.masterCards, keyedHash(state.deviceSecret, uid));
    // On a double station's slave, the master's cards are keyed with the master's card key.
    const synced = state.syncReceived?.cardKey ? match(state.masterCards, keyedHash(state.syncReceived.cardKey, uid)) : null;
    const record = own ?? synced;
    if (record === null) return null;
    if (record.kind !== 'ntag424') return { id: record.id, kind: 'uidOnly' };
    // A card of this station proves key 2; the master's card, on its slave, key 4. A slave key
    // never stands in for a station's own key, and a secure card with no key to check is no master card.
    if (own !== null) {
      if (record.authKey === undefined) return null;
      return { id: record.id, kind: 'ntag424', authKey: Buffer.from(record.authKey, 'hex'), keyNo: AUTH_KEY_NO, needsSlaveKey: record.slaveKey === undefined };
    }
    if (record.slaveKey === undefined) return null;
    return { id: record.id, kind: 'ntag424', authKey: Buffer.from(record.slaveKey, 'hex'), keyNo: SLAVE_KEY_NO, needsSlaveKey: false };
  }

  /** The keyed hash a record or a pending enrolment holds for this UID. */
  uidHmac(uid: Buffer): string | null {
    const state = this.deps.store.current;
    return state ? keyedHash(state.deviceSecret, uid) : null;
  }

  /** The card master key (AES-128) secure cards' keys are diversified from; null while unprovisioned. */
  cardMasterKey(): Buffer | null {
    const key = this.deps.store.current?.cardMasterKey;
    return key === undefined ? null : Buffer.from(key, 'hex');
  }

  /** States written before secure cards existed get their card master key once, at daemon start. */
  async ensureCardMasterKey(): Promise<void> {
    if (!this.deps.store.current || this.deps.store.current.cardMasterKey !== undefined) return;
    await this.deps.store.update((current) => {
      const state = structuredClone(requireProvisioned(current));
      state.cardMasterKey ??= randomBytes(16).toString('hex');
      return state;
    });
  }

  /** The secure card whose keys are being changed, if this UID is it. */
  isPending(uid: Buffer): boolean {
    const state = this.deps.store.current;
    if (!state?.pendingEnrolment) return false;
    return timingSafeEqual(Buffer.from(state.pendingEnrolment.uidHmac, 'hex'), Buffer.from(keyedHash(state.deviceSecret, uid), 'hex'));
  }

  get pending(): { reader: string; startedAt: string } | null {
    const p = this.deps.store.current?.pendingEnrolment;
    return p ? { reader: p.reader, startedAt: p.startedAt } : null;
  }

  /** Written durably before the first ChangeKey of a card. */
  async setPending(uid: Buffer, reader: string): Promise<void> {
    await this.deps.store.update((current) => {
      const state = structuredClone(requireProvisioned(current));
      state.pendingEnrolment = { uidHmac: keyedHash(state.deviceSecret, uid), reader, startedAt: new Date().toISOString() };
      return state;
    });
  }

  /** The card's keys are back on factory values: nothing is pending any more. */
  async clearPending(): Promise<void> {
    await this.deps.store.update((current) => ({ ...structuredClone(requireProvisioned(current)), pendingEnrolment: null }));
  }

  /** Refuses a card already enrolled, with its id. */
  refuseKnown(uid: Buffer): void {
    const state = requireProvisioned(this.deps.store.current);
    const existing = match(state.masterCards, keyedHash(state.deviceSecret, uid));
    if (existing !== null) throw new RefusedError(`this card is already enrolled as master card ${existing.id}; nothing changed`);
  }

  /** Records the card and clears a pending enrolment in one state write. */
  async enroll(uid: Buffer, reader: string, card: NewCard, origin: string): Promise<MasterCardListing> {
    const record: MasterCardRecord = {
      id: '',
      uidHmac: '',
      enrolledAt: new Date().toISOString(),
      reader,
      kind: card.kind,
      ...(card.kind === 'ntag424' ? { authKey: card.authKey.toString('hex'), slaveKey: card.slaveKey.toString('hex'), keyVersion: card.keyVersion } : {}),
    };
    await this.deps.store.update((current) => {
      const state = structuredClone(requireProvisioned(current));
      const uidHmac = keyedHash(state.deviceSecret, uid);
      const existing = match(state.masterCards, uidHmac);
      if (existing !== null) throw new RefusedError(`this card is already enrolled as master card ${existing.id}; nothing changed`);
      let id: string;
      do id = randomBytes(4).toString('hex');
      while (state.masterCards.some((c) => c.id === id));
      Object.assign(record, { id, uidHmac });
      state.masterCards.push(record);
      state.pendingEnrolment = null;
      return state;
    });
    this.deps.security.record('ReconfigurationOfSecurityParameters', {
      change: 'masterCardEnrolled',
      cardId: record.id,
      kind: card.kind,
      reader,
      by: 'manufacturer',
      origin,
    });
    return listing(record);
  }

  /** The card's key 4 is written: its record gets it (and the slave, with the next push). */
  async setSlaveKey(id: string, slaveKey: Buffer): Promise<void> {
    await this.deps.store.update((current) => {
      const state = structuredClone(requireProvisioned(current));
      const record = state.masterCards.find((c) => c.id === id);
      if (record?.kind === 'ntag424' && record.authKey !== undefined) record.slaveKey = slaveKey.toString('hex');
      return state;
    });
  }

  async remove(actor: Actor<'manufacturer'>, id: string): Promise<ResultOf<'masterCard.remove'>> {
    const state = await this.deps.store.update((current) => {
      const next = structuredClone(requireProvisioned(current));
      const before = next.masterCards.length;
      next.masterCards = next.masterCards.filter((c) => c.id !== id);
      if (next.masterCards.length === before) {
        const known = before === 0 ? 'none is enrolled' : `enrolled: ${current?.masterCards.map((c) => c.id).join(', ')}`;
        throw new InvalidInputError(`no master card with id ${id} (${known}); see "ccguard master-card list"`);
      }
      return next;
    });
    this.deps.security.record('ReconfigurationOfSecurityParameters', { change: 'masterCardRemoved', cardId: id, by: actor.role });
    return { removed: id, remaining: state.masterCards.length };
  }
}

function listing({ id, enrolledAt, reader, kind }: MasterCardRecord): MasterCardListing {
  return { id, enrolledAt, reader, kind };
}

function keyedHash(deviceSecret: string, uid: Buffer): string {
  return createHmac('sha256', Buffer.from(deviceSecret, 'hex')).update(uid).digest('hex');
}

/** Compares against every record, without stopping at a match, in constant time per record. */
function match(records: readonly MasterCardRecord[], uidHmac: string): MasterCardRecord | null {
  const wanted = Buffer.from(uidHmac, 'hex');
  let found: MasterCardRecord | null = null;
  for (const record of records) {
    if (timingSafeEqual(Buffer.from(record.uidHmac, 'hex'), wanted) && found === null) found = record;
  }
  return found;
}
