import { chmod, mkdir, unlink } from 'node:fs/promises';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import * as v from 'valibot';
import { describeIssues } from '../common/schema-issues.js';
import { CcguardError, InvalidInputError, StateError, ThrottledError } from '../common/errors.js';
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
import { runAsCaller, type Caller, type Peer } from '../common/request-context.js';
import { fullBucket, refill, spend, type Bucket } from '../../policy/token-bucket.js';
import { peerCredentialsUnavailable, peerOf } from './peer-credentials.js';

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

/**
 * What a hostile local client can make the daemon hold (README "Control socket limits"). Every
 * bound is enforced where bytes arrive: a connection that may not start another request is not
 * read from (its unparsed bytes stay in the kernel, at most one read chunk here).
 */
export const SOCKET_LIMITS = {
  /** Requests of one connection between being read and their answer being written to the socket. */
  perConnection: 16,
  /** Requests running in handlers daemon-wide; a connection's first one is exempt, so one client cannot keep another out. */
  running: 32,
  /** Answers written but not yet read, across all connections; beyond it, clients with unread answers wait. */
  unreadTotalBytes: 4 * 1024 * 1024,
  /** Unread answers after which a client that is due another one is disconnected. */
  unreadPerConnectionBytes: 1024 * 1024,
  /** `events --follow` subscribers, shared fairly between peer uids. */
  followers: 32,
  /**
   * Invalid frames answered per second, daemon-wide: a connection whose last frame was invalid
   * waits for this budget, so noise costs its sender time, not every other client's.
   */
  invalidPerSecond: 5000,
  /**
   * Security events answered by `events` per second, daemon-wide (each answer costs the events it holds):
   * a connection whose last request was `events` waits for this budget, so a flood of reads
   * cannot fill the event loop ahead of other clients' logins.
   */
  eventsPerSecond: 5000,
} as const;

/** The connection state the limits are decided on. */
class Connection {
  readonly gone = new AbortController();
  readonly unsubscribers: Array<() => void> = [];
  /** Requests read and not yet answered to the kernel. */
  inFlight = 0;
  /** Requests in their handler. */
  running = 0;
  following = false;
  invalidCount = 0;
  /** Its last frame was invalid: its next one waits for the invalid-frame budget. */
  lastInvalid = false;
  /** Its last request was `events`: its next one waits for the events budget. */
  lastReadEvents = false;
  /** Order of last use (a counter): the eviction rules pick the least recently used. */
  lastUsed = 0;
  framer!: LineFramer;

  constructor(
    readonly socket: Socket,
    readonly peer: Peer | null,
  ) {}

  /** Followers and connections are shared per peer uid; an unknown peer is one more "uid". */
  get uid(): number {
    return this.peer?.uid ?? -1;
  }
}

/**
 * The control socket: newline-delimited JSON requests `{v, id, method, params}`, each validated
 * before it reaches a handler. Every bad frame gets an error response naming the problem (never
 * quoting it) and the connection goes on; nothing one client sends stops the daemon serving the
 * others.
 *
 * Fair sharing (README "Control socket limits"):
 * - connections: up to `maxClients`. A new connection beyond it evicts the least recently used
 *   connection that has no request running and is not a follower, taken from the peer uid that
 *   holds the most connections; failing that, a follower; if there is none, the newcomer is
 *   closed. So a client asking `status` or `login` gets a slot however many idle, following or
 *   pipelining connections others hold.
 * - followers: at most `SOCKET_LIMITS.followers`. When all are taken, a follower of a uid holding
 *   at least two more than the newcomer's uid is closed (the oldest of the uid holding the most),
 *   else the new follow request is refused (`throttled`). One uid cannot blind another.
 */
export class SocketServer {
  readonly #server: Server;
  readonly #connections = new Set<Connection>();
  readonly #followers = new Set<Connection>();
  /** Connections holding unparsed bytes until they may start another request, in arrival order. */
  readonly #waiting = new Set<Connection>();
  /** Requests in their handlers (close() lets them finish; answers a client does not read are not waited for). */
  readonly #handling = new Set<Promise<void>>();
  readonly #maxFollowers: number;
  #running = 0;
  #uses = 0;
  #wakeScheduled = false;
  #wakeTimer: NodeJS.Timeout | null = null;
  #invalidBucket: Bucket = fullBucket(SOCKET_LIMITS.invalidPerSecond, performance.now());
  #eventsBucket: Bucket = fullBucket(SOCKET_LIMITS.eventsPerSecond, performance.now());
  #closing = false;

