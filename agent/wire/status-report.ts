import * as v from 'valibot';
import { MASTER_CARD_KINDS } from '../../policy/master-card-kinds.js';
import { ROLES, type Role } from '../../policy/roles.js';
import { WEB_UI_MODES } from '../../policy/web-ui.js';

/** What `status` answers (the `status --json` contract of design.md, plus diagnostics), and its parts. */

/** A count, size or duration: a whole number, never negative. */
export const count = v.pipe(v.number(), v.integer(), v.minValue(0));
/** A master card's id: the first 8 hex digits of its keyed hash, never its UID. */
export const masterCardId = v.pipe(v.string(), v.regex(/^[0-9a-f]{8}$/));

export const roleStatusSchema = v.strictObject({
  isDefault: v.boolean(),
  mustChange: v.boolean(),
  failures: count,
  throttled: v.boolean(),
  retryInSeconds: count,
});
export type RoleStatus = v.InferOutput<typeof roleStatusSchema>;

export const passwordPolicySchema = v.strictObject({ enforceStrong: v.boolean(), enforcePasswordChange: v.boolean() });
export type PasswordPolicy = v.InferOutput<typeof passwordPolicySchema>;

export const pukStatusSchema = v.strictObject({ set: v.boolean(), triesLeft: count, blocked: v.boolean() });
export type PukStatus = v.InferOutput<typeof pukStatusSchema>;

/** SHA-256 fingerprint and expiry of the device certificate, to check a browser warning against. */
export const certificateInfoSchema = v.strictObject({
  sha256: v.pipe(v.string(), v.regex(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)),
  notAfter: v.string(),
});
export type CertificateInfo = v.InferOutput<typeof certificateInfoSchema>;

export const readerStatusSchema = v.strictObject({
  name: v.string(),
  cardPresent: v.boolean(),
  /** The card on the reader is an enrolled master card (other cards are never identified). */
  masterCard: v.boolean(),
});
export type ReaderStatus = v.InferOutput<typeof readerStatusSchema>;

export const rfidStatusSchema = v.strictObject({
  /** "up": pcscd answers; "down": not reachable (retrying); "off": rfid.enabled is false; "unavailable": no PC/SC library. */
  service: v.picklist(['up', 'down', 'off', 'unavailable']),
  serviceError: v.nullable(v.string()),
  /** With "unavailable": the command that makes the card readers usable (installs and builds the PC/SC binding). */
  enableCommand: v.nullable(v.pipe(v.string(), v.description('with service unavailable: the command that installs and builds the PC/SC binding'))),
  readers: v.array(readerStatusSchema),
  hold: v.nullable(v.strictObject({ remainingSeconds: count, reader: v.string(), cardId: masterCardId, cardOnReader: v.boolean() })),
  /** A `master-card enroll` is waiting for a card. */
  enrolling: v.boolean(),
  /** Where it is: waiting for the first presentation, for the card's removal, for the second, or writing the card. */
  enrolmentStep: v.nullable(v.picklist(['placeCard', 'removeCard', 'placeCardAgain', 'personalising'])),
  /** Each enrolled master card's id and kind (`uidOnly` cards can be copied). */
  masterCards: v.array(v.strictObject({ id: masterCardId, kind: v.picklist(MASTER_CARD_KINDS) })),
  /** A secure card's enrolment was cut off (card pulled, power cut): kept until that card is presented again. */
  pendingEnrolment: v.nullable(v.strictObject({ reader: v.string(), startedAt: v.string() })),
  /** Cards that showed an enrolled secure card's UID but failed its authentication, in the last 24 h (since start). */
  cloneAttempts: v.nullable(v.strictObject({ count, lastReader: v.string(), lastAt: v.string() })),
});
export type RfidStatus = v.InferOutput<typeof rfidStatusSchema>;

const generation = v.pipe(v.number(), v.integer());
export const stateFallbackSchema = v.strictObject({
  detectedAt: v.string(),
  lostGeneration: generation,
  lostWrittenAt: v.nullable(v.string()),
  reason: v.string(),
  usingGeneration: generation,
  mayHaveLost: v.array(v.string()),
});

export const statusReportSchema = v.strictObject({
  version: v.string(),
  uptimeSeconds: count,
  provisioned: v.boolean(),
  stateGeneration: count,
  /** The newest state generation was damaged and an older one is in use: what may have been undone (until acknowledged). */
  stateFallback: v.nullable(stateFallbackSchema),
  roles: v.strictObject(Object.fromEntries(ROLES.map((r) => [r, roleStatusSchema])) as Record<Role, typeof roleStatusSchema>),
  policy: passwordPolicySchema,
  puk: pukStatusSchema,
  masterCards: count,
  rfid: rfidStatusSchema,
  logPasswordSet: v.boolean(),
  webUi: v.picklist(WEB_UI_MODES),
  https: v.boolean(),
  httpsCertificate: v.nullable(certificateInfoSchema),
  /** A double station's sync to its slave; null where no peer is configured. */
  sync: v.nullable(
    v.strictObject({
      peer: v.string(),
      inSync: v.boolean(),
      summary: v.string(),
      revision: v.nullable(count),
      lastAckedRevision: v.nullable(count),
      lastError: v.nullable(v.string()),
    }),
  ),
});
export type StatusReport = v.InferOutput<typeof statusReportSchema>;
