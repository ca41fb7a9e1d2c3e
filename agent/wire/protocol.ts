import * as v from 'valibot';
import { EXPORT_ROLES, ROLES, SETTINGS_ROLES, type Access, type Action } from '../../policy/roles.js';
import { WEB_UI_MODES } from '../../policy/web-ui.js';
import { Secret } from '../common/secret.js';
import { syncEnvelopeSchema } from './sync-envelope.js';
import { auditReportSchema } from './audit-report.js';
import { masterCardListingSchema, syncStatusSchema } from './results.js';
import { securityEventSchema } from './security-event.js';
import {
  certificateInfoSchema,
  count,
  masterCardId,
  passwordPolicySchema,
  pukStatusSchema,
  rfidStatusSchema,
  stateFallbackSchema,
  statusReportSchema,
} from './status-report.js';

export const PROTOCOL_VERSION = 1;
/** Largest request line the daemon reads; a longer one is answered with an error and skipped. */
export const MAX_FRAME_BYTES = 64 * 1024;

/** A secret parameter: a `Secret` past this edge, never a string. Exported so a test can find every one. */
export const secret = v.pipe(
  v.string(),
  v.minLength(1, 'must not be empty'),
  v.maxLength(4096),
  v.transform((s) => new Secret(s)),
);
const role = v.picklist(ROLES);
const none = v.strictObject({});
const settingsRole = v.picklist(SETTINGS_ROLES);
const webUiMode = v.picklist(WEB_UI_MODES);
const passwordChanged = v.strictObject({ role, changed: v.literal(true) });
/** A console session's token (agent/daemon/credentials/sessions.ts): 256 random bits, base64url; a `Secret` past this edge. */
export const sessionToken = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9_-]{43}$/, 'a session token is 43 characters of base64url, as session.open answered it'),
  v.transform((s) => new Secret(s)),
);
const sessionView = {
  role,
  /** A default or must-change role: the session may only change the password (and log out). */
  changeOnly: v.boolean(),
  idleSeconds: count,
  /** Until the session ends if unused (the sooner of the idle and the absolute limit). */
  remainingSeconds: count,
};
const inSession = { session: sessionToken };
/** How a master card is enrolled (with the password, or in a session). */
const enrolment = {
  timeoutSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(600)), 60),
  /** The reader to enrol on; may be left out only when exactly one is attached. */
  reader: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(256))),
  /** Enrol a plain card by its UID alone (copyable) instead of personalising an NTAG 424 DNA. */
  uidOnly: v.optional(v.boolean(), false),
};

// Who may call a method (policy/roles.ts `Access`): checked once, at dispatch, before the handler runs.
const open = { kind: 'open' } as const;
const manufacturer = <A extends Action>(action: A) => ({ kind: 'password', action, roleFrom: 'manufacturer', secret: 'password' }) as const;
/** In a console session; `reauth`: a sensitive action, which needs the role's password (`password`) again. */
const session = <A extends Action>(action: A) => ({ kind: 'session', action, token: 'session' }) as const;
const sessionAgain = <A extends Action>(action: A) => ({ kind: 'session', action, token: 'session', reauth: { secret: 'password' } }) as const;

/**
 * What answering a method costs the daemon beyond its handler, charged to a daemon-wide budget:
 * `securityEvents`, one token per security event in the result (a deep read of the log files).
 */
export type MethodCost = 'securityEvents';

/**
 * The contract of the control socket: each method's parameters (secrets become `Secret` objects
 * at this edge) and the result the daemon answers with. The daemon's handlers are typed from
 * `result` and `schemas/*.json` are generated from it (`npm run schemas`): a result only gains fields.
 * `auth` says who may call it (policy/roles.ts `Access`); the daemon authenticates the caller from
 * it before the handler runs, and the handler of a method that needs a secret gets the `Actor`.
 */
