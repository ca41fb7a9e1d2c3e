import { z } from 'zod';
import { ROLES, type Role } from '../policy/roles.js';

const argon2Hash = z.string().startsWith('$argon2id$');

const roleRecord = z
  .object({
    hash: argon2Hash,
    /** The default password's hash, kept so that a recovery can put the default back. */
    defaultHash: argon2Hash,
    isDefault: z.boolean(),
    /** Set by enforcePasswordChange or a manufacturer-set password; a default always must change. */
    mustChange: z.boolean(),
    /** Hashes of the last passwords, newest first, the current one included. */
    history: z.array(argon2Hash),
    failures: z.number().int().nonnegative(),
    changedAt: z.string(),
  })
  .strict();

export const stateSchema = z
  .object({
    format: z.literal(1),
    provisionedAt: z.string(),
    /** Per-device secret for keyed hashes (master-card UIDs). */
    deviceSecret: z.string().regex(/^[0-9a-f]{64}$/),
    roles: z.object(Object.fromEntries(ROLES.map((r) => [r, roleRecord])) as Record<Role, typeof roleRecord>).strict(),
    policy: z.object({ enforceStrong: z.boolean(), enforcePasswordChange: z.boolean() }).strict(),
  })
  .strict();

export type State = z.infer<typeof stateSchema>;
export type RoleRecord = z.infer<typeof roleRecord>;
