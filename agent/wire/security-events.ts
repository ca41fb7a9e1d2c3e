import * as v from 'valibot';
import { MASTER_CARD_KINDS } from '../../policy/master-card-kinds.js';
import { EXPORT_ROLES, ROLES, SETTINGS_ROLES } from '../../policy/roles.js';
import { SESSION_END_REASONS } from '../../policy/sessions.js';
import { WEB_UI_MODES } from '../../policy/web-ui.js';
import { masterCardId } from './status-report.js';

/**
 * The catalogue of security events: for each, the fields the daemon records with it, how the log
 * keeps it and what it means. The security log (`SecurityLog.record`), the `events` result schema
 * (and so `schemas/event.schema.json`) and the documentation read from here, so they cannot drift.
 * Names are OCPP 2.0.1 security event names where one fits (Part 2, appendix "Security events"),
 * ccguard's own where OCPP has none.
 */

const role = v.picklist(ROLES);
const webUiMode = v.picklist(WEB_UI_MODES);
const policy = v.strictObject({ enforceStrong: v.boolean(), enforcePasswordChange: v.boolean() });
const count = v.pipe(v.number(), v.integer(), v.minValue(0));
/** A duration the hold rules round to a tenth of a second (policy/master-card-hold.ts). */
const tenthsOfSeconds = v.pipe(v.number(), v.minValue(0));
export const origin = v.pipe(v.string(), v.description('where the request came from: the origin the client claims (socket:cli), or the sync peer'));

/** Parts that recur across events, named once in the JSON Schema (`$defs`). */
export const EVENT_DEFINITIONS = { role, origin, policy, webUiMode, masterCardId };
/** The PUK reset of the operator's password, named as the method that authenticated. */
const PUK_METHOD = v.literal('resetPasswordPuk');

/** One kind of `ReconfigurationOfSecurityParameters`: what changed, and the fields that say how. */
function change<const TChange extends string, const TEntries extends v.ObjectEntries>(name: TChange, entries: TEntries) {
  return v.strictObject({ change: v.literal(name), ...entries });
}

/**
 * How the log keeps an event. `always`: noise, counted per interval in `security-noise.log`;
 * `whenThrottled`: noise when its reason is `throttled` (refused unchecked, the guesser is waiting).
 * Noise is what anyone with the socket can cause at will with no secret checked.
 */
type NoiseRule = 'never' | 'always' | 'whenThrottled';

interface CatalogueEntry {
  description: string;
  /** The fields `record` takes: a strict object, or a variant of strict objects on one key. */
  fields: v.StrictObjectSchema<v.ObjectEntries, undefined> | v.VariantSchema<string, v.StrictObjectSchema<v.ObjectEntries, undefined>[], undefined>;
  noise: NoiseRule;
  /** Events anyone at the station or on the network can repeat: how many an interval keeps in `security.log`. */
  publicAllowance?: number;
}

/** How many of a public event (anyone can repeat it) an interval keeps in `security.log`; more are noise. */
const PUBLIC_ALLOWANCE = 10;

