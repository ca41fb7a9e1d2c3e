/**
 * A master card's enrolment, as a pure state machine: fed the events of the enrolment's reader,
 * the end of the card exchange and monotonic time, it returns what to do. A card must be placed,
 * removed and placed again (a card tapped by chance does not become a master card); the second
 * placement starts the exchange that personalises it. One enrolment at a time.
 */

/** Where an enrolment is; `phase` names are the ones `status` shows as `rfid.enrolmentStep`. */
export type EnrolmentState =
  | { readonly phase: 'idle' }
  | { readonly phase: 'placeCard'; readonly reader: string; readonly deadline: number }
  /** `first`: the UID (hex) of the first presentation, still on the reader. */
  | { readonly phase: 'removeCard'; readonly reader: string; readonly deadline: number; readonly first: string }
  | { readonly phase: 'placeCardAgain'; readonly reader: string; readonly deadline: number; readonly first: string }
  /**
   * The card's keys are being changed: the enrolment ends only with the exchange, so that a card
   * whose keys moved gets its record. `removed`: the card left meanwhile; `expired`: the window
   * ended (or the client left) meanwhile, so a failed exchange is not retried.
   */
  | {
      readonly phase: 'personalising';
      readonly reader: string;
      readonly deadline: number;
      readonly first: string;
      readonly removed: boolean;
      readonly expired: boolean;
    };

export const NO_ENROLMENT: EnrolmentState = { phase: 'idle' };

/** How a card exchange ended: the record is written, the card left or went mute, or it failed for good. */
export type ExchangeOutcome = 'enrolled' | 'pulled' | 'failed';

export type EnrolmentInput =
  | { type: 'begin'; reader: string; timeoutMs: number; at: number }
  /** A card placed on `reader`; `acceptable` false: it is already enrolled (or cannot be checked). */
  | { type: 'placed'; reader: string; uid: string; acceptable: boolean; at: number }
  | { type: 'unreadable'; reader: string; cause: string; at: number }
  | { type: 'removed'; reader: string; at: number }
  | { type: 'exchangeEnded'; outcome: ExchangeOutcome; at: number }
  /** The client that asked for the enrolment went away. */
  | { type: 'abort'; at: number }
  | { type: 'stop'; at: number }
  | { type: 'tick'; at: number };

export type EndReason =
  | 'cardRefused'
  | 'otherCard'
  | 'unreadable'
  | 'exchangeFailed'
  /** The window ended before the first placement. */
  | 'notPlaced'
  /** The window ended after the first placement. */
  | 'notPlacedAgain'
  | 'clientGone'
  | 'stopping';

export type EnrolmentDecision =
  /** A second enrolment was asked for while one runs: refused, the running one goes on. */
  | { type: 'refused' }
  | { type: 'started'; reader: string; deadline: number }
  | { type: 'firstPresented'; reader: string }
  /** Start the card exchange with the card just placed (the same UID as the first time). */
  | { type: 'personalise'; reader: string; uid: string }
  /** The card left mid-exchange: the enrolment waits for it again. */
  | { type: 'presentAgain'; reader: string }
  | { type: 'completed'; reader: string }
  | { type: 'ended'; reason: EndReason; cause?: string };

export interface EnrolmentStep {
  state: EnrolmentState;
  decisions: EnrolmentDecision[];
  /** The input was the enrolment's (a placement on its reader): it is not a tap for the hold rules. */
  claimed: boolean;
  /** Monotonic time at which to feed a tick, or null. */
  nextDeadline: number | null;
}

const result = (state: EnrolmentState, decisions: EnrolmentDecision[], claimed = false): EnrolmentStep => ({
  state,
  decisions,
  claimed,
  nextDeadline: state.phase === 'idle' || (state.phase === 'personalising' && state.expired) ? null : state.deadline,
});

const end = (reason: EndReason, cause?: string): EnrolmentStep =>
  result(NO_ENROLMENT, [cause === undefined ? { type: 'ended', reason } : { type: 'ended', reason, cause }]);

