// The rules of a console session the daemon owns: when it has expired, what it may do, and which
// actions need the password again inside it. Pure: the monotonic time is passed in.
export interface SessionLimits {
  /** A session not used for this long has ended (ASVS 7.3.1; the guide's console: 15 min). */
  idleMs: number;
  /** A session ends this long after it was opened, used or not (ASVS 7.3.2: 12 h). */
  absoluteMs: number;
  /** Sessions open at once, all roles together; the least recently used is ended for a new one. */
  max: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = { idleMs: 15 * 60_000, absoluteMs: 12 * 3_600_000, max: 64 };

export interface SessionTimes {
  openedAt: number;
  lastUsedAt: number;
}

/** Why a session ended: the names the `SessionEnded` event and a refused token carry. */
export const SESSION_END_REASONS = ['logout', 'idle', 'expired', 'passwordChanged', 'evicted'] as const;
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

/** Whether a session is still live at `now`, or why it is not. */
export function sessionExpiry(times: SessionTimes, now: number, limits: Pick<SessionLimits, 'idleMs' | 'absoluteMs'>): 'live' | 'idle' | 'expired' {
  if (now - times.openedAt >= limits.absoluteMs) return 'expired';
  if (now - times.lastUsedAt >= limits.idleMs) return 'idle';
  return 'live';
}

/**
 * A session's credential mark: when the role's password last changed and whether it is the
 * default. A different mark means the password was changed or reset since the session opened
 * (passwd, PUK, card tap, hold, sync), which ends the session.
 */
export function credentialMark(record: { changedAt: string; isDefault: boolean }): string {
  return `${record.changedAt}|${record.isDefault ? 'default' : 'own'}`;
}

/**
 * A role on its default password or with `mustChange` gets a session that can do one thing:
 * change that password (and end the session).
 */
export function isChangeOnly(record: { isDefault: boolean; mustChange: boolean }): boolean {
  return record.isDefault || record.mustChange;
}
