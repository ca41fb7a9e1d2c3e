import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import * as v from 'valibot';
import { InvalidInputError, RefusedError } from '../common/errors.js';
import { describeIssues } from '../common/schema-issues.js';
import { syncPayloadSchema, type SyncPayload } from './payload.js';
import type { SyncEnvelope } from '../wire/sync-envelope.js';

/** An OpenSSH "ssh-ed25519 BASE64 [comment]" line as a Node key (the blob is: string type, string key). */
export function ed25519PublicKey(line: string): KeyObject {
  const blob = Buffer.from(line.trim().split(/\s+/)[1] ?? '', 'base64');
  const typeLength = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
  const type = blob.subarray(4, 4 + typeLength).toString('ascii');
  const keyLength = blob.length >= 8 + typeLength ? blob.readUInt32BE(4 + typeLength) : 0;
  const raw = blob.subarray(8 + typeLength, 8 + typeLength + keyLength);
  if (type !== 'ssh-ed25519' || raw.length !== 32) throw new InvalidInputError('sync.masterKey is not an ssh-ed25519 public key');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

/** The payload of an envelope the master signed; refuses a bad signature or an invalid payload. */
export function openEnvelope(envelope: SyncEnvelope, masterKey: KeyObject): SyncPayload {
  const signed = verify(null, Buffer.from(envelope.payload, 'utf8'), masterKey, Buffer.from(envelope.signature, 'base64'));
  if (!signed) throw new RefusedError('sync payload refused: its signature is not from the master key in sync.masterKey');
  let raw: unknown;
  try {
    raw = JSON.parse(envelope.payload);
  } catch {
    throw new InvalidInputError('sync payload refused: not JSON');
  }
  const parsed = v.safeParse(syncPayloadSchema, raw);
  if (!parsed.success) throw new InvalidInputError(`sync payload refused: ${describeIssues(parsed.issues)}`);
  return parsed.output;
}