/** The window has ended: an exchange under way finishes; otherwise the enrolment ends. */
function expire(state: Exclude<EnrolmentState, { phase: 'idle' }>): EnrolmentStep {
  if (state.phase === 'personalising') return result({ ...state, expired: true }, []);
  return end(state.phase === 'placeCard' ? 'notPlaced' : 'notPlacedAgain');
}

export function step(state: EnrolmentState, input: EnrolmentInput): EnrolmentStep {
  if (input.type === 'begin') {
    if (state.phase !== 'idle') return result(state, [{ type: 'refused' }]);
    const deadline = input.at + input.timeoutMs;
    return result({ phase: 'placeCard', reader: input.reader, deadline }, [{ type: 'started', reader: input.reader, deadline }]);
  }
  if (state.phase === 'idle') return result(state, []);
  // Time is only ever passed in: whatever input comes at or after the deadline sees the window closed first.
  if (input.at >= state.deadline && !(state.phase === 'personalising' && state.expired)) {
    const expired = expire(state);
    return input.type === 'tick' || expired.state.phase === 'idle' ? expired : merge(expired, step(expired.state, input));
  }
  switch (input.type) {
    case 'tick':
      return result(state, []);
    case 'stop':
      return end('stopping');
    case 'abort':
      // The card's keys are being changed: the exchange finishes, so that the record is written; then it ends.
      return state.phase === 'personalising' ? result({ ...state, expired: true }, []) : end('clientGone');
    case 'removed':
      if (input.reader !== state.reader) return result(state, []);
      if (state.phase === 'removeCard') return result({ ...state, phase: 'placeCardAgain' }, []);
      if (state.phase === 'personalising') return result({ ...state, removed: true }, []);
      return result(state, []);
    case 'unreadable':
      if (input.reader !== state.reader || state.phase === 'personalising') return result(state, []);
      return { ...end('unreadable', input.cause), claimed: true };
    case 'placed':
      if (input.reader !== state.reader) return result(state, []);
      return { ...placed(state, input), claimed: true };
    case 'exchangeEnded':
      return state.phase === 'personalising' ? exchangeEnded(state, input.outcome) : result(state, []);
  }
}

function placed(state: Exclude<EnrolmentState, { phase: 'idle' }>, input: Extract<EnrolmentInput, { type: 'placed' }>): EnrolmentStep {
  switch (state.phase) {
    case 'placeCard':
      if (!input.acceptable) return end('cardRefused');
      return result({ phase: 'removeCard', reader: state.reader, deadline: state.deadline, first: input.uid }, [
        { type: 'firstPresented', reader: state.reader },
      ]);
    case 'placeCardAgain':
      if (input.uid !== state.first) return end('otherCard');
      return result({ ...state, phase: 'personalising', removed: false, expired: false }, [{ type: 'personalise', reader: state.reader, uid: input.uid }]);
    case 'removeCard':
    case 'personalising':
      return result(state, []);
  }
}

function exchangeEnded(state: Extract<EnrolmentState, { phase: 'personalising' }>, outcome: ExchangeOutcome): EnrolmentStep {
  if (outcome === 'enrolled') return result(NO_ENROLMENT, [{ type: 'completed', reader: state.reader }]);
  if (outcome === 'failed' || state.expired) return end('exchangeFailed');
  const { reader, deadline, first } = state;
  const next: EnrolmentState = state.removed ? { phase: 'placeCardAgain', reader, deadline, first } : { phase: 'removeCard', reader, deadline, first };
  return result(next, [{ type: 'presentAgain', reader }]);
}

function merge(first: EnrolmentStep, second: EnrolmentStep): EnrolmentStep {
  return { ...second, decisions: [...first.decisions, ...second.decisions], claimed: first.claimed || second.claimed };
}

/** What `status` shows of an enrolment. */
export function enrolmentStepOf(state: EnrolmentState): Exclude<EnrolmentState['phase'], 'idle'> | null {
  return state.phase === 'idle' ? null : state.phase;
}