export const methods = {
  status: { auth: open, params: none, result: statusReportSchema },
  login: {
    auth: { kind: 'password', action: 'password.own', roleFrom: 'role', secret: 'password' },
    params: v.strictObject({ role, password: secret }),
    result: v.strictObject({ role, mustChange: v.literal(false) }),
  },
  passwd: {
    auth: { kind: 'password', action: 'password.own', roleFrom: 'role', secret: 'currentPassword', mustChange: 'allow' },
    params: v.strictObject({ role, currentPassword: secret, newPassword: secret }),
    result: passwordChanged,
  },
  passwdAs: {
    auth: { kind: 'password', action: 'password.setOther', roleFrom: 'as', secret: 'asPassword' },
    params: v.strictObject({ role, as: v.literal('manufacturer'), asPassword: secret, newPassword: secret }),
    result: passwordChanged,
  },
  'policy.show': { auth: open, params: none, result: passwordPolicySchema },
  'policy.set': {
    auth: manufacturer('passwordPolicy.set'),
    params: v.pipe(
      v.strictObject({ password: secret, enforceStrong: v.optional(v.boolean()), enforcePasswordChange: v.optional(v.boolean()) }),
      v.check((p) => p.enforceStrong !== undefined || p.enforcePasswordChange !== undefined, 'give enforceStrong, enforcePasswordChange or both'),
    ),
    result: passwordPolicySchema,
  },
  'puk.set': { auth: manufacturer('puk.set'), params: v.strictObject({ password: secret, puk: secret }), result: pukStatusSchema },
  'puk.reset': {
    auth: { kind: 'puk', action: 'puk.reset', secret: 'puk' },
    params: v.strictObject({ puk: secret, newPassword: secret }),
    result: v.strictObject({ role: v.literal('operator'), changed: v.literal(true) }),
  },
  'webui.set': {
    auth: { kind: 'password', action: 'settings.change', roleFrom: 'as', secret: 'password' },
    params: v.strictObject({ mode: webUiMode, as: settingsRole, password: secret }),
    result: v.strictObject({ webUi: webUiMode }),
  },
  'https.set': {
    auth: { kind: 'password', action: 'settings.change', roleFrom: 'as', secret: 'password' },
    params: v.strictObject({ enabled: v.boolean(), as: settingsRole, password: secret }),
    result: v.strictObject({ https: v.boolean(), certificate: v.nullable(certificateInfoSchema) }),
  },
  'https.rotate': {
    auth: { kind: 'password', action: 'settings.change', roleFrom: 'as', secret: 'password' },
    params: v.strictObject({ as: settingsRole, password: secret }),
    result: v.strictObject({ certificate: certificateInfoSchema }),
  },
  'logPassword.set': {
    auth: manufacturer('logPassword.set'),
    params: v.strictObject({ password: secret, logPassword: secret }),
    result: v.strictObject({ logPasswordSet: v.literal(true) }),
  },
  'logs.export': {
    auth: { kind: 'password', action: 'logs.export', roleFrom: 'as', secret: 'password' },
    params: v.strictObject({ as: v.picklist(EXPORT_ROLES), password: secret, unencrypted: v.optional(v.boolean(), false) }),
    /** Sent after the zip's data frames: the log files in it, their bytes, and whether it is encrypted. */
    result: v.strictObject({ files: count, logBytes: count, encrypted: v.boolean() }),
  },
  'masterCard.enroll': {
    auth: manufacturer('masterCards.manage'),
    params: v.strictObject({ password: secret, ...enrolment }),
    result: masterCardListingSchema,
  },
  'masterCard.list': {
    auth: manufacturer('masterCards.manage'),
    params: v.strictObject({ password: secret }),
    result: v.strictObject({ masterCards: v.array(masterCardListingSchema) }),
  },
  'masterCard.remove': {
    auth: manufacturer('masterCards.manage'),
    params: v.strictObject({
      password: secret,
      id: v.pipe(v.string(), v.regex(/^[0-9a-f]{8}$/, 'a master card id is 8 hex digits, as "ccguard master-card list" shows')),
    }),
    result: v.strictObject({ removed: masterCardId, remaining: count }),
  },
  'defaults.save': {
    auth: manufacturer('defaults.save'),
    params: v.strictObject({ password: secret }),
    result: v.strictObject({ savedAt: v.pipe(v.string(), v.isoTimestamp()), masterCards: count }),
  },
  // The console's sessions (issue 26): a session is opened with a role's password and stands in for it
  // afterwards; the methods below mirror the password methods above for a session's role.
  'session.open': {
    auth: { kind: 'password', action: 'password.own', roleFrom: 'role', secret: 'password', mustChange: 'allow' },
    params: v.strictObject({ role, password: secret }),
    /** `token`: the session's only copy outside the daemon, which keeps its SHA-256. */
    result: v.strictObject({ token: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{43}$/)), ...sessionView }),
  },
  'session.info': {
    auth: { ...session('password.own'), mustChange: 'allow' },
    params: v.strictObject(inSession),
    result: v.strictObject(sessionView),
  },
  /** Like `session.info`, but not a use of the session: its idle time goes on (for a live page's stream). */
  'session.check': {
    auth: { ...session('password.own'), mustChange: 'allow', use: 'peek' },
    params: v.strictObject(inSession),
    result: v.strictObject(sessionView),
  },
  'session.close': {
    auth: { ...session('password.own'), mustChange: 'allow' },
    params: v.strictObject(inSession),
    result: v.strictObject({ closed: v.boolean() }),
  },
  'session.passwd': {
    auth: { kind: 'session', action: 'password.own', token: 'session', reauth: { secret: 'currentPassword' }, mustChange: 'allow' },
    params: v.strictObject({ ...inSession, currentPassword: secret, newPassword: secret }),
    result: passwordChanged,
  },
  'session.passwdAs': {
    auth: sessionAgain('password.setOther'),
    params: v.strictObject({ ...inSession, password: secret, role, newPassword: secret }),
    result: passwordChanged,
  },
  'session.policy.set': {
    auth: session('passwordPolicy.set'),
    params: v.pipe(
      v.strictObject({ ...inSession, enforceStrong: v.optional(v.boolean()), enforcePasswordChange: v.optional(v.boolean()) }),
      v.check((p) => p.enforceStrong !== undefined || p.enforcePasswordChange !== undefined, 'give enforceStrong, enforcePasswordChange or both'),
    ),
    result: passwordPolicySchema,
  },
  'session.puk.set': { auth: sessionAgain('puk.set'), params: v.strictObject({ ...inSession, password: secret, puk: secret }), result: pukStatusSchema },
  'session.logPassword.set': {
    auth: sessionAgain('logPassword.set'),
    params: v.strictObject({ ...inSession, password: secret, logPassword: secret }),
    result: v.strictObject({ logPasswordSet: v.literal(true) }),
  },
  'session.webui.set': {
    /** 2.0-only can be undone only over SSH: the password again for it, not for 1.0 or 2.0. */
    auth: { kind: 'session', action: 'settings.change', token: 'session', reauth: { secret: 'password', when: { param: 'mode', values: ['2.0-only'] } } },
    params: v.strictObject({ ...inSession, mode: webUiMode, password: v.optional(secret) }),
    result: v.strictObject({ webUi: webUiMode }),
  },
  'session.https.set': {
    auth: session('settings.change'),
    params: v.strictObject({ ...inSession, enabled: v.boolean() }),
    result: v.strictObject({ https: v.boolean(), certificate: v.nullable(certificateInfoSchema) }),
  },
  'session.https.rotate': {
    auth: session('settings.change'),
    params: v.strictObject(inSession),
    result: v.strictObject({ certificate: certificateInfoSchema }),
  },
  'session.logs.export': {
    auth: session('logs.export'),
    params: v.strictObject({ ...inSession, unencrypted: v.optional(v.boolean(), false) }),
    result: v.strictObject({ files: count, logBytes: count, encrypted: v.boolean() }),
  },
  'session.masterCard.enroll': {
    auth: sessionAgain('masterCards.manage'),
    params: v.strictObject({ ...inSession, password: secret, ...enrolment }),
    result: masterCardListingSchema,
  },
  'session.masterCard.list': {
    auth: session('masterCards.manage'),
    params: v.strictObject(inSession),
    result: v.strictObject({ masterCards: v.array(masterCardListingSchema) }),
  },
  'session.masterCard.remove': {
    auth: sessionAgain('masterCards.manage'),
    params: v.strictObject({ ...inSession, password: secret, id: v.pipe(v.string(), v.regex(/^[0-9a-f]{8}$/, 'a master card id is 8 hex digits')) }),
    result: v.strictObject({ removed: masterCardId, remaining: count }),
  },
  'session.defaults.save': {
    auth: sessionAgain('defaults.save'),
    params: v.strictObject({ ...inSession, password: secret }),
    result: v.strictObject({ savedAt: v.pipe(v.string(), v.isoTimestamp()), masterCards: count }),
  },
  'session.audit.acknowledgeFallback': {
    auth: session('stateFallback.acknowledge'),
    params: v.strictObject(inSession),
    result: v.strictObject({ acknowledged: stateFallbackSchema }),
  },
  readers: { auth: open, params: none, result: rfidStatusSchema },
  audit: { auth: open, params: none, result: auditReportSchema },
  'audit.acknowledgeFallback': {
    auth: manufacturer('stateFallback.acknowledge'),
    params: v.strictObject({ password: secret }),
    result: v.strictObject({ acknowledged: stateFallbackSchema }),
  },
  'sync.status': { auth: open, params: none, result: syncStatusSchema },
  'sync.apply': {
    /** The envelope's signature (the master's key, pinned at pairing) is its proof: the receiver checks it. */
    auth: open,
    params: v.strictObject({ envelope: syncEnvelopeSchema }),
    /** `sealingKey`: the slave's X25519 public key (base64), which the master seals secure cards' keys to. */
    result: v.strictObject({ applied: v.boolean(), revision: count, sealingKey: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9+/]{43}=$/))) }),
  },
  events: {
    auth: open,
    params: v.strictObject({
      follow: v.optional(v.boolean(), false),
      limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000)), 100),
    }),
    /** The past events, oldest first; with `follow`, each new one comes as an `event` line after it. */
    result: v.strictObject({ events: v.array(securityEventSchema) }),
    cost: 'securityEvents',
  },
} as const satisfies Record<string, { auth: Access; params: v.GenericSchema; result: v.GenericSchema; cost?: MethodCost }>;