  constructor(private readonly options: SocketServerOptions) {
    // No server.maxConnections: the kernel would refuse newcomers while idle connections and
    // followers hold every slot. Connections are admitted (and evicted) by the rules above.
    this.#server = createServer({ pauseOnConnect: false }, (socket) => this.#accept(socket));
    this.#server.on('error', (err) => options.log.error({ err }, 'control socket error'));
    this.#maxFollowers = Math.max(1, Math.min(SOCKET_LIMITS.followers, Math.floor(options.maxClients / 2)));
    const unavailable = peerCredentialsUnavailable();
    if (unavailable) options.log.error(`${unavailable}; security events will not name the client process`);
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
    await Promise.allSettled([...this.#handling]);
    for (const conn of this.#connections) conn.socket.end();
    for (const conn of this.#connections) conn.socket.destroy();
    await closed;
  }

  #accept(socket: Socket): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    const conn = new Connection(socket, peerOf(socket));
    if (this.#connections.size >= this.options.maxClients) {
      const victim = this.#connectionToEvict();
      if (victim === null) {
        socket.destroy();
        return;
      }
      this.#forget(victim);
      victim.socket.destroy();
    }
    conn.lastUsed = ++this.#uses;
    this.#connections.add(conn);
    socket.setTimeout(this.options.idleTimeoutMs);
    socket.on('timeout', () => socket.destroy());
    socket.on('error', () => socket.destroy());
    // Until a request names its origin, whatever the connection causes is recorded with its peer.
    const unnamed: Caller = { origin: 'socket:unnamed', peer: conn.peer };
    conn.framer = new LineFramer(
      MAX_FRAME_BYTES,
      (line) => {
        if (line.trim() !== '') this.#dispatch(conn, line);
      },
      () => this.#invalid(conn, null, 'oversize', `request frame exceeds ${MAX_FRAME_BYTES} bytes; it was discarded`),
      undefined,
      () => this.#mayStart(conn),
    );
    socket.on('data', (data: Buffer) => {
      runAsCaller(unnamed, () => conn.framer.push(data));
      if (conn.framer.holding) this.#hold(conn);
    });
    socket.on('drain', () => this.#wake());
    socket.on('close', () => {
      this.#forget(conn);
      conn.gone.abort();
      for (const unsubscribe of conn.unsubscribers) unsubscribe();
      if (conn.invalidCount > 1) this.options.log.warn({ invalidFrames: conn.invalidCount, peer: conn.peer }, 'connection sent invalid frames');
      this.#wake();
    });
  }

  /** Whether `conn` may start its next request now (else its bytes stay unread). */
  #mayStart(conn: Connection): boolean {
    if (conn.inFlight >= SOCKET_LIMITS.perConnection) return false;
    if (conn.lastInvalid && this.#invalidBudget() < 1) {
      this.#wakeLater();
      return false;
    }
    if (conn.lastReadEvents && this.#eventsBudget() < 1) {
      this.#wakeLater();
      return false;
    }
    const unread = conn.socket.writableLength;
    if (conn.running === 0 && unread === 0) return true;
    if (this.#running >= SOCKET_LIMITS.running) return false;
    return unread === 0 || this.#unreadTotal() < SOCKET_LIMITS.unreadTotalBytes;
  }

  #invalidBudget(): number {
    this.#invalidBucket = refill(this.#invalidBucket, SOCKET_LIMITS.invalidPerSecond, performance.now());
    return this.#invalidBucket.tokens;
  }

  #eventsBudget(): number {
    this.#eventsBucket = refill(this.#eventsBucket, SOCKET_LIMITS.eventsPerSecond, performance.now());
    return this.#eventsBucket.tokens;
  }

  /** Wakes waiting connections once the invalid-frame budget has refilled a little. */
  #wakeLater(): void {
    if (this.#wakeTimer !== null) return;
    this.#wakeTimer = setTimeout(() => {
      this.#wakeTimer = null;
      this.#wake();
    }, 20);
    this.#wakeTimer.unref();
  }

  #unreadTotal(): number {
    let total = 0;
    for (const conn of this.#connections) total += conn.socket.writableLength;
    return total;
  }

