// Who the control socket admits, reads from and closes: pure rules over snapshots of its
// connections (README "Control socket limits"). The transport takes the snapshots and performs
// the decisions; the time is passed in as budgets already refilled to it.

/**
 * What a hostile local client can make the daemon hold. Every bound is enforced where bytes
 * arrive: a connection that may not start another request is not read from (its unparsed bytes
 * stay in the kernel, at most one read chunk in the daemon).
 */
export const SOCKET_LIMITS = {
  /** Requests of one connection between being read and their answer being written to the socket. */
  perConnection: 16,
  /** Requests running in handlers daemon-wide; a connection's first one is exempt, so one client cannot keep another out. */
  running: 32,
  /** Answers written but not yet read, across all connections; beyond it, clients with unread answers wait. */
  unreadTotalBytes: 16 * 1024 * 1024,
  /**
   * Answers one peer uid has not read, across its connections; beyond it, that uid's connections
   * wait (their first requests too) and its costly requests are refused. Other uids go on.
   */
  unreadPerUidBytes: 4 * 1024 * 1024,
  /** Unread answers after which a client that is due another one is disconnected. */
  unreadPerConnectionBytes: 1024 * 1024,
  /** `events --follow` subscribers, shared fairly between peer uids. */
  followers: 32,
  /**
   * Invalid frames answered per second, daemon-wide: a connection whose last frame was invalid
   * waits for this budget, so noise costs its sender time, not every other client's.
   */
  invalidPerSecond: 5000,
  /**
   * Security events answered by `events` per second, daemon-wide (each answer costs the events it holds):
   * a connection whose last request was `events` waits for this budget, so a flood of reads
   * cannot fill the event loop ahead of other clients' logins.
   */
  eventsPerSecond: 5000,
  /** A peer uid's events budget holds up to this many: two of the largest reads, so a full read and then a follow are both admitted. */
  eventsBurst: 20_000,
  /**
   * Cost units (events) reserved by costly requests in flight, daemon-wide: beyond it, a uid that
   * already has one in flight is refused; a uid with none in flight is always admitted one.
   */
  reservedCeiling: 20_000,
} as const;

export type SocketLimits = { readonly [K in keyof typeof SOCKET_LIMITS]: number };

/** A connection as the eviction rule sees it. Followers and connections are shared per peer uid (an unknown peer is uid -1). */
export interface ConnectionSnapshot {
  readonly uid: number;
  /** Requests in their handler. */
  readonly running: number;
  readonly following: boolean;
  /** Order of last use (a counter): lower is less recently used. */
  readonly lastUsed: number;
}

/** Eviction order: idle connections first, then followers (they can reconnect); busy ones never. */
function evictionRank(c: ConnectionSnapshot): number | null {
  if (c.following) return 1;
  return c.running > 0 ? null : 0;
}

export function countByUid(connections: Iterable<{ readonly uid: number }>): Map<number, number> {
  const counts = new Map<number, number>();
  for (const conn of connections) counts.set(conn.uid, (counts.get(conn.uid) ?? 0) + 1);
  return counts;
}

/**
 * The connection to close so a newcomer fits when every slot is taken: the least recently used
 * idle connection of the uid holding the most connections; failing that, such a follower; null
 * when every connection has a request running (the newcomer is closed instead).
 */
export function connectionToEvict<C extends ConnectionSnapshot>(connections: Iterable<C>): C | null {
  const list = [...connections];
  const perUid = countByUid(list);
  let victim: C | null = null;
  let victimRank = 0;
  for (const conn of list) {
    const rank = evictionRank(conn);
    if (rank === null) continue;
    if (victim === null) {
      [victim, victimRank] = [conn, rank];
      continue;
    }
    const better = rank - victimRank || (perUid.get(victim.uid) ?? 0) - (perUid.get(conn.uid) ?? 0) || conn.lastUsed - victim.lastUsed;
    if (better < 0) [victim, victimRank] = [conn, rank];
  }
  return victim;
}

/** Follower slots: at most `limits.followers`, and never more than half the connections. */
export function followerSlots(maxClients: number, limits: Pick<SocketLimits, 'followers'> = SOCKET_LIMITS): number {
  return Math.max(1, Math.min(limits.followers, Math.floor(maxClients / 2)));
}

export interface FollowerSnapshot {
  readonly uid: number;
  readonly lastUsed: number;
}

export type FollowerDecision<F> = { readonly admit: true; readonly evict: F | null } | { readonly admit: false };

/**
 * Whether a newcomer of `uid` may follow. When all `slots` are taken, the oldest follower of the
 * uid holding the most is closed if that uid holds at least two more than the newcomer's uid
 * (so the shares move towards equal); otherwise the newcomer is refused. One uid cannot blind another.
 */
