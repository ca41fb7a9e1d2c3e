import { createHash } from 'node:crypto';
import * as v from 'valibot';
import { PUK_TRIES } from '../../policy/puk.js';
import { ROLES, type Role } from '../../policy/roles.js';
import { masterCardRecord, pukRecord, policySettings, roleRecord, type State } from '../store/state.js';

const hex64 = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/));
/** A role's record without what stays local (its failure count). */
const credential = v.omit(roleRecord, ['failures']);

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
  masterCards: v.array(masterCardRecord),
  /** The master's key for master-card UID HMACs, so the slave matches the same cards on its own readers. */
  cardKey: hex64,
});

export type SyncPayload = v.InferOutput<typeof syncPayloadSchema>;
type SyncContent = Omit<SyncPayload, 'kind' | 'revision'>;

/** The synced part of the master's state. */
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
    masterCards: state.masterCards.map((c) => ({ ...c })),
    cardKey: state.deviceSecret,
  };
}

/** A digest of the synced content: a new revision is made only when it changes. */
export function contentDigest(content: SyncContent): string {
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

/** The slave's state with a newer payload applied; failure counts and PUK tries stay local. */
export function applySyncPayload(state: State, payload: SyncPayload, at: string): State {
  const next = structuredClone(state);
  for (const role of ROLES) next.roles[role] = { ...payload.roles[role], failures: next.roles[role].failures };
  next.policy = { ...payload.policy };
  if (payload.puk === null) next.puk = null;
  else if (next.puk?.hash !== payload.puk.hash) next.puk = { ...payload.puk, triesLeft: PUK_TRIES, blocked: false };
  next.masterCards = payload.masterCards.map((c) => ({ ...c }));
  next.syncReceived = { revision: payload.revision, at, cardKey: payload.cardKey };
  return next;
}
