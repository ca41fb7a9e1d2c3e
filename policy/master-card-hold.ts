/**
 * The master card's tap and hold, as a pure state machine: fed reader events and monotonic
 * time, it returns what to do. A tap (an enrolled card placed) resets passwords; the same card
 * kept on the same reader for `holdMs` restores the manufacturer defaults. Wall-clock time never
 * enters, so NTP or a manual date change cannot start, shorten or cut a hold.
 */

export interface HoldRules {
  holdMs: number;
  /** A card off the reader for less than this is RF flicker: the hold goes on. */
  dropoutGraceMs: number;
  /** How often a running hold reports its progress. */
  progressEveryMs: number;
}

export type CardInput =
  /**
   * A card was placed on `reader`; `cardId` is its master-card id, or null for any other card.
   * `mayHold` false: the card's tap counts but its hold never restores defaults (a copyable
   * UID-only card under `rfid.uidOnlyMasterCards: tapOnly`). Absent: true.
   */
  | { type: 'present'; reader: string; cardId: string | null; mayHold?: boolean; at: number }
  | { type: 'removed'; reader: string; at: number }
  /** Time passed (the agent's timer for `nextDeadline`). */
  | { type: 'tick'; at: number };

export type CancelReason = 'removed' | 'otherCard' | 'otherMasterCard';

export type HoldDecision =
  | { type: 'tap'; cardId: string; reader: string }
  | { type: 'holdStarted'; cardId: string; reader: string; holdSeconds: number }
  | { type: 'holdProgress'; cardId: string; reader: string; elapsedSeconds: number; remainingSeconds: number }
  | { type: 'holdCancelled'; cardId: string; reader: string; reason: CancelReason; elapsedSeconds: number }
  | { type: 'holdCompleted'; cardId: string; reader: string };

interface Hold {
  readonly cardId: string;
  readonly reader: string;
  readonly startedAt: number;
  /** When the card left the reader, while the grace runs; null while it is on the reader. */
  readonly dropoutAt: number | null;
  /** Progress reports made so far. */
  readonly reports: number;
  /** The defaults were restored: the card must leave the reader before it counts again. */
  readonly done: boolean;
}

export interface HoldState {
  readonly hold: Hold | null;
}

export const IDLE: HoldState = { hold: null };

export interface Step {
  state: HoldState;
  decisions: HoldDecision[];
  /** Monotonic time at which to feed a tick, or null when nothing is pending. */
  nextDeadline: number | null;
}

export function step(state: HoldState, input: CardInput, rules: HoldRules): Step {
  const decisions: HoldDecision[] = [];
  let hold = advance(state.hold, input.at, rules, decisions);

  if (input.type === 'present') {
    if (hold !== null && hold.reader === input.reader) {
      if (input.cardId === hold.cardId) {
        // Back within the grace: the same placement goes on (a duplicate report changes nothing).
        if (hold.dropoutAt !== null) hold = advance({ ...hold, dropoutAt: null }, input.at, rules, decisions);
      } else {
        if (!hold.done) decisions.push(cancel(hold, 'otherCard', input.at));
        hold = input.cardId === null ? null : begin(input.cardId, input.reader, input.at, input.mayHold ?? true, rules, decisions);
      }
    } else if (input.cardId !== null) {
      // Cards on other readers belong to the charging logic unless they are master cards.
      if (hold !== null && !hold.done) decisions.push(cancel(hold, 'otherMasterCard', input.at));
      hold = begin(input.cardId, input.reader, input.at, input.mayHold ?? true, rules, decisions);
    }
  } else if (input.type === 'removed' && hold !== null && hold.reader === input.reader && hold.dropoutAt === null) {
    hold = advance({ ...hold, dropoutAt: input.at }, input.at, rules, decisions);
  }

  return { state: { hold }, decisions, nextDeadline: deadline(hold, rules) };
}

/** What `status` shows of a running hold, or null. */
export function holdView(
  state: HoldState,
  at: number,
  rules: HoldRules,
): { cardId: string; reader: string; remainingSeconds: number; cardOnReader: boolean } | null {
  const hold = state.hold;
  if (hold === null || hold.done) return null;
  const remainingMs = Math.max(0, rules.holdMs - (at - hold.startedAt));
  return { cardId: hold.cardId, reader: hold.reader, remainingSeconds: Math.ceil(remainingMs / 1000), cardOnReader: hold.dropoutAt === null };
}

function begin(cardId: string, reader: string, at: number, mayHold: boolean, rules: HoldRules, decisions: HoldDecision[]): Hold {
  decisions.push({ type: 'tap', cardId, reader });
  // A tap-only card's placement is tracked as one whose hold is already over: it must leave before it counts again.
  if (!mayHold) return { cardId, reader, startedAt: at, dropoutAt: null, reports: 0, done: true };
  decisions.push({ type: 'holdStarted', cardId, reader, holdSeconds: rules.holdMs / 1000 });
  return { cardId, reader, startedAt: at, dropoutAt: null, reports: 0, done: false };
}

function cancel(hold: Hold, reason: CancelReason, at: number): HoldDecision {
  const heldUntil = hold.dropoutAt ?? at;
  return { type: 'holdCancelled', cardId: hold.cardId, reader: hold.reader, reason, elapsedSeconds: seconds(heldUntil - hold.startedAt) };
}

/** Applies the passage of time up to `at`: a dropout past its grace, progress, completion. */
function advance(hold: Hold | null, at: number, rules: HoldRules, decisions: HoldDecision[]): Hold | null {
  if (hold === null) return null;
  if (hold.dropoutAt !== null) {
    if (at - hold.dropoutAt < rules.dropoutGraceMs) return hold;
    // Gone for longer than the grace: the placement has ended.
    if (!hold.done) decisions.push(cancel(hold, 'removed', at));
    return null;
  }
  if (hold.done) return hold;
  const elapsed = at - hold.startedAt;
  if (elapsed >= rules.holdMs) {
    decisions.push({ type: 'holdCompleted', cardId: hold.cardId, reader: hold.reader });
    return { ...hold, done: true };
  }
  const reports = Math.floor(elapsed / rules.progressEveryMs);
  if (reports > hold.reports) {
    decisions.push({
      type: 'holdProgress',
      cardId: hold.cardId,
      reader: hold.reader,
      elapsedSeconds: seconds(reports * rules.progressEveryMs),
      remainingSeconds: Math.ceil((rules.holdMs - elapsed) / 1000),
    });
    return { ...hold, reports };
  }
  return hold;
}

function deadline(hold: Hold | null, rules: HoldRules): number | null {
  if (hold === null) return null;
  if (hold.dropoutAt !== null) return hold.dropoutAt + rules.dropoutGraceMs;
  if (hold.done) return null;
  return hold.startedAt + Math.min(rules.holdMs, (hold.reports + 1) * rules.progressEveryMs);
}

function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}
