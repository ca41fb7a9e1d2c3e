import type { Logger } from 'pino';
import { holdView, IDLE, step, type CardInput, type HoldRules, type HoldState } from '../../../policy/master-card-hold.js';
import type { RfidStatus } from '../../wire/status-report.js';
import { performHoldDecision, type HoldEffectsDeps } from './hold-effects.js';

/**
 * Feeds card placements and monotonic time to the tap/hold rules (policy/master-card-hold.ts),
 * with a timer for their next deadline, and carries out their decisions one at a time, in order.
 */
export class CardHold {
  #hold: HoldState = IDLE;
  #timer: NodeJS.Timeout | null = null;
  #actions: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(
    private readonly rules: HoldRules,
    private readonly deps: HoldEffectsDeps & { log: Logger; now: () => number },
  ) {}

  feed(input: CardInput): void {
    const result = step(this.#hold, input, this.rules);
    this.#hold = result.state;
    for (const decision of result.decisions) {
      this.#actions = this.#actions
        .then(async () => {
          const answer = await performHoldDecision(this.deps, decision);
          // A proof's answer goes back to the rules, queued behind this action (never awaited here).
          if (answer !== null && !this.#stopped) this.feed({ ...answer, at: this.deps.now() });
        })
        .catch((err: unknown) => {
          this.deps.log.error({ err, decision: decision.type }, 'master card action failed');
          // A proof that could not run is no proof: the hold waiting for it ends.
          if (decision.type === 'reprove' && !this.#stopped) {
            const { reader, cardId, holdStartedAt, final } = decision;
            this.feed({ type: 'proof', reader, cardId, holdStartedAt, final, ok: false, at: this.deps.now() });
          }
        });
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (result.nextDeadline !== null) {
      const wait = Math.max(0, result.nextDeadline - this.deps.now());
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.feed({ type: 'tick', at: this.deps.now() });
      }, wait);
    }
  }

  view(): RfidStatus['hold'] {
    return holdView(this.#hold, this.deps.now(), this.rules);
  }

  /** Stops the timer; resolves when the action in progress (a restore is not cut in half) and those queued are done. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#actions;
  }
}