export function admitFollower<F extends FollowerSnapshot>(followers: Iterable<F>, uid: number, slots: number): FollowerDecision<F> {
  const list = [...followers];
  if (list.length < slots) return { admit: true, evict: null };
  const perUid = countByUid(list);
  let top: F | null = null;
  for (const f of list) {
    const [mine, best] = [perUid.get(f.uid) ?? 0, top ? (perUid.get(top.uid) ?? 0) : -1];
    if (mine > best || (mine === best && top !== null && f.lastUsed < top.lastUsed)) top = f;
  }
  if (top === null || (perUid.get(top.uid) ?? 0) < (perUid.get(uid) ?? 0) + 2) return { admit: false };
  return { admit: true, evict: top };
}

/**
 * One connection and the daemon at the moment it could start its next request. The transport
 * may compute the costly fields lazily (getters): each is read only when the rule needs it.
 */
export interface StartSnapshot {
  /** The connection's requests read and not yet answered to the kernel. */
  readonly inFlight: number;
  /** The connection's requests in their handler. */
  readonly running: number;
  /** Bytes of the connection's answers its client has not read yet. */
  readonly unread: number;
  /** Its last frame was invalid: its next one waits for the invalid-frame budget. */
  readonly lastInvalid: boolean;
  /** Its last request had a cost (`events`): its next one waits for that cost's budget. */
  readonly lastCostly: boolean;
  readonly invalidBudget: number;
  /** The cost budget of the connection's peer uid. */
  readonly costBudget: number;
  /** Bytes of answers the connection's peer uid has not read, across its connections. */
  readonly uidUnread: number;
  /** Requests running in handlers, daemon-wide. */
  readonly runningTotal: number;
  /** Unread answer bytes, daemon-wide. */
  readonly unreadTotal: number;
}

/** `budget`: a budget is short, wait until it refills (a timer); `hold`: wait for a request to finish or a client to read. */
export type StartDecision = 'start' | 'hold' | 'budget';

/** Whether a connection may start its next request now (else its bytes stay unread). */
export function startDecision(s: StartSnapshot, limits: SocketLimits = SOCKET_LIMITS): StartDecision {
  if (s.inFlight >= limits.perConnection) return 'hold';
  if (s.lastInvalid && s.invalidBudget < 1) return 'budget';
  if (s.lastCostly && s.costBudget < 1) return 'budget';
  // A uid that does not read its answers gets no more of them, on new connections neither; other uids are not held by it.
  if (s.uidUnread >= limits.unreadPerUidBytes) return 'hold';
  // A connection's first request is exempt from the daemon-wide caps: a new client is never queued behind another's pipeline.
  if (s.running === 0 && s.unread === 0) return 'start';
  if (s.runningTotal >= limits.running) return 'hold';
  return s.unread === 0 || s.unreadTotal < limits.unreadTotalBytes ? 'start' : 'hold';
}

/** A client due another answer while this much of its answers is unread does not read: it is disconnected. */
export function readsTooSlowly(unread: number, limits: Pick<SocketLimits, 'unreadPerConnectionBytes'> = SOCKET_LIMITS): boolean {
  return unread > limits.unreadPerConnectionBytes;
}

/** A costly request as it is read: what it reserves and what its peer uid already holds. */
export interface CostSnapshot {
  /** The units it may answer at most (`events`: its `limit`), reserved until it is answered. */
  readonly units: number;
  /** Its peer uid's budget (per second, refilled to now, reservations spent). */
  readonly uidBudget: number;
  /** Bytes of answers its peer uid has not read. */
  readonly uidUnread: number;
  /** Units its peer uid has reserved in requests in flight. */
  readonly uidReserved: number;
  /** Units reserved in flight, daemon-wide. */
  readonly reservedTotal: number;
}

/** `admit`, or why it is refused: its uid's own debt, its uid's unread answers, the daemon-wide ceiling. */
export type CostDecision = 'admit' | 'debt' | 'unread' | 'ceiling';

/**
 * Whether a costly request is admitted (its units reserved) or refused outright, even a fresh
 * connection's first. Only what its own peer uid holds refuses it, beyond the daemon-wide
 * ceiling, which never refuses a uid with nothing in flight: one uid's flood never refuses another's.
 */
export function costDecision(s: CostSnapshot, limits: Pick<SocketLimits, 'unreadPerUidBytes' | 'reservedCeiling'> = SOCKET_LIMITS): CostDecision {
  if (s.uidBudget < 0) return 'debt';
  if (s.uidUnread >= limits.unreadPerUidBytes) return 'unread';
  if (s.uidReserved > 0 && s.reservedTotal + s.units > limits.reservedCeiling) return 'ceiling';
  return 'admit';
}

/**
 * What is given back to the budget when a request that reserved `reserved` units answered
 * `answered`: the units it did not use; negative (charged on top) if it answered beyond its reservation.
 */
export function refund(reserved: number, answered: number): number {
  return reserved - Math.max(0, answered);
}