type Contract = typeof methods;
export type Method = keyof Contract;
export type ParamsOf<M extends Method> = v.InferOutput<Contract[M]['params']>;
export type ParamsIn<M extends Method> = v.InferInput<Contract[M]['params']>;
export type ResultOf<M extends Method> = v.InferOutput<Contract[M]['result']>;
export type AccessOf<M extends Method> = Contract[M]['auth'];

/** Each method's parameter schema: what the socket checks a request against. */
export const methodParams = Object.fromEntries(Object.entries(methods).map(([method, { params }]) => [method, params])) as {
  [M in Method]: Contract[M]['params'];
};

export function isMethod(name: string): name is Method {
  return Object.hasOwn(methodParams, name);
}

/** The budget a method's answers are charged to, if any. */
export function costOf(method: Method): MethodCost | undefined {
  const entry = methods[method];
  return 'cost' in entry ? entry.cost : undefined;
}

const requestId = v.union([v.pipe(v.string(), v.minLength(1), v.maxLength(128)), v.pipe(v.number(), v.safeInteger())]);
export type RequestId = v.InferOutput<typeof requestId>;

/** What a client may claim as its origin. */
export const ORIGIN_TOKEN = /^[a-z0-9._:-]{1,32}$/;
/** What a front end may name as the client it acts for (an IPv4 or IPv6 address, a host name). */
export const CLIENT_TOKEN = /^[0-9A-Za-z._:[\]%-]{1,64}$/;

