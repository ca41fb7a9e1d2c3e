import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { CcguardError } from '../../common/errors.js';
import { PROTOCOL_VERSION, type ErrorBody, type Method, type ParamsOf, type RequestId, type Response, type ResultOf } from '../../wire/protocol.js';
import { runAsCaller, type Caller, type Peer } from '../../common/request-context.js';
import type { DecodedRequest } from './decode.js';

export interface RequestContext {
  origin: string;
  /** The kernel's word on the client process (SO_PEERCRED); null if it could not be read. */
  peer: Peer | null;
  /**
   * Keeps the connection open past the response and sends `event` lines on it. Throws
   * `ThrottledError` when every follower slot is taken (see `SOCKET_LIMITS.followers`).
   */
  follow(subscribe: (push: (event: unknown) => void) => () => void): void;
  /**
   * Sends `source` as data frames before the response, at the pace the client reads; rejects
   * (and destroys `source`) when the client goes away.
   */
  stream(source: Readable, progress: () => { done: number; total: number }): Promise<void>;
  /** Aborted when the client's connection closes (a request waiting for something stops waiting). */
  signal: AbortSignal;
}

export type Handlers = { [M in Method]: (params: ParamsOf<M>, ctx: RequestContext) => Promise<ResultOf<M>> };

export interface DispatchOptions {
  handlers: Handlers;
  /** Runs before every valid request reaches its handler. */
  beforeEach?: () => Promise<void>;
  log: Logger;
}

/** What may stop a request before its handler, and what its answer is charged to. */
export interface DispatchHooks {
  /** Thrown inside the request context, after `beforeEach`, instead of running the handler. */
  refusal: CcguardError | null;
  /** Called with the handler's result before it is answered. */
  charge(result: unknown): void;
}

export function errorResponse(id: RequestId | null, error: ErrorBody): Response {
  return { v: PROTOCOL_VERSION, id, ok: false, error };
}

/** The one mapping of a failure to its wire error: ccguard's typed errors say what, anything else is `internal` (and logged). */
export function errorBody(err: unknown, method: Method, log: Logger): ErrorBody {
  if (err instanceof CcguardError) return { code: err.code, message: err.message, ...err.details() };
  log.error({ err, method }, 'request failed');
  return { code: 'internal', message: `internal error while handling ${method}; see the agent log` };
}

/**
 * Runs `request`'s handler as `caller` and gives the response to send, or null when the client
 * went away first (work for a client that has gone is dropped before it starts, its answer unsent).
 */
export async function dispatch(
  options: DispatchOptions,
  request: DecodedRequest,
  caller: Caller,
  ctx: RequestContext,
  hooks: DispatchHooks,
): Promise<Response | null> {
  const { id, method, params } = request;
  const { signal } = ctx;
  try {
    const handler = options.handlers[method] as (p: unknown, c: RequestContext) => Promise<unknown>;
    const result = await runAsCaller(caller, async () => {
      await options.beforeEach?.();
      if (signal.aborted) return undefined;
      if (hooks.refusal) throw hooks.refusal;
      return handler(params, ctx);
    });
    if (signal.aborted) return null;
    hooks.charge(result);
    return { v: PROTOCOL_VERSION, id, ok: true, result } satisfies Response;
  } catch (err) {
    return errorResponse(id, errorBody(err, method, options.log));
  }
}
