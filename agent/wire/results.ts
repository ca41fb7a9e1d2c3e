import * as v from 'valibot';
import { MASTER_CARD_KINDS } from '../../policy/master-card-kinds.js';
import { count, masterCardId } from './status-report.js';

/** Result shapes that daemon services return and more than one method or command shows. */

const revision = v.nullable(count);
const timestamp = v.pipe(v.string(), v.isoTimestamp());

export const masterCardListingSchema = v.strictObject({
  id: masterCardId,
  enrolledAt: timestamp,
  reader: v.string(),
  /** `uidOnly`: known by its UID alone, copyable; `ntag424`: proves its AES key. */
  kind: v.picklist(MASTER_CARD_KINDS),
});
export type MasterCardListing = v.InferOutput<typeof masterCardListingSchema>;

/** A double station master's view of its slave. */
export const syncStatusSchema = v.strictObject({
  peer: v.pipe(v.string(), v.description('user@host:port')),
  /** The newest revision of the synced credentials on this master. */
  revision,
  lastPushedRevision: revision,
  lastAckedRevision: revision,
  lastAckAt: v.nullable(timestamp),
  lastError: v.nullable(v.string()),
  lastErrorAt: v.nullable(timestamp),
  nextRetryInSeconds: v.nullable(count),
  inSync: v.boolean(),
  summary: v.string(),
});
export type SyncStatus = v.InferOutput<typeof syncStatusSchema>;
