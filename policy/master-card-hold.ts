/**
 * The master card's tap and hold, as a pure state machine: fed reader events and monotonic
 * time, it returns what to do. A tap (an enrolled card placed) resets passwords; the same card
 * kept on the same reader for `holdMs` restores the manufacturer defaults. Wall-clock time never
 * enters, so NTP or a manual date change cannot start, shorten or cut a hold.
 *
 * A secure card proves its key at placement; a relay of the real card for a moment, then an
 * emulator left on the reader, would pass as the card for the rest of the hold. So the hold asks
 * for the proof again (`reprove`) at every progress step and right before the restore, and the
 * restore waits for that last proof: a failed proof ends the hold.
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
  | { type: 'tick'; at: number }
  /**
   * The answer to a `reprove` decision: the card on the reader proved the key again (ok) or failed
   * (a clone or emulator). `holdStartedAt` names the hold asked, so a late answer for an earlier hold
   * changes nothing. A card that left mid-proof gives no answer: its removal is its own input.
   */
  | { type: 'proof'; reader: string; cardId: string; holdStartedAt: number; final: boolean; ok: boolean; at: number };

export type CancelReason = 'removed' | 'otherCard' | 'otherMasterCard' | 'proofFailed';

export type HoldDecision =
  | { type: 'tap'; cardId: string; reader: string }
  | { type: 'holdStarted'; cardId: string; reader: string; holdSeconds: number }
  | { type: 'holdProgress'; cardId: string; reader: string; elapsedSeconds: number; remainingSeconds: number }
  | { type: 'holdCancelled'; cardId: string; reader: string; reason: CancelReason; elapsedSeconds: number }
  /** Run the secure-card proof on the card now on `reader` and feed a `proof` input back; `final`: the restore waits for it. */
  | { type: 'reprove'; cardId: string; reader: string; holdStartedAt: number; final: boolean }
  | { type: 'holdCompleted'; cardId: string; reader: string };

interface Hold {
  readonly cardId: string;
  readonly reader: string;
  readonly startedAt: number;
  /** When the card left the reader, while the grace runs; null while it is on the reader. */
  readonly dropoutAt: number | null;
  /** Progress reports made so far. */
  readonly reports: number;
  /** The defaults were restored (or the hold ended on a failed proof): the card must leave the reader before it counts again. */
  readonly done: boolean;
  /** The time is up and the last proof was asked for: the restore waits for its answer. */
  readonly proving: boolean;
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
        if (hold.dropoutAt !== null) {
          const waited = hold.proving;
          hold = advance({ ...hold, dropoutAt: null }, input.at, rules, decisions);
          // A proof answered while the card was off the reader does not count: ask again now it is back.
          if (waited && hold !== null && hold.proving) decisions.push(reprove(hold, true));
        }
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
  } else if (
    input.type === 'proof' &&
    hold !== null &&
    !hold.done &&
    hold.reader === input.reader &&
    hold.cardId === input.cardId &&
    hold.startedAt === input.holdStartedAt
  ) {
    if (!input.ok) {
      decisions.push(cancel(hold, 'proofFailed', input.at));
      // Over, yet tracked: the card that failed must leave the reader before anything counts again.
      hold = { ...hold, done: true, proving: false };
    } else if (input.final && hold.proving && hold.dropoutAt === null) {
      decisions.push({ type: 'holdCompleted', cardId: hold.cardId, reader: hold.reader });
      hold = { ...hold, done: true, proving: false };
    }
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
  if (!mayHold) return { cardId, reader, startedAt: at, dropoutAt: null, reports: 0, done: true, proving: false };
  decisions.push({ type: 'holdStarted', cardId, reader, holdSeconds: rules.holdMs / 1000 });
  return { cardId, reader, startedAt: at, dropoutAt: null, reports: 0, done: false, proving: false };
}

function reprove(hold: Hold, final: boolean): HoldDecision {
  return { type: 'reprove', cardId: hold.cardId, reader: hold.reader, holdStartedAt: hold.startedAt, final };
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
    // The restore waits for the card to prove the key once more (a `proof` input completes it).
    if (hold.proving) return hold;
    decisions.push(reprove(hold, true));
    return { ...hold, proving: true };
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
    decisions.push(reprove(hold, false));
    return { ...hold, reports };
  }
  return hold;
}

function deadline(hold: Hold | null, rules: HoldRules): number | null {
  if (hold === null) return null;
  if (hold.dropoutAt !== null) return hold.dropoutAt + rules.dropoutGraceMs;
  if (hold.done || hold.proving) return null;
  return hold.startedAt + Math.min(rules.holdMs, (hold.reports + 1) * rules.progressEveryMs);
}

function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}
