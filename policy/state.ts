// The state's schema and types: the store validates with them, and the pure transitions in policy/
// (credential-state, defaults-restore) are typed by them, so they sit in the lowest layer.
import * as v from 'valibot';
import { ROLES, type Role } from './roles.js';
import { MAX_SOURCES } from './sources.js';
import { WEB_UI_MODES } from './web-ui.js';

const argon2Hash = v.pipe(v.string(), v.startsWith('$argon2id$'));
/** Failures per source, bounded like the counters that write them (a hostile file cannot grow it). */
const failureCounts = v.pipe(
  v.record(v.pipe(v.string(), v.maxLength(128)), v.pipe(v.number(), v.integer(), v.minValue(0))),
  v.check((counts) => Object.keys(counts).length <= MAX_SOURCES, `at most ${MAX_SOURCES} sources`),
);

export const roleRecord = v.strictObject({
  hash: argon2Hash,
  /** The default password's hash, kept so that a recovery can put the default back. */
  defaultHash: argon2Hash,
  isDefault: v.boolean(),
  /** Set by enforcePasswordChange or a manufacturer-set password; a default always must change. */
  mustChange: v.boolean(),
  /** Hashes of the last passwords, newest first, the current one included. */
  history: v.array(argon2Hash),
  /** Consecutive failures of all sources (what `status` shows). */
  failures: v.pipe(v.number(), v.integer(), v.minValue(0)),
  /** The same failures per source (policy/sources.ts); older states have none. */
  failuresBySource: v.optional(failureCounts, {}),
  changedAt: v.string(),
});

export const pukRecord = v.strictObject({
  hash: argon2Hash,
  /** Tries left to all sources before the PUK blocks; each attempt takes one durably before it is checked. */
  triesLeft: v.pipe(v.number(), v.integer(), v.minValue(0)),
  blocked: v.boolean(),
  /** Tries taken per source (policy/puk.ts); older states have none. */
  failuresBySource: v.optional(failureCounts, {}),
  setAt: v.string(),
});

const aesKeyHex = v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/));
const uidHmac = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/));

import { MASTER_CARD_KINDS, type MasterCardKind } from './master-card-kinds.js';
export { MASTER_CARD_KINDS, type MasterCardKind };

export const masterCardRecord = v.pipe(
  v.strictObject({
    id: v.pipe(v.string(), v.regex(/^[0-9a-f]{8}$/)),
    /** HMAC-SHA256 of the card's UID under the device secret: the UID itself is never stored. */
    uidHmac,
    enrolledAt: v.string(),
    reader: v.string(),
    /** `uidOnly`: known by its UID alone (copyable); `ntag424`: proves its AES key 2. Absent in older states. */
    kind: v.optional(v.picklist(MASTER_CARD_KINDS), 'uidOnly'),
    /** ntag424: the card's diversified key 2, which recognition authenticates with; absent on a slave. */
    authKey: v.optional(aesKeyHex),
    /**
     * ntag424: the card's key 4, which a double station's slave recognises it with (and the only key
     * a slave holds). Absent on a card enrolled before slave keys existed, until its next presentation.
     */
    slaveKey: v.optional(aesKeyHex),
    /** ntag424: the version its keys were written with. */
    keyVersion: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(255))),
  }),
  v.check(
    (r) => (r.kind === 'ntag424') === (r.authKey !== undefined || r.slaveKey !== undefined),
    'an ntag424 master card has an authKey or a slaveKey, a uidOnly one has neither',
  ),
);

export const policySettings = v.strictObject({ enforceStrong: v.boolean(), enforcePasswordChange: v.boolean() });
const webUiMode = v.picklist(WEB_UI_MODES);

/** The settings a manufacturer-defaults snapshot holds and a factory restore puts back. */
const settingsSnapshot = v.strictObject({
  policy: policySettings,
  puk: v.nullable(pukRecord),
  masterCards: v.array(masterCardRecord),
  /** Kept as such, like the log-password file itself (the state is 0600 in a 0700 directory). */
  logPassword: v.nullable(v.string()),
  webUi: webUiMode,
  https: v.boolean(),
});

