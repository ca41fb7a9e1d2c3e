import { createHash, randomBytes } from 'node:crypto';
import type { Role } from '../../../policy/roles.js';
import { credentialMark, sessionExpiry, type SessionEndReason, type SessionLimits } from '../../../policy/sessions.js';
import { currentCaller } from '../../common/request-context.js';
import { Secret } from '../../common/secret.js';
import type { SecurityLog } from '../../logs/logging.js';
import type { RoleRecord } from '../../store/state.js';

/** 256 random bits (ASVS asks ≥ 128), base64url: 43 characters. */
const TOKEN_BYTES = 32;
/** Ended sessions whose reason is kept for the console's message. */
const ENDED_KEPT = 256;

interface OpenSession {
  role: Role;
  /** The role's credential mark when the session opened: a different one ends it. */
  mark: string;
  openedAt: number;
  lastUsedAt: number;
  /** The kernel's uid of the client that opened it: only that uid may use it (a stolen token is no use to another process user). */
  peerUid: number | null;
}

export interface SessionView {
  role: Role;
  idleSeconds: number;
  remainingSeconds: number;
}

/**
 * The console's sessions, held by the daemon in memory only (a restart ends them all). The token
 * is handed out once and kept as its SHA-256: a random 256-bit value needs no slow hash, and a
 * copy of the daemon's memory or a log gives nobody a usable token. Lookups go by that digest,
 * so no comparison of the token itself can leak its bytes by timing.
 */
export class SessionStore {
  readonly #sessions = new Map<string, OpenSession>();
  /** Why recently ended sessions ended (bounded, oldest forgotten first), so the console can say so. */
  readonly #ended = new Map<string, { reason: SessionEndReason; peerUid: number | null }>();

  constructor(
    private readonly deps: {
      limits: SessionLimits;
      now: () => number;
      security: SecurityLog;
    },
  ) {}

  get size(): number {
    return this.#sessions.size;
  }

  /** A new session for `role`, whose password was just checked; the token is the caller's to keep. */
  open(role: Role, record: RoleRecord): { token: Secret; view: SessionView } {
    this.#sweep();
    if (this.#sessions.size >= this.deps.limits.max) this.#evictLeastRecent();
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    const now = this.deps.now();
    const session: OpenSession = { role, mark: credentialMark(record), openedAt: now, lastUsedAt: now, peerUid: peerUid() };
    this.#sessions.set(digest(token), session);
    return { token: new Secret(token), view: this.#view(session, now) };
  }

  /**
   * The live session of `token`, touched (its idle time starts again), or why there is none:
   * unknown, idle, expired, or its role's password changed since (`current` is the role's record now).
   */
  use(
    token: Secret,
    current: (role: Role) => RoleRecord,
    touch = true,
  ): { ok: true; role: Role; view: SessionView } | { ok: false; reason: SessionEndReason | 'unknown' } {
    const key = digest(token.reveal());
    const session = this.#sessions.get(key);
    // Another uid's token is answered as an unknown one: no oracle, and the session stays its owner's.
    if (!session || session.peerUid !== peerUid()) {
      const ended = this.#ended.get(key);
      return { ok: false, reason: ended && ended.peerUid === peerUid() ? ended.reason : 'unknown' };
    }
    const now = this.deps.now();
    const expiry = sessionExpiry(session, now, this.deps.limits);
    const reason: SessionEndReason | null = expiry !== 'live' ? expiry : credentialMark(current(session.role)) !== session.mark ? 'passwordChanged' : null;
    if (reason) {
      this.#end(key, session, reason);
      return { ok: false, reason };
    }
    if (touch) session.lastUsedAt = now;
    return { ok: true, role: session.role, view: this.#view(session, now) };
  }

  /** Ends the session of `token` (logout); false when there was none. */
  close(token: Secret): boolean {
    const key = digest(token.reveal());
    const session = this.#sessions.get(key);
    if (!session || session.peerUid !== peerUid()) return false;
    this.#end(key, session, 'logout');
    return true;
  }

  /** Ends every session whose role's credential mark changed: called after each state commit. */
  endChanged(recordOf: (role: Role) => RoleRecord | undefined): void {
    for (const [key, session] of this.#sessions) {
      const record = recordOf(session.role);
      if (!record || credentialMark(record) !== session.mark) this.#end(key, session, 'passwordChanged');
    }
  }

  #view(session: OpenSession, now: number): SessionView {
    const { idleMs, absoluteMs } = this.deps.limits;
    const remaining = Math.min(absoluteMs - (now - session.openedAt), idleMs - (now - session.lastUsedAt));
    return { role: session.role, idleSeconds: Math.round(idleMs / 1000), remainingSeconds: Math.max(0, Math.floor(remaining / 1000)) };
  }

  #sweep(): void {
    const now = this.deps.now();
    for (const [key, session] of this.#sessions) {
      const expiry = sessionExpiry(session, now, this.deps.limits);
      if (expiry !== 'live') this.#end(key, session, expiry);
    }
  }

  #evictLeastRecent(): void {
    let oldest: [string, OpenSession] | null = null;
    for (const entry of this.#sessions) if (!oldest || entry[1].lastUsedAt < oldest[1].lastUsedAt) oldest = entry;
    if (oldest) this.#end(oldest[0], oldest[1], 'evicted');
  }

  #end(key: string, session: OpenSession, reason: SessionEndReason): void {
    this.#sessions.delete(key);
    this.#ended.set(key, { reason, peerUid: session.peerUid });
    if (this.#ended.size > ENDED_KEPT) this.#ended.delete(this.#ended.keys().next().value as string);
    this.deps.security.record('SessionEnded', { role: session.role, reason });
  }
}

function peerUid(): number | null {
  return currentCaller()?.peer?.uid ?? null;
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
