import * as v from 'valibot';

/** A sync payload as sent: the JSON text and the master's Ed25519 signature over it. */
export const syncEnvelopeSchema = v.strictObject({
  payload: v.pipe(v.string(), v.minLength(2), v.maxLength(48 * 1024)),
  signature: v.pipe(v.string(), v.regex(/^[A-Za-z0-9+/]{86}==$/, 'must be a base64 Ed25519 signature')),
});
export type SyncEnvelope = v.InferOutput<typeof syncEnvelopeSchema>;
