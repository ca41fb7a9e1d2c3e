import { fullBucket, refill, spend, type Bucket } from '../../../policy/token-bucket.js';
import { costDecision, refund, SOCKET_LIMITS, startDecision, type CostDecision, type StartDecision } from '../../../policy/socket-admission.js';
import { ThrottledError } from '../../common/errors.js';
import type { MethodCost, ParamsOf, ResultOf } from '../../wire/protocol.js';
import type { Connection, UnreadLedger } from './connection.js';
import { monotonicMs } from '../../common/monotonic.js';

/**
 * Each cost's budget per second (per peer uid), the units a request reserves when it is admitted
 * (the most it may answer), the units an answer is charged (what it holds), and what a refused request is told.
 */
const COSTS: {
  [C in MethodCost]: {
    perSecond: number;
    capacity: number;
    reserves(params: unknown): number;
    units(result: unknown): number;
    refused: { [D in Exclude<CostDecision, 'admit'>]: string };
  };
} = {
  securityEvents: {
    perSecond: SOCKET_LIMITS.eventsPerSecond,
    capacity: SOCKET_LIMITS.eventsBurst,
    reserves: (params) => (params as ParamsOf<'events'>).limit,
    units: (result) => (result as ResultOf<'events'> | undefined)?.events.length ?? 0,
    refused: {
      debt: 'the daemon answers a bounded number of security events per second to each client user; try again in a moment',
      unread: 'earlier answers to this client user are still unread; read them or close those connections first',
      ceiling: 'other reads of the security events are in progress; try again in a moment',
    },
  },
};

/** A peer uid's share of one cost: its budget and the units its requests in flight reserved. */
interface Share {
  bucket: Bucket;
  reserved: number;
}

/** An admitted costly request: `settle` with what was answered (nothing, on an error) gives back what it did not use. */
export interface Reservation {
  settle(result: unknown): void;
}

/** Shares kept beyond this many are dropped once idle and refilled (they would be created full again). */
const KEPT_SHARES = 32;

/**
 * The daemon-wide counts and budgets the admission rules read, kept by the transport on the
 * monotonic clock; each decision is the policy's, over a snapshot taken here. Cost budgets are
 * per peer uid: one client user's debt never refuses another's reads.
 */
export class Admission {
  /** Requests in their handlers, daemon-wide. */
  running = 0;
  #invalid: Bucket = fullBucket(SOCKET_LIMITS.invalidPerSecond, monotonicMs());
  readonly #shares = new Map<MethodCost, Map<number, Share>>();
  readonly #reservedTotal = new Map<MethodCost, number>();

  constructor(private readonly ledger: UnreadLedger) {}

  /** Whether `conn` may start its next request now; the costly parts of the snapshot are read only when the rule needs them. */
  startDecision(conn: Connection): StartDecision {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the snapshot's getters have their own `this`
    const self = this;
    return startDecision({
      inFlight: conn.inFlight,
      running: conn.running,
      unread: conn.unread,
      lastInvalid: conn.lastInvalid,
      lastCostly: conn.lastCost !== null,
      get invalidBudget() {
        return self.#invalidBudget();
      },
      get costBudget() {
        return conn.lastCost === null ? Infinity : self.#share(conn.lastCost, conn.uid).bucket.tokens;
      },
      get uidUnread() {
        return self.#uidUnread(conn.uid);
      },
      runningTotal: this.running,
      get unreadTotal() {
        return self.ledger.unread();
      },
    });
  }

  chargeInvalid(): void {
    this.#invalid = spend(this.#invalid, 1);
  }

  /**
   * Admits a request of this cost from `uid` as it is read, reserving the most it may answer,
   * or gives the error it is refused with (a fresh connection's first request too).
   */
  admit(cost: MethodCost, uid: number, params: unknown): { reservation: Reservation } | { refusal: ThrottledError } {
    const share = this.#share(cost, uid);
    const units = COSTS[cost].reserves(params);
    const reservedTotal = this.#reservedTotal.get(cost) ?? 0;
    const decision = costDecision({
      units,
      uidBudget: share.bucket.tokens,
      uidUnread: this.#uidUnread(uid),
      uidReserved: share.reserved,
      reservedTotal,
    });
    if (decision !== 'admit') return { refusal: new ThrottledError(COSTS[cost].refused[decision], 1000) };
    share.bucket = spend(share.bucket, units);
    share.reserved += units;
    this.#reservedTotal.set(cost, reservedTotal + units);
    let settled = false;
    return {
      reservation: {
        settle: (result) => {
          if (settled) return;
          settled = true;
          const back = refund(units, COSTS[cost].units(result));
          share.bucket = spend(share.bucket, -back);
          share.reserved -= units;
          this.#reservedTotal.set(cost, (this.#reservedTotal.get(cost) ?? units) - units);
        },
      },
    };
  }

  #invalidBudget(): number {
    this.#invalid = refill(this.#invalid, SOCKET_LIMITS.invalidPerSecond, monotonicMs());
    return this.#invalid.tokens;
  }

  #uidUnread(uid: number): number {
    return this.ledger.unread(uid);
  }

  /** `uid`'s share of `cost`, its budget refilled to now. */
  #share(cost: MethodCost, uid: number): Share {
    const { perSecond, capacity } = COSTS[cost];
    const now = monotonicMs();
    let shares = this.#shares.get(cost);
    if (!shares) this.#shares.set(cost, (shares = new Map()));
    let share = shares.get(uid);
    if (!share) {
      if (shares.size >= KEPT_SHARES) this.#prune(cost, shares, now);
      shares.set(uid, (share = { bucket: fullBucket(capacity, now), reserved: 0 }));
    }
    share.bucket = refill(share.bucket, perSecond, now, capacity);
    return share;
  }

  /** Drops the shares that are idle and full again: many uids cost memory only while they owe. */
  #prune(cost: MethodCost, shares: Map<number, Share>, now: number): void {
    const { perSecond, capacity } = COSTS[cost];
    for (const [uid, share] of shares) {
      if (share.reserved === 0 && refill(share.bucket, perSecond, now, capacity).tokens >= capacity) shares.delete(uid);
    }
  }
}
