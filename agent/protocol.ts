import { z } from 'zod';
import { ROLES } from '../policy/roles.js';
import { Secret } from './secret.js';

export const PROTOCOL_VERSION = 1;
/** Largest request line the daemon reads; a longer one is answered with an error and skipped. */
export const MAX_FRAME_BYTES = 64 * 1024;

const secret = z
  .string()
  .min(1, 'must not be empty')
  .max(4096)
  .transform((s) => new Secret(s));
const role = z.enum(ROLES);
const none = z.object({}).strict();

/** Each method's parameters. Secrets become `Secret` objects at this edge. */
export const methodParams = {
  status: none,
  login: z.object({ role, password: secret }).strict(),
  passwd: z.object({ role, currentPassword: secret, newPassword: secret }).strict(),
  passwdAs: z.object({ role, as: z.literal('manufacturer'), asPassword: secret, newPassword: secret }).strict(),
  'policy.show': none,
  'policy.set': z
    .object({ password: secret, enforceStrong: z.boolean().optional(), enforcePasswordChange: z.boolean().optional() })
    .strict()
    .refine((p) => p.enforceStrong !== undefined || p.enforcePasswordChange !== undefined, {
      message: 'give enforceStrong, enforcePasswordChange or both',
    }),
  events: z
    .object({ follow: z.boolean().default(false), limit: z.number().int().min(1).max(10_000).default(100) })
    .strict(),
} as const;

export type Method = keyof typeof methodParams;
export type ParamsOf<M extends Method> = z.output<(typeof methodParams)[M]>;
export type ParamsIn<M extends Method> = z.input<(typeof methodParams)[M]>;

export function isMethod(name: string): name is Method {
  return Object.hasOwn(methodParams, name);
}

export const requestId = z.union([z.string().min(1).max(128), z.number().int().safe()]);
export type RequestId = z.infer<typeof requestId>;

export const envelopeSchema = z
  .object({
    v: z.literal(PROTOCOL_VERSION, { error: `unsupported protocol version; this daemon speaks v${PROTOCOL_VERSION}` }),
    id: requestId,
    method: z.string().min(1).max(64),
    params: z.record(z.string(), z.unknown()).default({}),
    /** Who the client says it is (e.g. "cli", "web"): recorded in security events, never trusted. */
    origin: z.string().min(1).max(64).optional(),
  })
  .strict();

export interface ErrorBody {
  code: string;
  message: string;
  [detail: string]: unknown;
}

export type Response =
  | { v: number; id: RequestId | null; ok: true; result: unknown }
  | { v: number; id: RequestId | null; ok: false; error: ErrorBody };

/** A pushed line on a following connection (`events --follow`). */
export interface Push {
  v: number;
  id: RequestId;
  event: unknown;
}
