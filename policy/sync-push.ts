/**
 * What a double station's master makes of its slave's answer to a push, as a pure rule. The slave
 * is trusted for nothing: a revision ahead of the master's (the master's state came back from a
 * backup) is followed once, and a new sealing key (the slave's state was reset) is taken once; the
 * same again before a clean acknowledgement is a slave that makes the master loop, and becomes an
 * error that waits out the backoff.
 */

/** What happened since the last clean acknowledgement; reset by it. */
export interface PushEpisode {
  readonly renumbered: boolean;
  readonly resealed: boolean;
}

export const NEW_EPISODE: PushEpisode = { renumbered: false, resealed: false };

export interface PushReply {
  /** The revision pushed. */
  readonly pushed: number;
  /** The revision the slave says it holds (already checked to be one the state can hold). */
  readonly acked: number;
  /** The slave's answer carried another sealing key than the one the master holds. */
  readonly sealingKeyChanged: boolean;
}

export type PushVerdict =
  /** The slave holds what was pushed: nothing more to do. */
  | { readonly type: 'acked' }
  /** Continue above the slave's revision, then push at once (once per episode). */
  | { readonly type: 'renumber'; readonly to: number }
  /** Keep the new sealing key; push at once if the content changed with it (once per episode). */
  | { readonly type: 'reseal' }
  /** The slave makes the master loop: an error with backoff and a security event; `keepKey`: store its new key still. */
  | { readonly type: 'hostile'; readonly reason: 'slaveAhead' | 'sealingKeyChurn'; readonly keepKey: boolean };

export function judgeReply(episode: PushEpisode, reply: PushReply): { verdict: PushVerdict; episode: PushEpisode } {
  if (reply.acked > reply.pushed) {
    if (episode.renumbered) return { verdict: { type: 'hostile', reason: 'slaveAhead', keepKey: false }, episode };
    return { verdict: { type: 'renumber', to: reply.acked + 1 }, episode: { ...episode, renumbered: true } };
  }
  if (reply.sealingKeyChanged) {
    // A slave whose key keeps changing still gets the newest key at the next retry: a real reset is not locked out.
    if (episode.resealed) return { verdict: { type: 'hostile', reason: 'sealingKeyChurn', keepKey: true }, episode };
    return { verdict: { type: 'reseal' }, episode: { ...episode, resealed: true } };
  }
  return { verdict: { type: 'acked' }, episode: NEW_EPISODE };
}
