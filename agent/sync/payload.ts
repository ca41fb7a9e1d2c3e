import { createHash } from 'node:crypto';
import * as v from 'valibot';
import { PUK_SHARED_TRIES } from '../../policy/puk.js';
import { ROLES, type Role } from '../../policy/roles.js';
import { MASTER_CARD_KINDS } from '../../policy/master-card-kinds.js';
import { pukRecord, policySettings, roleRecord, type MasterCardRecord, type State } from '../store/state.js';
import { seal } from './card-key-seal.js';

const hex64 = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/));
/** A role's record without what stays local (its failure counts). */
const credential = v.omit(roleRecord, ['failures', 'failuresBySource']);
/**
 * A master card as the slave gets it: of a secure card only its slave key (key 4), never the
 * master's key 2, and that sealed to the slave's own X25519 key (learned from its answer to an
 * earlier push); until then, or while the card has no slave key yet, the card is left out.
 */
const syncedMasterCard = v.strictObject({
  id: v.pipe(v.string(), v.regex(/^[0-9a-f]{8}$/)),
  uidHmac: hex64,
  enrolledAt: v.string(),
  reader: v.string(),
  kind: v.optional(v.picklist(MASTER_CARD_KINDS), 'uidOnly'),
  keyVersion: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(255))),
  /** Sent by masters before slave keys existed (their key 2): accepted, never kept. */
  authKeySealed: v.optional(v.pipe(v.string(), v.maxLength(256))),
  slaveKeySealed: v.optional(v.pipe(v.string(), v.maxLength(256))),
});

/**
 * What a double station's master sends its slave: everything the vendor's guide says must be
 * identical (hashes, never a password), and nothing local (failure counts, PUK tries).
 */
export const syncPayloadSchema = v.strictObject({
  kind: v.literal('ccguard-sync/1'),
  revision: v.pipe(v.number(), v.integer(), v.minValue(1)),
  roles: v.strictObject(Object.fromEntries(ROLES.map((r) => [r, credential])) as Record<Role, typeof credential>),
  policy: policySettings,
  /** The PUK without its tries, which stay local. */
  puk: v.nullable(v.pick(pukRecord, ['hash', 'setAt'])),
  masterCards: v.pipe(v.array(syncedMasterCard), v.maxLength(64)),
  /**
   * The master's key for master-card UID HMACs, so the slave matches the same cards on its own
   * readers: sealed to the slave's key like the card keys, and left out until that key is known.
   */
  cardKeySealed: v.optional(v.pipe(v.string(), v.maxLength(256))),
});

export type SyncPayload = v.InferOutput<typeof syncPayloadSchema>;
type SyncContent = Omit<SyncPayload, 'kind' | 'revision'>;
type SyncedMasterCard = SyncPayload['masterCards'][number];
/** What the UID HMAC key is sealed under (card ids are 8 hex digits: no clash). */
const UID_KEY_LABEL = 'uid-hmac-key';

/** What a card's slave key is sealed under: bound to the card and to its purpose. */
const slaveKeyLabel = (cardId: string): string => `${cardId}/slave-key`;

/** A card's record for the slave: its slave key sealed to `sealTo` when both are known; its own key never. */
function forSlave(card: MasterCardRecord, sealTo: string | null): SyncedMasterCard {
  const { authKey: _station, slaveKey, ...rest } = card;
  if (slaveKey === undefined || sealTo === null) return rest;
  return { ...rest, slaveKeySealed: seal(Buffer.from(slaveKey, 'hex'), sealTo, slaveKeyLabel(card.id)) };
}

/** The synced part of the master's state, as the payload carries it (secure cards' keys sealed). */
export function syncContent(state: State): SyncContent {
  return {
    roles: Object.fromEntries(
      ROLES.map((role) => {
        const { hash, defaultHash, isDefault, mustChange, history, changedAt } = state.roles[role];
        return [role, { hash, defaultHash, isDefault, mustChange, history, changedAt }];
      }),
    ) as SyncContent['roles'],
    policy: { ...state.policy },
    puk: state.puk === null ? null : { hash: state.puk.hash, setAt: state.puk.setAt },
    masterCards: state.masterCards.map((c) => forSlave(c, state.syncPeerSealingKey ?? null)),
    ...(state.syncPeerSealingKey ? { cardKeySealed: seal(Buffer.from(state.deviceSecret, 'hex'), state.syncPeerSealingKey, UID_KEY_LABEL) } : {}),
  };
}

/**
 * A digest of what the slave must hold: a new revision is made only when it changes. Taken over
 * the records as stored (sealing is fresh each time) and the key they are sealed to.
 */
export function contentDigest(state: State): string {
  // The key sealed to matters only when there are cards to match: learning it makes no revision otherwise.
  const sealedTo = state.masterCards.length > 0 ? (state.syncPeerSealingKey ?? null) : null;
  // `cardKeys` names what a card carries to the slave: a master that starts sending slave keys
  // instead of its own pushes once, so that a slave drops the key 2 an older version sent it.
  const content = {
    ...syncContent({ ...state, syncPeerSealingKey: null }),
    masterCards: state.masterCards,
    uidKey: state.deviceSecret,
    sealedTo,
    cardKeys: 'slaveKey',
  };
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

/**
 * The slave's state with a newer payload applied; failure counts and PUK tries stay local. A
 * secure card whose sealed key does not open here (`openKey` gives null) is left out: a card the
 * slave cannot check is no master card for it.
 */
export function applySyncPayload(state: State, payload: SyncPayload, at: string, openKey: (sealed: string, cardId: string) => Buffer | null): State {
  const next = structuredClone(state);
  for (const role of ROLES) {
    const local = next.roles[role];
    next.roles[role] = { ...payload.roles[role], failures: local.failures, failuresBySource: local.failuresBySource };
  }
  next.policy = { ...payload.policy };
  if (payload.puk === null) next.puk = null;
  else if (next.puk?.hash !== payload.puk.hash) next.puk = { ...payload.puk, triesLeft: PUK_SHARED_TRIES, blocked: false, failuresBySource: {} };
  next.masterCards = payload.masterCards.flatMap(({ authKeySealed: _master, slaveKeySealed, ...card }): MasterCardRecord[] => {
    if (card.kind !== 'ntag424') return [card];
    const key = slaveKeySealed === undefined ? null : openKey(slaveKeySealed, slaveKeyLabel(card.id));
    return key === null || key.length !== 16 ? [] : [{ ...card, slaveKey: key.toString('hex') }];
  });
  const uidKey = payload.cardKeySealed === undefined ? null : openKey(payload.cardKeySealed, UID_KEY_LABEL);
  next.syncReceived = { revision: payload.revision, at, cardKey: uidKey?.length === 32 ? uidKey.toString('hex') : null };
  return next;
}