export const SECURITY_EVENTS = {
  StartupOfTheDevice: {
    description: 'the daemon started',
    fields: v.strictObject({ version: v.string(), provisioned: v.boolean(), generation: count }),
    noise: 'never',
  },
  MaintenanceLoginAccepted: {
    description: 'a role authenticated with its password, or the operator with the PUK',
    fields: v.strictObject({
      role,
      origin,
      mustChange: v.optional(v.boolean()),
      method: v.optional(PUK_METHOD),
      triesLeft: v.optional(count),
      newPassword: v.optional(v.pipe(v.literal('refused'), v.description('a right PUK with a new password the rules refused: the password was not set'))),
    }),
    noise: 'never',
  },
  MaintenanceLoginFailed: {
    description: 'a wrong password or PUK, or an attempt refused unchecked because the guesser is throttled',
    fields: v.strictObject({
      role,
      origin: v.optional(origin),
      reason: v.picklist(['wrongPassword', 'wrongPuk', 'throttled']),
      method: v.optional(PUK_METHOD),
      failures: v.optional(count),
      triesLeft: v.optional(count),
    }),
    noise: 'whenThrottled',
  },
  SessionStarted: {
    description: 'a console session was opened with a right password (changeOnly: the role may only change its password)',
    fields: v.strictObject({ role, origin, changeOnly: v.boolean() }),
    noise: 'never',
  },
  SessionEnded: {
    description: "a console session ended: logout, idle or absolute timeout, its role's password changed or reset, or evicted by a newer one",
    fields: v.strictObject({ role, origin: v.optional(origin), reason: v.picklist(SESSION_END_REASONS) }),
    noise: 'never',
  },
  ReconfigurationOfSecurityParameters: {
    description: 'a security setting changed; change says which',
    fields: v.variant('change', [
      change('password', { role, by: v.union([role, PUK_METHOD]), origin }),
      change('passwordPolicy', { before: policy, after: policy, by: v.literal('manufacturer'), origin }),
      change('passwordReset', { roles: v.array(role), by: v.literal('masterCard'), cardId: masterCardId, reader: v.string() }),
      change('resetPasswordPuk', { by: v.literal('manufacturer'), origin }),
      change('logPassword', { by: v.literal('manufacturer'), origin }),
      change('masterCardEnrolled', {
        cardId: masterCardId,
        kind: v.picklist(MASTER_CARD_KINDS),
        reader: v.string(),
        by: v.literal('manufacturer'),
        origin,
      }),
      change('masterCardEnrolmentFinished', { cardId: masterCardId, reader: v.string() }),
      /** A card enrolled before slave keys existed got its key 4 (the slaves' recognition key) at a presentation. */
      change('masterCardSlaveKeyAdded', { cardId: masterCardId, reader: v.string() }),
      change('masterCardEnrolmentUndone', { reader: v.string(), by: v.literal('masterCardRecovery') }),
      change('masterCardRemoved', { cardId: masterCardId, by: v.literal('manufacturer'), origin }),
      change('webUi', {
        from: webUiMode,
        to: webUiMode,
        by: v.pipe(v.string(), v.description('a role, the reason of a factory restore, or "outside ccguard" (the file changed under it)')),
        origin: v.optional(origin),
        path: v.optional(v.string()),
      }),
      change('https', { enabled: v.boolean(), by: v.picklist(SETTINGS_ROLES), origin }),
      change('certificate', { sha256: v.string(), by: v.string(), origin: v.optional(origin) }),
      change('manufacturerDefaults', {
        by: v.literal('manufacturer'),
        origin,
        policy,
        pukSet: v.boolean(),
        masterCards: v.array(masterCardId),
        logPasswordSet: v.boolean(),
        webUi: webUiMode,
        https: v.boolean(),
      }),
      change('stateFallbackAcknowledged', { lostGeneration: count, by: v.literal('manufacturer'), origin }),
      change('syncApplied', { revision: count, by: v.literal('master'), origin }),
    ]),
    noise: 'never',
  },
  InvalidMessages: {
    description: 'frames or requests that are not valid (counted per interval, never quoted)',
    fields: v.strictObject({
      channel: v.picklist(['socket', 'sync']),
      kind: v.optional(v.pipe(v.string(), v.description("the server's own token for what was wrong"))),
      origin: v.optional(origin),
      reason: v.optional(v.string()),
    }),
    noise: 'always',
  },
  StateFileRejected: {
    description: 'a state generation file failed its checks; the previous generation is used',
    fields: v.strictObject({ file: v.string(), reason: v.string(), usingGeneration: count }),
    noise: 'never',
  },
  ResetPasswordPukBlocked: {
    description: 'the last PUK try was wrong: the PUK is blocked for the source that tried (scope source) or, its shared tries used up, for everyone',
    fields: v.strictObject({ origin, scope: v.optional(v.picklist(['source', 'all'])) }),
    noise: 'never',
  },
  GuessingCeilingReached: {
    description:
      'critical: wrong secrets from sources other than root on the controller reached the ceiling for a role (or the PUK); every such source now waits role-wide, root and a card tap still get through',
    fields: v.strictObject({
      origin: v.optional(origin),
      role,
      method: v.optional(PUK_METHOD),
      failures: count,
      sources: count,
      severity: v.literal('critical'),
    }),
    noise: 'never',
  },
  LogExported: {
    description: 'the logs were exported (who, encrypted or why not, entries left out)',
    fields: v.strictObject({
      by: v.picklist(EXPORT_ROLES),
      origin,
      encrypted: v.boolean(),
      reason: v.optional(v.picklist(['unencryptedRequested', 'encryptionOffInConfig'])),
      files: count,
      bytes: count,
      skipped: v.optional(v.array(v.strictObject({ name: v.string(), type: v.picklist(['fifo', 'symlink', 'directory', 'socket', 'device', 'other']) }))),
    }),
    noise: 'never',
  },
  ResetOrReboot: {
    description: 'a master card hold restored the manufacturer defaults',
    fields: v.strictObject({ reason: v.literal('ManufacturerDefaultsRestored'), by: v.literal('masterCard'), cardId: masterCardId, reader: v.string() }),
    noise: 'never',
  },
  MasterCardHoldStarted: {
    description: 'a master card is held on a reader: the factory restore counts down',
    fields: v.strictObject({ cardId: masterCardId, reader: v.string(), holdSeconds: count }),
    noise: 'never',
  },
  MasterCardHoldProgress: {
    description: 'a master card hold goes on (every 10 s)',
    fields: v.strictObject({ cardId: masterCardId, reader: v.string(), elapsedSeconds: count, remainingSeconds: count }),
    noise: 'never',
  },
  MasterCardHoldCancelled: {
    description: 'a master card hold ended before the restore',
    fields: v.strictObject({
      cardId: masterCardId,
      reader: v.string(),
      reason: v.picklist(['removed', 'otherCard', 'otherMasterCard', 'proofFailed']),
      elapsedSeconds: tenthsOfSeconds,
    }),
    noise: 'never',
  },
  TamperDetectionActivated: {
    description: 'a card answered with an enrolled master card UID but failed its key check (a clone)',
    fields: v.strictObject({ cause: v.literal('masterCardCloneAttempt'), cardId: masterCardId, reader: v.string(), detail: v.string() }),
    noise: 'never',
    publicAllowance: PUBLIC_ALLOWANCE,
  },
  AttemptedReplayAttacks: {
    description: 'a sync push older than the revision applied',
    fields: v.strictObject({ channel: v.literal('sync'), origin, revision: count, have: count }),
    noise: 'never',
    publicAllowance: PUBLIC_ALLOWANCE,
  },
  SyncPeerRejected: {
    description: 'the slave presented another host key than the pinned one, or none is pinned, or its answers would make the master push in a loop',
    fields: v.strictObject({
      peer: v.string(),
      /** slaveAhead: a newer revision claimed again after one renumbering; sealingKeyChurn: a new sealing key again before an acknowledgement. */
      reason: v.picklist(['hostKeyMismatch', 'noPin', 'slaveAhead', 'sealingKeyChurn']),
      revision: count,
      /** The revision the slave claimed. */
      slaveRevision: v.optional(count),
    }),
    noise: 'never',
  },
} satisfies Record<string, CatalogueEntry>;

