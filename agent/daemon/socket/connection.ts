import type { Socket } from 'node:net';
import { readsTooSlowly } from '../../../policy/socket-admission.js';
import type { LineFramer } from '../../wire/line-framer.js';
import type { MethodCost } from '../../wire/protocol.js';
import { runAsCaller, type Peer } from '../../common/request-context.js';
import type { AggregatedWarnings } from '../../logs/aggregated-warnings.js';

/** One client connection: the state the admission rules are decided on. */
export class Connection {
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
  /** The cost of its last request (`events`'s): its next one waits for that budget. */
  lastCost: MethodCost | null = null;
  /** Order of last use (a counter): the eviction rules pick the least recently used. */
  lastUsed = 0;
  framer!: LineFramer;

  constructor(
    readonly socket: Socket,
    readonly peer: Peer | null,
    private readonly ledger: UnreadLedger,
  ) {}

  /** Followers and connections are shared per peer uid; an unknown peer is one more "uid". */
  get uid(): number {
    return this.peer?.uid ?? -1;
  }

  /** Bytes of answers written that the client has not read yet. */
  get unread(): number {
    return this.socket.writableLength;
  }

  /** Writes one line; resolves when the kernel has it (or the client is gone, or disconnected for not reading). */
  send(message: object, warnings: AggregatedWarnings): Promise<void> {
    const { socket } = this;
    if (socket.destroyed) return Promise.resolve();
    if (readsTooSlowly(this.unread)) {
      warnings.warn('unreadAnswers', this.peer?.uid, { peer: this.peer }, 'client does not read its responses; disconnecting it');
      socket.destroy();
      return Promise.resolve();
    }
    return new Promise((resolve) => this.write(`${JSON.stringify(message)}\n`, () => resolve()));
  }

  /** Every write to the client goes here, so the ledger knows the connection may owe it reads. */
  write(data: string | Buffer, done?: () => void): boolean {
    this.ledger.wrote(this);
    return this.socket.write(data, done);
  }
}

/**
 * The connections whose clients may not have read all their answers yet: each write adds its
 * connection, and a count drops those whose clients have read everything. The admission rules
 * count unread answers before every request; counted over every connection, that was quadratic
 * in a flood (300 followers at once: a login waited ~100 ms behind their requests, bench:abuse).
 */
export class UnreadLedger {
  readonly #owing = new Set<Connection>();

  wrote(conn: Connection): void {
    this.#owing.add(conn);
  }

  forget(conn: Connection): void {
    this.#owing.delete(conn);
  }

  /** Bytes written and not yet read by the clients of `uid`'s connections (every uid's without one). */
  unread(uid?: number): number {
    let total = 0;
    for (const conn of this.#owing) {
      const unread = conn.unread;
      if (unread === 0) this.#owing.delete(conn);
      else if (uid === undefined || conn.uid === uid) total += unread;
    }
    return total;
  }
}

/**
 * Connections whose reads are held (their unparsed bytes stay in the kernel) until they may
 * start another request, woken in arrival order.
 */
export class HeldReads {
  readonly #waiting = new Set<Connection>();
  #wakeScheduled = false;
  #wakeTimer: NodeJS.Timeout | null = null;

  /** `mayStart`: whether the limits let a connection start its next request now. */
  constructor(private readonly mayStart: (conn: Connection) => boolean) {}

  hold(conn: Connection): void {
    conn.socket.pause();
    this.#waiting.add(conn);
  }

  forget(conn: Connection): void {
    this.#waiting.delete(conn);
  }

  /**
   * Lets held connections go on, oldest first, as far as the limits allow; once per turn of the
   * event loop, after its I/O. Resuming them right where an answer completes would chain one
   * connection's frames after another's without ever polling for I/O, and a flood on a few
   * connections would starve every other client.
   */
  wake(): void {
    if (this.#wakeScheduled || this.#waiting.size === 0) return;
    this.#wakeScheduled = true;
    setImmediate(() => {
      this.#wakeScheduled = false;
      this.#wakeNow();
    });
  }

  /** Wakes held connections once a budget has refilled a little. */
  wakeLater(): void {
    if (this.#wakeTimer !== null) return;
    this.#wakeTimer = setTimeout(() => {
      this.#wakeTimer = null;
      this.wake();
    }, 20);
    this.#wakeTimer.unref();
  }

  #wakeNow(): void {
    for (const conn of [...this.#waiting]) {
      if (conn.socket.destroyed) {
        this.#waiting.delete(conn);
        continue;
      }
      if (!this.mayStart(conn)) continue;
      this.#waiting.delete(conn);
      runAsCaller({ origin: 'socket:unnamed', peer: conn.peer }, () => conn.framer.resume());
      if (conn.framer.holding) this.#waiting.add(conn);
      else conn.socket.resume();
    }
  }
}
