import * as v from 'valibot';
import { ROLES, type Role } from '../policy/roles.js';

const argon2Hash = v.pipe(v.string(), v.startsWith('$argon2id$'));

const roleRecord = v.strictObject({
  hash: argon2Hash,
  /** The default password's hash, kept so that a recovery can put the default back. */
  defaultHash: argon2Hash,
  isDefault: v.boolean(),
  /** Set by enforcePasswordChange or a manufacturer-set password; a default always must change. */
  mustChange: v.boolean(),
  /** Hashes of the last passwords, newest first, the current one included. */
  history: v.array(argon2Hash),
  failures: v.pipe(v.number(), v.integer(), v.minValue(0)),
  changedAt: v.string(),
});

const pukRecord = v.strictObject({
  hash: argon2Hash,
  /** Tries left before the PUK blocks; each attempt takes one durably before it is checked. */
  triesLeft: v.pipe(v.number(), v.integer(), v.minValue(0)),
  blocked: v.boolean(),
  setAt: v.string(),
});

export const stateSchema = v.strictObject({
  format: v.literal(1),
  provisionedAt: v.string(),
  /** Per-device secret for keyed hashes (master-card UIDs). */
  deviceSecret: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
  roles: v.strictObject(Object.fromEntries(ROLES.map((r) => [r, roleRecord])) as Record<Role, typeof roleRecord>),
  policy: v.strictObject({ enforceStrong: v.boolean(), enforcePasswordChange: v.boolean() }),
  /** Reset Password PUK; absent in states written before it existed. */
  puk: v.optional(v.nullable(pukRecord), null),
  https: v.optional(v.strictObject({ enabled: v.boolean() }), { enabled: false }),
});

export type State = v.InferOutput<typeof stateSchema>;
export type RoleRecord = v.InferOutput<typeof roleRecord>;
export type PukRecord = v.InferOutput<typeof pukRecord>;