export type SecurityEventName = keyof typeof SECURITY_EVENTS;

/** The fields `record` takes for an event: a wrong or missing field is a compile error at the call. */
export type FieldsOf<E extends SecurityEventName> = v.InferInput<(typeof SECURITY_EVENTS)[E]['fields']>;

/** The fields of one kind of `ReconfigurationOfSecurityParameters`. */
export type ChangeFields<C extends FieldsOf<'ReconfigurationOfSecurityParameters'>['change']> = Extract<
  FieldsOf<'ReconfigurationOfSecurityParameters'>,
  { change: C }
>;

export const SECURITY_EVENT_NAMES = Object.keys(SECURITY_EVENTS) as SecurityEventName[];

const catalogue: Readonly<Record<SecurityEventName, CatalogueEntry>> = SECURITY_EVENTS;

export function eventEntry(event: SecurityEventName): CatalogueEntry {
  return catalogue[event];
}

/** Whether this event goes to `security-noise.log`, counted, rather than to `security.log`. */
export function isNoise(event: SecurityEventName, fields: object): boolean {
  const rule = catalogue[event].noise;
  return rule === 'always' || (rule === 'whenThrottled' && 'reason' in fields && fields.reason === 'throttled');
}

/** Each way an event's fields may look: one for a strict object, one per option of a variant. */
export function fieldShapes(event: SecurityEventName): v.ObjectEntries[] {
  const { fields } = catalogue[event];
  return fields.type === 'variant' ? fields.options.map((option) => option.entries) : [fields.entries];
}
