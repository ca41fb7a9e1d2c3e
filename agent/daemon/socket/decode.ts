import * as v from 'valibot';
import { describeIssues } from '../../common/schema-issues.js';
import { envelopeSchema, isMethod, methodParams, type Method, type RequestId } from '../../wire/protocol.js';

/** A request that passed every check: its params are the method schema's output (secrets as `Secret`). */
export interface DecodedRequest {
  id: RequestId;
  method: Method;
  params: unknown;
  origin: string | undefined;
  client: string | undefined;
}

/** Why a frame was refused (`oversize` by the framer, the rest here): `kind` is a fixed token for the security log, `message` never quotes the frame. */
export interface InvalidFrame {
  id: RequestId | null;
  kind: 'oversize' | 'json' | 'shape' | 'envelope' | 'method' | 'params';
  message: string;
}

export type Decoded = { ok: true; request: DecodedRequest } | { ok: false; invalid: InvalidFrame };

const METHOD_LIST = Object.keys(methodParams).join(', ');

/** One request line checked against the envelope, then against its method's params. */
export function decodeRequest(line: string): Decoded {
  const invalid = (id: RequestId | null, kind: InvalidFrame['kind'], message: string): Decoded => ({ ok: false, invalid: { id, kind, message } });
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return invalid(null, 'json', 'request is not valid JSON: send one JSON object per line');
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return invalid(null, 'shape', 'invalid request: expected a JSON object {"v", "id", "method", "params"}');
  }
  const envelope = v.safeParse(envelopeSchema, raw);
  if (!envelope.success) return invalid(salvageId(raw), 'envelope', `invalid request: ${describeIssues(envelope.issues)}`);
  const { id, method, params, origin, client } = envelope.output;
  if (!isMethod(method)) return invalid(id, 'method', `unknown method: method is not one of ${METHOD_LIST}`);
  const parsed = v.safeParse(methodParams[method], params);
  if (!parsed.success) return invalid(id, 'params', `invalid params for ${method}: ${describeIssues(parsed.issues)}`);
  return { ok: true, request: { id, method, params: parsed.output, origin, client } };
}

/** The id of a request that failed validation, when it has a usable one, so the client can match the error. */
function salvageId(raw: object): RequestId | null {
  if (!('id' in raw)) return null;
  const id = (raw as { id: unknown }).id;
  if (typeof id === 'string' && id.length > 0 && id.length <= 128) return id;
  if (typeof id === 'number' && Number.isSafeInteger(id)) return id;
  return null;
}