  #hold(conn: Connection): void {
    conn.socket.pause();
    this.#waiting.add(conn);
  }

  /**
   * Lets waiting connections go on, oldest first, as far as the limits allow; once per turn of
   * the event loop, after its I/O. Resuming them right where an answer completes would chain
   * one connection's frames after another's without ever polling for I/O, and a flood on a few
   * connections would starve every other client.
   */
  #wake(): void {
    if (this.#wakeScheduled || this.#waiting.size === 0) return;
    this.#wakeScheduled = true;
    setImmediate(() => {
      this.#wakeScheduled = false;
      this.#wakeNow();
    });
  }

  #wakeNow(): void {
    for (const conn of [...this.#waiting]) {
      if (conn.socket.destroyed) {
        this.#waiting.delete(conn);
        continue;
      }
      if (!this.#mayStart(conn)) continue;
      this.#waiting.delete(conn);
      runAsCaller({ origin: 'socket:unnamed', peer: conn.peer }, () => conn.framer.resume());
      if (conn.framer.holding) this.#waiting.add(conn);
      else conn.socket.resume();
    }
  }

  #forget(conn: Connection): void {
    this.#connections.delete(conn);
    this.#followers.delete(conn);
    this.#waiting.delete(conn);
  }

  /**
   * The least recently used connection with nothing running and not following, from the uid
   * holding the most connections; when every connection is busy, a follower (it can reconnect).
   */
  #connectionToEvict(): Connection | null {
    const perUid = countByUid(this.#connections);
    // Lower rank goes first: idle connections, then followers; busy ones never.
    const rank = (c: Connection): number => (c.following ? 1 : c.running > 0 ? 2 : 0);
    let victim: Connection | null = null;
    for (const conn of this.#connections) {
      if (rank(conn) === 2) continue;
      if (victim === null) {
        victim = conn;
        continue;
      }
      const [mine, theirs] = [perUid.get(conn.uid) ?? 0, perUid.get(victim.uid) ?? 0];
      const better = rank(conn) - rank(victim) || theirs - mine || conn.lastUsed - victim.lastUsed;
      if (better < 0) victim = conn;
    }
    return victim;
  }

  /** Admits `conn` as a follower, closing another uid's follower if that uid holds more than its share. */
  #admitFollower(conn: Connection): void {
    // One subscription per connection: more would multiply every event's work on one client's behalf.
    if (conn.following) throw new InvalidInputError('this connection already follows the events; open another connection to follow twice');
    if (this.#followers.size >= this.#maxFollowers) {
      const perUid = countByUid(this.#followers);
      let top: Connection | null = null;
      for (const f of this.#followers) {
        const [mine, best] = [perUid.get(f.uid) ?? 0, top ? (perUid.get(top.uid) ?? 0) : -1];
        if (mine > best || (mine === best && top !== null && f.lastUsed < top.lastUsed)) top = f;
      }
      if (top === null || (perUid.get(top.uid) ?? 0) < (perUid.get(conn.uid) ?? 0) + 2) {
        throw new ThrottledError(`all ${this.#maxFollowers} event follower slots are taken; try again later`, 10_000);
      }
      this.#forget(top);
      top.socket.destroy();
    }
    conn.following = true;
    this.#followers.add(conn);
    conn.socket.setTimeout(0); // a follower waits for events as long as it likes
  }

  #dispatch(conn: Connection, line: string): void {
    conn.inFlight++;
    conn.running++;
    this.#running++;
    conn.lastUsed = ++this.#uses;
    // Idle means nothing to answer: a request queued behind a burst of hashes is not idle.
    if (conn.running === 1) conn.socket.setTimeout(0);
    let flushed: Promise<void> = Promise.resolve();
    const reply = (message: object): void => {
      flushed = this.#send(conn, message);
    };
    const handled = this.#handle(conn, line, reply).finally(() => {
      this.#handling.delete(handled);
      conn.running--;
      this.#running--;
      conn.lastUsed = ++this.#uses;
      if (conn.running === 0 && !conn.following && !conn.socket.destroyed) conn.socket.setTimeout(this.options.idleTimeoutMs);
      this.#wake();
    });
    this.#handling.add(handled);
    void handled
      .then(() => flushed)
      .finally(() => {
        conn.inFlight--;
        this.#wake();
      });
  }

  /** Writes one line; resolves when the kernel has it (or the client is gone). */
  #send(conn: Connection, message: object): Promise<void> {
    const { socket } = conn;
    if (socket.destroyed) return Promise.resolve();
    if (socket.writableLength > SOCKET_LIMITS.unreadPerConnectionBytes) {
      this.options.log.warn({ peer: conn.peer }, 'client does not read its responses; disconnecting it');
      socket.destroy();
      return Promise.resolve();
    }
    return new Promise((resolve) => socket.write(`${JSON.stringify(message)}\n`, () => resolve()));
  }

  #invalid(conn: Connection, id: RequestId | null, kind: string, message: string, reply?: (message: object) => void): void {
    conn.invalidCount++;
    conn.lastInvalid = true;
    this.#invalidBucket = spend(this.#invalidBucket, 1);
    // Every frame is counted (the security log aggregates noise per interval), by the server's own kind token.
    this.options.security.record('InvalidMessages', { channel: 'socket', kind });
    const response = errorResponse(id, { code: 'invalid', message });
    if (reply) reply(response);
    else void this.#send(conn, response);
  }

  async #handle(conn: Connection, line: string, reply: (message: object) => void): Promise<void> {
    const invalid = (id: RequestId | null, kind: string, message: string): void => this.#invalid(conn, id, kind, message, reply);
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      invalid(null, 'json', 'request is not valid JSON: send one JSON object per line');
      return;
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      invalid(null, 'shape', 'invalid request: expected a JSON object {"v", "id", "method", "params"}');
      return;
    }
    const envelope = v.safeParse(envelopeSchema, raw);
    if (!envelope.success) {
      invalid(salvageId(raw), 'envelope', `invalid request: ${describeIssues(envelope.issues)}`);
      return;
    }
    const { id, method, params, origin } = envelope.output;
    if (!isMethod(method)) {
      invalid(id, 'method', `unknown method: method is not one of ${METHOD_LIST}`);
      return;
    }
    const parsed = v.safeParse(methodParams[method], params);
    if (!parsed.success) {
      invalid(id, 'params', `invalid params for ${method}: ${describeIssues(parsed.issues)}`);
      return;
    }
    conn.lastInvalid = false;
    conn.lastReadEvents = method === 'events';
    // The budget holds daemon-wide: while it is in debt, a fresh connection's first `events` is refused too.
    const eventsRefused = method === 'events' && this.#eventsBudget() < 0;
    const { signal } = conn.gone;
    const caller: Caller = { origin: `socket:${origin ?? 'unnamed'}`, peer: conn.peer };
    const ctx: RequestContext = {
      ...caller,
      follow: (subscribe) => {
        this.#admitFollower(conn);
        conn.unsubscribers.push(subscribe((event) => void this.#send(conn, { v: PROTOCOL_VERSION, id, event })));
      },
      stream: (source, progress) => streamFrames(conn.socket, id, source, progress),
      signal,
    };
    try {
      const handler = this.options.handlers[method] as (p: unknown, c: RequestContext) => Promise<unknown>;
      const result = await runAsCaller(caller, async () => {
        await this.options.beforeEach?.();
        // Work for a client that has gone away is dropped before it starts.
        if (signal.aborted) return undefined;
        if (eventsRefused) throw new ThrottledError('the daemon answers a bounded number of security events per second; try again in a moment', 1000);
        return handler(parsed.output, ctx);
      });
      if (signal.aborted) return;
      // Charged by what was answered: a small log costs little, a deep read of the files a lot.
      if (method === 'events') this.#eventsBucket = spend(this.#eventsBucket, (result as ResultOf<'events'> | undefined)?.events.length ?? 0);
      reply({ v: PROTOCOL_VERSION, id, ok: true, result } satisfies Response);
    } catch (err) {
      if (err instanceof CcguardError) {
        reply(errorResponse(id, { code: err.code, message: err.message, ...err.details() }));
      } else {
        this.options.log.error({ err, method }, 'request failed');
        reply(errorResponse(id, { code: 'internal', message: `internal error while handling ${method}; see the agent log` }));
      }
    }
  }
}

const METHOD_LIST = Object.keys(methodParams).join(', ');

function countByUid(connections: Iterable<Connection>): Map<number, number> {
  const counts = new Map<number, number>();
  for (const conn of connections) counts.set(conn.uid, (counts.get(conn.uid) ?? 0) + 1);
  return counts;
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
