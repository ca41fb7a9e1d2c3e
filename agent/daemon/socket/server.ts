import type { Server, Socket } from 'node:net';
import type { Logger } from 'pino';
import { admitFollower, connectionToEvict, followerSlots } from '../../../policy/socket-admission.js';
import { InvalidInputError, ThrottledError } from '../../common/errors.js';
import { AggregatedWarnings } from '../../logs/aggregated-warnings.js';
import type { SecurityLog } from '../../logs/logging.js';
import { LineFramer } from '../../wire/line-framer.js';
import { costOf, MAX_FRAME_BYTES, PROTOCOL_VERSION, type RequestId } from '../../wire/protocol.js';
import { runAsCaller, type Caller } from '../../common/request-context.js';
import { peerCredentialsUnavailable, peerOf } from '../peer-credentials.js';
import { Admission } from './admission.js';
import { Connection, HeldReads, UnreadLedger } from './connection.js';
import { decodeRequest, type DecodedRequest, type InvalidFrame } from './decode.js';
import { dispatch, errorResponse, type Handlers, type RequestContext } from './dispatch.js';
import { closeListener, createListener, listenOn } from './listener.js';
import { streamFrames } from './streaming.js';

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
 * The control socket: newline-delimited JSON requests `{v, id, method, params}`, each validated
 * before it reaches a handler. Every bad frame gets an error response naming the problem (never
 * quoting it) and the connection goes on; nothing one client sends stops the daemon serving the
 * others. Who is admitted, read from and closed is decided by policy/socket-admission.
 */
export class SocketServer {
  readonly #server: Server;
  readonly #connections = new Set<Connection>();
  readonly #followers = new Set<Connection>();
  readonly #held: HeldReads;
  readonly #unread = new UnreadLedger();
  readonly #admission = new Admission(this.#unread);
  /** Requests in their handlers (close() lets them finish; answers a client does not read are not waited for). */
  readonly #handling = new Set<Promise<void>>();
  readonly #followerSlots: number;
  /** What any client can make the agent log say per connection, aggregated so a flood cannot rotate its history out. */
  readonly #warnings: AggregatedWarnings;
  #uses = 0;
  #closing = false;

  constructor(private readonly options: SocketServerOptions) {
    this.#server = createListener((socket) => this.#accept(socket), options.log);
    this.#held = new HeldReads((conn) => this.#mayStart(conn));
    this.#followerSlots = followerSlots(options.maxClients);
    this.#warnings = new AggregatedWarnings(options.log);
    const unavailable = peerCredentialsUnavailable();
    if (unavailable) options.log.error(`${unavailable}; security events will not name the client process`);
  }