export const stateSchema = v.strictObject({
  format: v.literal(1),
  provisionedAt: v.string(),
  /** Per-device secret for keyed hashes (master-card UIDs). */
  deviceSecret: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
  /**
   * AES-128 key every secure master card's keys are diversified from (AN10922). Absent in states
   * written before it existed: the daemon makes one at start. Never logged, never synced.
   */
  cardMasterKey: v.optional(aesKeyHex),
  /**
   * A secure card whose keys are being changed: written before the first ChangeKey, cleared with the
   * write of its record (or when its keys were put back to factory values).
   */
  pendingEnrolment: v.optional(v.nullable(v.strictObject({ uidHmac, reader: v.string(), startedAt: v.string() })), null),
  roles: v.strictObject(Object.fromEntries(ROLES.map((r) => [r, roleRecord])) as Record<Role, typeof roleRecord>),
  policy: policySettings,
  /** Reset Password PUK; absent in states written before it existed. */
  puk: v.optional(v.nullable(pukRecord), null),
  https: v.optional(v.strictObject({ enabled: v.boolean() }), { enabled: false }),
  masterCards: v.optional(v.array(masterCardRecord), []),
  /** Saved by `ccguard defaults save`; null: the provisioned settings are the defaults. */
  manufacturerDefaults: v.optional(v.nullable(v.strictObject({ savedAt: v.string(), settings: settingsSnapshot })), null),
  /**
   * A factory restore whose settings outside this state (log-password file, web UI style file,
   * certificate) are still to be written: set in the same write that restores the state, cleared
   * after them, and finished at the next start if power was cut between.
   */
  /** On a double station's master: the revision of the synced credentials and the digest it was given for. */
  syncRevision: v.optional(v.nullable(v.strictObject({ revision: v.pipe(v.number(), v.integer(), v.minValue(1)), sha256: v.string() })), null),
  /** On its slave: the newest revision applied, and the master's key for matching its master cards' UIDs. */
  syncReceived: v.optional(
    v.nullable(
      v.strictObject({
        revision: v.pipe(v.number(), v.integer(), v.minValue(1)),
        at: v.string(),
        cardKey: v.nullable(v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/))),
      }),
    ),
    null,
  ),
  /**
   * Set when loading fell back to an older generation because the newest was damaged: what may
   * have been lost, and from when. Cleared only by the manufacturer's acknowledgement.
   */
  fallback: v.optional(
    v.nullable(
      v.strictObject({
        detectedAt: v.string(),
        lostGeneration: v.pipe(v.number(), v.integer()),
        lostWrittenAt: v.nullable(v.string()),
        reason: v.string(),
        usingGeneration: v.pipe(v.number(), v.integer()),
        mayHaveLost: v.array(v.string()),
      }),
    ),
    null,
  ),
  /** On a double station's master: the slave's X25519 key that secure cards' keys are sealed to. */
  syncPeerSealingKey: v.optional(v.nullable(v.pipe(v.string(), v.regex(/^[A-Za-z0-9+/]{43}=$/))), null),
  /** On its slave: its own X25519 key pair (base64), for the card keys the master seals to it. */
  syncSealingKeyPair: v.optional(v.nullable(v.strictObject({ publicKey: v.string(), privateKey: v.string() })), null),
  pendingRestore: v.optional(
    v.nullable(v.strictObject({ logPassword: v.nullable(v.string()), webUi: webUiMode, https: v.boolean(), reason: v.string() })),
    null,
  ),
});

export type State = v.InferOutput<typeof stateSchema>;
export type RoleRecord = v.InferOutput<typeof roleRecord>;
export type PukRecord = v.InferOutput<typeof pukRecord>;
export type MasterCardRecord = v.InferOutput<typeof masterCardRecord>;
export type SettingsSnapshot = v.InferOutput<typeof settingsSnapshot>;

/** The password policy of a newly provisioned device. */
export const PROVISIONED_POLICY: State['policy'] = { enforceStrong: true, enforcePasswordChange: false };

/** What a newly provisioned device holds: the manufacturer defaults until `defaults save`. */
export function provisionedSettings(): SettingsSnapshot {
  return { policy: { ...PROVISIONED_POLICY }, puk: null, masterCards: [], logPassword: null, webUi: '1.0', https: false };
}
