import { chmod, mkdir, unlink } from 'node:fs/promises';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import * as v from 'valibot';
import { describeIssues } from '../common/schema-issues.js';
import { CcguardError, StateError } from '../common/errors.js';
import { LineFramer } from '../wire/line-framer.js';
import type { SecurityLog } from '../logs/logging.js';
import {
  envelopeSchema,
  isMethod,
  MAX_FRAME_BYTES,
  methodParams,
  PROTOCOL_VERSION,
  type DataFrame,
  type ErrorBody,
  type Method,
  type ParamsOf,
  type RequestId,
  type Response,
  type ResultOf,
} from '../wire/protocol.js';
import { daemonAnswers } from '../wire/client.js';

export interface RequestContext {
  origin: string;
  /** Keeps the connection open past the response and sends `event` lines on it. */
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

export interface SocketServerOptions {
  path: string;
  idleTimeoutMs: number;
  maxClients: number;
  handlers: Handlers;
  /** Runs before every valid request reaches its handler. */
  beforeEach?: () => Promise<void>;
  log: Logger;
  security: SecurityLog;
}

/** Requests one connection may have in progress before the daemon stops reading from it. */
const MAX_IN_FLIGHT_PER_CONNECTION = 16;
/** Unread responses a client may leave queued before it is disconnected. */
const MAX_UNREAD_BYTES = 1024 * 1024;

/**
 * The control socket: newline-delimited JSON requests `{v, id, method, params}`, each validated
 * before it reaches a handler. Every bad frame gets an error response naming the problem and the
 * connection goes on; nothing one client sends stops the daemon serving the others.
 */
export class SocketServer {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #inFlight = new Set<Promise<void>>();
  #closing = false;

  constructor(private readonly options: SocketServerOptions) {
    this.#server = createServer({ pauseOnConnect: false }, (socket) => this.#accept(socket));
    this.#server.maxConnections = options.maxClients;
  }

  async listen(): Promise<void> {
    const { path } = this.options;
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    if (await daemonAnswers(path)) throw new StateError(`another daemon is already serving ${path}`);
    await unlink(path).catch(() => undefined); // a stale socket left by a crash
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(path, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    await chmod(path, 0o660);
  }

  /** Stops accepting, lets requests in progress finish, then closes every connection. */
  async close(): Promise<void> {
    this.#closing = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await Promise.allSettled([...this.#inFlight]);
    for (const socket of this.#sockets) socket.end();
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  #accept(socket: Socket): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    socket.setTimeout(this.options.idleTimeoutMs);
    socket.on('timeout', () => socket.destroy());
    socket.on('error', () => socket.destroy());
    let inFlight = 0;
    let following = false;
    let invalidCount = 0;
    const unsubscribers: Array<() => void> = [];
    const gone = new AbortController();
    const send = (message: object): void => {
      if (socket.destroyed) return;
      if (socket.writableLength > MAX_UNREAD_BYTES) {
        this.options.log.warn('client does not read its responses; disconnecting it');
        socket.destroy();
        return;
      }
      socket.write(`${JSON.stringify(message)}\n`);
    };
    const invalid = (id: RequestId | null, message: string): void => {
      invalidCount++;
      if (invalidCount === 1) this.options.security.record('InvalidMessages', { channel: 'socket', reason: message.slice(0, 200) });
      send(errorResponse(id, { code: 'invalid', message }));
    };
    const framer = new LineFramer(
      MAX_FRAME_BYTES,
      (line) => {
        if (line.trim() === '') return;
        const task = this.#handle(line, socket, send, invalid, gone.signal, (sub) => {
          following = true; // a follower waits for events as long as it likes
          socket.setTimeout(0);
          unsubscribers.push(sub((event) => send(event as object)));
        });
        inFlight++;
        // Idle means nothing to answer: a request queued behind a burst of hashes is not idle.
        if (inFlight === 1 && !following) socket.setTimeout(0);
        if (inFlight >= MAX_IN_FLIGHT_PER_CONNECTION) socket.pause();
        const tracked = task.finally(() => {
          this.#inFlight.delete(tracked);
          inFlight--;
          if (inFlight === 0 && !following && !socket.destroyed) socket.setTimeout(this.options.idleTimeoutMs);
          if (inFlight < MAX_IN_FLIGHT_PER_CONNECTION && !socket.destroyed) socket.resume();
        });
        this.#inFlight.add(tracked);
      },
      () => invalid(null, `request frame exceeds ${MAX_FRAME_BYTES} bytes; it was discarded`),
    );
    socket.on('data', (data: Buffer) => framer.push(data));
    socket.on('close', () => {
      this.#sockets.delete(socket);
      gone.abort();
      for (const unsubscribe of unsubscribers) unsubscribe();
      if (invalidCount > 1) this.options.log.warn({ invalidFrames: invalidCount }, 'connection sent invalid frames');
    });
  }

