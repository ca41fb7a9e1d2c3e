import type { Logger } from 'pino';
import { NOISE_INTERVAL_MS } from './logging.js';

/** Distinct peer uids counted per kind and interval; more are counted under "other". */
const MAX_UIDS = 32;

/** The warnings a client can cause per connection: fixed tokens, never a client's text. */
export type WarningKind = 'invalidFrames' | 'unreadAnswers';

interface Pending {
  message: string;
  since: string;
  count: number;
  peerUids: Map<string, number>;
}

interface Window {
  timer: NodeJS.Timeout;
  pending: Pending | null;
}

/**
 * Warnings any client can cause once per connection (invalid frames, answers left unread), kept
 * in the agent log the way the security log keeps noise: the first of a kind after a quiet interval
 * is written at once with its fields; the rest are counted per kind and peer uid and written as one
 * line when the interval ends. A flood of connections cannot rotate the agent log's history out.
 */
export class AggregatedWarnings {
  readonly #windows = new Map<WarningKind, Window>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = NOISE_INTERVAL_MS,
  ) {}

  /** `kind`: a fixed token naming the warning; `uid`: the peer's, counted (an unknown peer is "unknown"). */
  warn(kind: WarningKind, uid: number | undefined, fields: Record<string, unknown>, message: string): void {
    const window = this.#windows.get(kind);
    if (window === undefined) {
      this.log.warn({ kind, ...fields }, message);
      this.#open(kind);
      return;
    }
    const pending = (window.pending ??= { message, since: new Date().toISOString(), count: 0, peerUids: new Map() });
    pending.count++;
    const key = uid === undefined ? 'unknown' : String(uid);
    const k = pending.peerUids.has(key) || pending.peerUids.size < MAX_UIDS ? key : 'other';
    pending.peerUids.set(k, (pending.peerUids.get(k) ?? 0) + 1);
  }

  /** Writes what was counted and forgets the windows (on stop, so nothing counted is lost). */
  close(): void {
    for (const [kind, window] of this.#windows) {
      clearTimeout(window.timer);
      this.#write(kind, window.pending);
    }
    this.#windows.clear();
  }

  #open(kind: WarningKind): void {
    const timer = setTimeout(() => {
      const window = this.#windows.get(kind);
      this.#windows.delete(kind);
      if (window?.pending) {
        this.#write(kind, window.pending);
        this.#open(kind); // still noisy: the next one is counted too
      }
    }, this.intervalMs);
    timer.unref();
    this.#windows.set(kind, { timer, pending: null });
  }

  #write(kind: WarningKind, pending: Pending | null): void {
    if (pending === null) return;
    this.log.warn(
      { kind, count: pending.count, since: pending.since, peerUids: Object.fromEntries(pending.peerUids) },
      `${pending.message} (more of the same, counted)`,
    );
  }
}