  listen(): Promise<void> {
    return listenOn(this.#server, this.options.path);
  }

  /** Stops accepting, lets requests in progress finish, then closes every connection. */
  async close(): Promise<void> {
    this.#closing = true;
    const closed = closeListener(this.#server, this.options.path);
    await Promise.allSettled([...this.#handling]);
    for (const conn of this.#connections) conn.socket.end();
    for (const conn of this.#connections) conn.socket.destroy();
    await closed;
    this.#warnings.close();
  }

  #accept(socket: Socket): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    const conn = new Connection(socket, peerOf(socket), this.#unread);
    if (this.#connections.size >= this.options.maxClients) {
      const victim = connectionToEvict(this.#connections);
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
    this.#read(conn);
    socket.on('drain', () => this.#held.wake());
    socket.on('close', () => {
      this.#forget(conn);
      conn.gone.abort();
      for (const unsubscribe of conn.unsubscribers) unsubscribe();
      if (conn.invalidCount > 1)
        this.#warnings.warn('invalidFrames', conn.peer?.uid, { invalidFrames: conn.invalidCount, peer: conn.peer }, 'connection sent invalid frames');
      this.#held.wake();
    });
  }

  /** Frames the connection's bytes into requests, holding them while it may not start another. */
  #read(conn: Connection): void {
    // Until a request names its origin, whatever the connection causes is recorded with its peer.
    const unnamed: Caller = { origin: 'socket:unnamed', peer: conn.peer };
    const oversize = `request frame exceeds ${MAX_FRAME_BYTES} bytes; it was discarded`;
    conn.framer = new LineFramer(
      MAX_FRAME_BYTES,
      (line) => {
        if (line.trim() !== '') this.#start(conn, line);
      },
      () => this.#invalid(conn, { id: null, kind: 'oversize', message: oversize }),
      undefined,
      () => this.#mayStart(conn),
    );
    conn.socket.on('data', (data: Buffer) => {
      runAsCaller(unnamed, () => conn.framer.push(data));
      if (conn.framer.holding) this.#held.hold(conn);
    });
  }

  /** Whether `conn` may start its next request now (else its bytes stay unread). */
  #mayStart(conn: Connection): boolean {
    const decision = this.#admission.startDecision(conn);
    if (decision === 'budget') this.#held.wakeLater();
    return decision === 'start';
  }

  #forget(conn: Connection): void {
    this.#connections.delete(conn);
    this.#unread.forget(conn);
    this.#followers.delete(conn);
    this.#held.forget(conn);
  }

  /** Admits `conn` as a follower, closing another uid's follower if that uid holds more than its share. */
  #follow(conn: Connection): void {
    // One subscription per connection: more would multiply every event's work on one client's behalf.
    if (conn.following) throw new InvalidInputError('this connection already follows the events; open another connection to follow twice');
    const decision = admitFollower(this.#followers, conn.uid, this.#followerSlots);
    if (!decision.admit) throw new ThrottledError(`all ${this.#followerSlots} event follower slots are taken; try again later`, 10_000);
    if (decision.evict) {
      this.#forget(decision.evict);
      decision.evict.socket.destroy();
    }
    conn.following = true;
    this.#followers.add(conn);
    conn.socket.setTimeout(0); // a follower waits for events as long as it likes
  }

  /** Counts a request from being read until its answer is with the kernel, and runs it. */
  #start(conn: Connection, line: string): void {
    conn.inFlight++;
    conn.running++;
    this.#admission.running++;
    conn.lastUsed = ++this.#uses;
    // Idle means nothing to answer: a request queued behind a burst of hashes is not idle.
    if (conn.running === 1) conn.socket.setTimeout(0);
    let flushed: Promise<void> = Promise.resolve();
    const reply = (message: object): void => {
      flushed = conn.send(message, this.#warnings);
    };
    const handled = this.#handle(conn, line, reply).finally(() => {
      this.#handling.delete(handled);
      conn.running--;
      this.#admission.running--;
      conn.lastUsed = ++this.#uses;
      if (conn.running === 0 && !conn.following && !conn.socket.destroyed) conn.socket.setTimeout(this.options.idleTimeoutMs);
      this.#held.wake();
    });
    this.#handling.add(handled);
    void handled
      .then(() => flushed)
      .finally(() => {
        conn.inFlight--;
        this.#held.wake();
      });
  }

  #invalid(conn: Connection, invalid: InvalidFrame, reply?: (message: object) => void): void {
    conn.invalidCount++;
    conn.lastInvalid = true;
    this.#admission.chargeInvalid();
    // Every frame is counted (the security log aggregates noise per interval), by the server's own kind token.
    this.options.security.record('InvalidMessages', { channel: 'socket', kind: invalid.kind });
    const response = errorResponse(invalid.id, { code: 'invalid', message: invalid.message });
    if (reply) reply(response);
    else void conn.send(response, this.#warnings);
  }

  async #handle(conn: Connection, line: string, reply: (message: object) => void): Promise<void> {
    const decoded = decodeRequest(line);
    if (!decoded.ok) {
      this.#invalid(conn, decoded.invalid, reply);
      return;
    }
    const { request } = decoded;
    const cost = costOf(request.method) ?? null;
    conn.lastInvalid = false;
    conn.lastCost = cost;
    // Decided as the request is read, on what its own peer uid holds: a fresh connection's costly request may be refused too,
    // and what it may answer is reserved until it has answered (so a burst cannot all be admitted before the first ends).
    const admitted = cost === null ? null : this.#admission.admit(cost, conn.uid, request.params);
    const reservation = admitted !== null && 'reservation' in admitted ? admitted.reservation : null;
    let answered: unknown;
    const caller: Caller = { origin: `socket:${request.origin ?? 'unnamed'}`, peer: conn.peer, ...(request.client ? { client: request.client } : {}) };
    try {
      const response = await dispatch(this.options, request, caller, this.#context(conn, request, caller), {
        refusal: admitted !== null && 'refusal' in admitted ? admitted.refusal : null,
        charge: (result) => {
          answered = result;
        },
      });
      if (response !== null) reply(response);
    } finally {
      reservation?.settle(answered);
    }
  }

  #context(conn: Connection, request: DecodedRequest, caller: Caller): RequestContext {
    const { id } = request;
    return {
      ...caller,
      follow: (subscribe) => {
        this.#follow(conn);
        conn.unsubscribers.push(subscribe((event) => void conn.send(eventLine(id, event), this.#warnings)));
      },
      stream: (source, progress) => streamFrames(conn, id, source, progress),
      signal: conn.gone.signal,
    };
  }
}

function eventLine(id: RequestId, event: unknown): object {
  return { v: PROTOCOL_VERSION, id, event };
}