  async #handle(
    line: string,
    socket: Socket,
    send: (message: object) => void,
    invalid: (id: RequestId | null, message: string) => void,
    signal: AbortSignal,
    follow: (subscribe: (push: (event: unknown) => void) => () => void) => void,
  ): Promise<void> {
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (err) {
      invalid(null, `request is not valid JSON: ${(err as Error).message}`);
      return;
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      invalid(null, 'invalid request: expected a JSON object {"v", "id", "method", "params"}');
      return;
    }
    const envelope = v.safeParse(envelopeSchema, raw);
    if (!envelope.success) {
      invalid(salvageId(raw), `invalid request: ${describeIssues(envelope.issues)}`);
      return;
    }
    const { id, method, params, origin } = envelope.output;
    if (!isMethod(method)) {
      invalid(id, `unknown method "${method}"`);
      return;
    }
    const parsed = v.safeParse(methodParams[method], params);
    if (!parsed.success) {
      invalid(id, `invalid params for ${method}: ${describeIssues(parsed.issues)}`);
      return;
    }
    const ctx: RequestContext = {
      origin: `socket:${origin ?? 'unnamed'}`,
      follow: (subscribe) => follow((push) => subscribe((event) => push({ v: PROTOCOL_VERSION, id, event }))),
      stream: (source, progress) => streamFrames(socket, id, source, progress),
      signal,
    };
    try {
      const handler = this.options.handlers[method] as (p: unknown, c: RequestContext) => Promise<unknown>;
      await this.options.beforeEach?.();
      const result = await handler(parsed.output, ctx);
      send({ v: PROTOCOL_VERSION, id, ok: true, result } satisfies Response);
    } catch (err) {
      if (err instanceof CcguardError) {
        send(errorResponse(id, { code: err.code, message: err.message, ...err.details() }));
      } else {
        this.options.log.error({ err, method }, 'request failed');
        send(errorResponse(id, { code: 'internal', message: `internal error while handling ${method}; see the agent log` }));
      }
    }
  }
}

async function streamFrames(socket: Socket, id: RequestId, source: Readable, progress: () => { done: number; total: number }): Promise<void> {
  const gone = (): void => {
    source.destroy(new StateError('the client closed the connection during the transfer'));
  };
  socket.once('close', gone);
  try {
    for await (const chunk of source) {
      const data = chunk as Buffer;
      const frame: DataFrame = { v: PROTOCOL_VERSION, id, bytes: data.length, ...progress() };
      socket.write(`${JSON.stringify(frame)}\n`);
      if (!socket.write(data)) await Promise.race([once(socket, 'drain'), once(socket, 'close')]);
    }
  } finally {
    socket.off('close', gone);
  }
}

function errorResponse(id: RequestId | null, error: ErrorBody): Response {
  return { v: PROTOCOL_VERSION, id, ok: false, error };
}

/** The id of a request that failed validation, when it has a usable one, so the client can match the error. */
function salvageId(raw: unknown): RequestId | null {
  if (raw === null || typeof raw !== 'object' || !('id' in raw)) return null;
  const id = (raw as { id: unknown }).id;
  if (typeof id === 'string' && id.length > 0 && id.length <= 128) return id;
  if (typeof id === 'number' && Number.isSafeInteger(id)) return id;
  return null;
}
