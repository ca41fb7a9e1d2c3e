import * as v from 'valibot';
import { EXPORT_ROLES, ROLES, SETTINGS_ROLES } from '../../policy/roles.js';
import { WEB_UI_MODES } from '../../policy/web-ui.js';
import { Secret } from '../common/secret.js';
import { syncEnvelopeSchema } from '../sync/envelope.js';

export const PROTOCOL_VERSION = 1;
/** Largest request line the daemon reads; a longer one is answered with an error and skipped. */
export const MAX_FRAME_BYTES = 64 * 1024;

const secret = v.pipe(
  v.string(),
  v.minLength(1, 'must not be empty'),
  v.maxLength(4096),
  v.transform((s) => new Secret(s)),
);
const role = v.picklist(ROLES);
const none = v.strictObject({});
const settingsRole = v.picklist(SETTINGS_ROLES);

/** Each method's parameters. Secrets become `Secret` objects at this edge. */
export const methodParams = {
  status: none,
  login: v.strictObject({ role, password: secret }),
  passwd: v.strictObject({ role, currentPassword: secret, newPassword: secret }),
  passwdAs: v.strictObject({ role, as: v.literal('manufacturer'), asPassword: secret, newPassword: secret }),
  'policy.show': none,
  'policy.set': v.pipe(
    v.strictObject({ password: secret, enforceStrong: v.optional(v.boolean()), enforcePasswordChange: v.optional(v.boolean()) }),
    v.check((p) => p.enforceStrong !== undefined || p.enforcePasswordChange !== undefined, 'give enforceStrong, enforcePasswordChange or both'),
  ),
  'puk.set': v.strictObject({ password: secret, puk: secret }),
  'puk.reset': v.strictObject({ puk: secret, newPassword: secret }),
  'webui.set': v.strictObject({ mode: v.picklist(WEB_UI_MODES), as: settingsRole, password: secret }),
  'https.set': v.strictObject({ enabled: v.boolean(), as: settingsRole, password: secret }),
  'https.rotate': v.strictObject({ as: settingsRole, password: secret }),
  'logPassword.set': v.strictObject({ password: secret, logPassword: secret }),
  'logs.export': v.strictObject({ as: v.picklist(EXPORT_ROLES), password: secret, unencrypted: v.optional(v.boolean(), false) }),
  'masterCard.enroll': v.strictObject({
    password: secret,
    timeoutSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(600)), 60),
    /** The reader to enrol on; may be left out only when exactly one is attached. */
    reader: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(256))),
    /** Enrol a plain card by its UID alone (copyable) instead of personalising an NTAG 424 DNA. */
    uidOnly: v.optional(v.boolean(), false),
  }),
  'masterCard.list': v.strictObject({ password: secret }),
  'masterCard.remove': v.strictObject({ password: secret, id: v.pipe(v.string(), v.regex(/^[0-9a-f]{8}$/, 'a master card id is 8 hex digits, as "ccguard master-card list" shows')) }),
  'defaults.save': v.strictObject({ password: secret }),
  readers: none,
  audit: none,
  'audit.acknowledgeFallback': v.strictObject({ password: secret }),
  'sync.status': none,
  'sync.apply': v.strictObject({ envelope: syncEnvelopeSchema }),
  events: v.strictObject({
    follow: v.optional(v.boolean(), false),
    limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000)), 100),
  }),
} as const;

export type Method = keyof typeof methodParams;
export type ParamsOf<M extends Method> = v.InferOutput<(typeof methodParams)[M]>;
export type ParamsIn<M extends Method> = v.InferInput<(typeof methodParams)[M]>;

export function isMethod(name: string): name is Method {
  return Object.hasOwn(methodParams, name);
}

const requestId = v.union([
  v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  v.pipe(v.number(), v.safeInteger()),
]);
export type RequestId = v.InferOutput<typeof requestId>;

export const envelopeSchema = v.strictObject({
  v: v.literal(PROTOCOL_VERSION, `unsupported protocol version; this daemon speaks v${PROTOCOL_VERSION}`),
  id: requestId,
  method: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  params: v.optional(v.record(v.string(), v.unknown()), {}),
  /** Who the client says it is (e.g. "cli", "web"): recorded in security events, never trusted. */
  origin: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(64))),
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

export type Response =
  | { v: number; id: RequestId | null; ok: true; result: unknown }
  | { v: number; id: RequestId | null; ok: false; error: ErrorBody };
