import { fullBucket, refill, spend, type Bucket } from '../../../policy/token-bucket.js';
import { costRefused, SOCKET_LIMITS, startDecision, type StartDecision } from '../../../policy/socket-admission.js';
import { ThrottledError } from '../../common/errors.js';
import type { MethodCost, ResultOf } from '../../wire/protocol.js';
import { unreadTotal, type Connection } from './connection.js';

/** Each cost's budget per second, the units an answer is charged (what it holds), and what a refused request is told. */
const COSTS: { [C in MethodCost]: { perSecond: number; units(result: unknown): number; refused: string } } = {
  securityEvents: {
    perSecond: SOCKET_LIMITS.eventsPerSecond,
    units: (result) => (result as ResultOf<'events'> | undefined)?.events.length ?? 0,
    refused: 'the daemon answers a bounded number of security events per second; try again in a moment',
  },
};

/**
 * The daemon-wide counts and budgets the admission rules read, kept by the transport on the
 * monotonic clock; each decision is the policy's, over a snapshot taken here.
 */
export class Admission {
  /** Requests in their handlers, daemon-wide. */
  running = 0;
  #invalid: Bucket = fullBucket(SOCKET_LIMITS.invalidPerSecond, performance.now());
  readonly #costs = new Map<MethodCost, Bucket>();

  constructor(private readonly connections: ReadonlySet<Connection>) {}

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
        return conn.lastCost === null ? Infinity : self.#costBudget(conn.lastCost);
      },
      runningTotal: this.running,
      get unreadTotal() {
        return unreadTotal(self.connections);
      },
    });
  }

  chargeInvalid(): void {
    this.#invalid = spend(this.#invalid, 1);
  }

  /** The error a request of this cost is refused with now, if it is: the budget holds daemon-wide, a fresh connection's first request too. */
  refusal(cost: MethodCost): ThrottledError | null {
    return costRefused(this.#costBudget(cost)) ? new ThrottledError(COSTS[cost].refused, 1000) : null;
  }

  /** Charged by what was answered: a small log costs little, a deep read of the files a lot. */
  charge(cost: MethodCost, result: unknown): void {
    this.#costs.set(cost, spend(this.#bucket(cost), COSTS[cost].units(result)));
  }

  #invalidBudget(): number {
    this.#invalid = refill(this.#invalid, SOCKET_LIMITS.invalidPerSecond, performance.now());
    return this.#invalid.tokens;
  }

  #costBudget(cost: MethodCost): number {
    const bucket = refill(this.#bucket(cost), COSTS[cost].perSecond, performance.now());
    this.#costs.set(cost, bucket);
    return bucket.tokens;
  }

  #bucket(cost: MethodCost): Bucket {
    return this.#costs.get(cost) ?? fullBucket(COSTS[cost].perSecond, performance.now());
  }
}
