import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Credentials } from '../credentials/credentials.js';
import { InvalidInputError, RefusedError } from '../../common/errors.js';
import type { GenerationStore } from '../../store/generation-store.js';
import type { SecurityLog } from '../../logs/logging.js';
import type { Secret } from '../../common/secret.js';
import { requireProvisioned, type MasterCardRecord, type State } from '../../store/state.js';
import type { ResultOf } from '../../wire/protocol.js';
import type { MasterCardListing } from '../../wire/results.js';

/**
 * The enrolled master cards. A card is known only by the HMAC of its UID under the device
 * secret, so neither the state nor a log can give a card's UID away, and matching compares
 * every record in constant time.
 */
export class MasterCards {
  constructor(
    private readonly deps: { store: GenerationStore<State>; credentials: Credentials; security: SecurityLog },
  ) {}

  get count(): number {
    return this.deps.store.current?.masterCards.length ?? 0;
  }

  /** The manufacturer's view of the enrolled cards. */
  async listAs(manufacturerPassword: Secret, origin: string): Promise<MasterCardListing[]> {
    await this.deps.credentials.login('manufacturer', manufacturerPassword, origin);
    return this.list();
  }

  list(): MasterCardListing[] {
    return requireProvisioned(this.deps.store.current).masterCards.map(({ id, enrolledAt, reader }) => ({ id, enrolledAt, reader }));
  }

  /** The id of the enrolled card with this UID, or null (also while unprovisioned). */
  identify(uid: Buffer): string | null {
    const state = this.deps.store.current;
    if (!state) return null;
    const own = match(state.masterCards, keyedHash(state.deviceSecret, uid));
    // On a double station's slave, the master's cards are keyed with the master's card key.
    const synced = state.syncReceived ? match(state.masterCards, keyedHash(state.syncReceived.cardKey, uid)) : null;
    return own ?? synced;
  }

  async enroll(uid: Buffer, reader: string, origin: string): Promise<MasterCardListing> {
    const record: MasterCardRecord = { id: '', uidHmac: '', enrolledAt: new Date().toISOString(), reader };
    await this.deps.store.update((current) => {
      const state = structuredClone(requireProvisioned(current));
      const uidHmac = keyedHash(state.deviceSecret, uid);
      const existing = match(state.masterCards, uidHmac);
      if (existing !== null) throw new RefusedError(`this card is already enrolled as master card ${existing}; nothing changed`);
      let id: string;
      do id = randomBytes(4).toString('hex');
      while (state.masterCards.some((c) => c.id === id));
      Object.assign(record, { id, uidHmac });
      state.masterCards.push(record);
      return state;
    });
    this.deps.security.record('ReconfigurationOfSecurityParameters', { change: 'masterCardEnrolled', cardId: record.id, reader, by: 'manufacturer', origin });
    return { id: record.id, enrolledAt: record.enrolledAt, reader };
  }

  async remove(manufacturerPassword: Secret, id: string, origin: string): Promise<ResultOf<'masterCard.remove'>> {
    await this.deps.credentials.login('manufacturer', manufacturerPassword, origin);
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
    this.deps.security.record('ReconfigurationOfSecurityParameters', { change: 'masterCardRemoved', cardId: id, by: 'manufacturer', origin });
    return { removed: id, remaining: state.masterCards.length };
  }
}

function keyedHash(deviceSecret: string, uid: Buffer): string {
  return createHmac('sha256', Buffer.from(deviceSecret, 'hex')).update(uid).digest('hex');
}

/** Compares against every record, without stopping at a match, in constant time per record. */
function match(records: readonly MasterCardRecord[], uidHmac: string): string | null {
  const wanted = Buffer.from(uidHmac, 'hex');
  let found: string | null = null;
  for (const record of records) {
    if (timingSafeEqual(Buffer.from(record.uidHmac, 'hex'), wanted) && found === null) found = record.id;
  }
  return found;
}