export const envelopeSchema = v.strictObject({
  v: v.literal(PROTOCOL_VERSION, `unsupported protocol version; this daemon speaks v${PROTOCOL_VERSION}`),
  id: requestId,
  method: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  params: v.optional(v.record(v.string(), v.unknown()), {}),
  /**
   * Who the client says it is (e.g. "cli", "web"): recorded in security events beside the kernel's
   * peer, never trusted. A short token, so it cannot forge a log line or carry escape sequences.
   */
  origin: v.optional(v.pipe(v.string(), v.regex(ORIGIN_TOKEN, 'must be a short token: 1 to 32 characters of a-z 0-9 . _ : -'))),
  /**
   * For a front end that serves many people (a web console): the client it acts for, e.g. the
   * browser's address. Failures are then counted for that client within the peer's share
   * (policy/sources.ts), and events carry it beside the peer. Claimed, never trusted for more.
   */
  client: v.optional(v.pipe(v.string(), v.regex(CLIENT_TOKEN, 'must be a client address: 1 to 64 characters of 0-9 a-z A-Z . : _ - [ ] %'))),
});

export interface ErrorBody {
  code: string;
  message: string;
  [detail: string]: unknown;
}

/**
 * The header of one piece of a streamed answer (a log export), sent before the final response:
 * the line is followed by `bytes` raw bytes. `done`/`total` tell the progress (input bytes).
 */
export interface DataFrame {
  v: number;
  id: RequestId;
  bytes: number;
  done: number;
  total: number;
}

export type Response = { v: number; id: RequestId | null; ok: true; result: unknown } | { v: number; id: RequestId | null; ok: false; error: ErrorBody };
