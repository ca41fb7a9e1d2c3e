import type { Logger } from 'pino';
import { normalizePassword } from '../../../policy/password.js';
import { afterVerdict, pukFailures, pukView, reserveTry } from '../../../policy/puk.js';
import type { Role } from '../../../policy/roles.js';
import {
  failuresOf,
  isTrusted,
  OTHER_SOURCE,
  peerFailures,
  peerOf,
  untrustedFailures,
  withFailure,
  withoutSource,
  type FailureCounts,
} from '../../../policy/sources.js';
import { crossedCeiling, delayAfter, roleWideWait, type CeilingRules, type HashLane } from '../../../policy/throttle.js';
import { currentSource } from '../../common/request-context.js';
import { BlockedError, MustChangeError, RefusedError, SessionEndedError, ThrottledError } from '../../common/errors.js';
import { DEFAULT_SESSION_LIMITS, isChangeOnly, type SessionLimits } from '../../../policy/sessions.js';
import type { PasswordHasher } from '../../common/hasher.js';
import type { Secret } from '../../common/secret.js';
import type { SecurityLog } from '../../logs/logging.js';
import type { GenerationStore } from '../../store/generation-store.js';
import { requireProvisioned, type PukRecord, type RoleRecord, type State } from '../../store/state.js';
import { AttemptGate } from './attempt-gate.js';
import { SessionStore, type SessionView } from './sessions.js';

declare const issued: unique symbol;

/**
 * A caller whose secret the Authenticator has verified: the role it acts as, and how it proved it.
 * Only this module makes one (the brand cannot be named elsewhere), so a service that takes an
 * `Actor` cannot be reached without the secret having been checked.
 */
export interface Actor<R extends Role = Role> {
  readonly role: R;
  /** `puk`: the Reset Password PUK stood in for the operator's password. */
  readonly via: 'password' | 'puk';
  readonly [issued]: true;
}

function actor<R extends Role>(role: R, via: Actor['via']): Actor<R> {
  return Object.freeze({ role, via }) as Actor<R>;
}

export const PUK_BLOCKED_MESSAGE =
  'the Reset Password PUK is blocked after too many wrong attempts; the manufacturer unblocks it by setting it again ' +
  '("ccguard puk set"), or by restoring manufacturer defaults saved while it was not blocked';

/** How PUK attempts are named in security events (the guide's "Reset Password PUK"). */
export const PUK_METHOD = 'resetPasswordPuk';

type Outcome = 'failed' | 'succeeded' | 'undecided';

/** One attempt at a secret, in the order every secret is checked (see `Authenticator.#attempt`). */
interface Attempt<K> {
  gate: AttemptGate<K>;
  key: K;
  failures: () => number;
  /** Records the refusal of a throttled attempt and throws it (nothing was checked). */
  throttled: (waitMs: number) => never;
  /** A wait beyond the source's own: the role-wide ceiling (0: none). */
  roleWideWait?: () => number;
  /** Takes what the attempt costs durably before the secret is checked (the PUK's try). */
  reserve?: () => Promise<void>;
  verify: (lane: HashLane) => Promise<boolean>;
  /** Counts the failure durably, records it and throws the refusal. */
  wrong: () => Promise<never>;
  /** Settles a right secret durably (failures cleared, the PUK's try given back) and records it. */
  right: () => Promise<void>;
}

export interface AuthenticatorDeps {
  store: GenerationStore<State>;
  hasher: PasswordHasher;
  security: SecurityLog;
  log: Logger;
  throttle: CeilingRules & { tapGraceMs: number };
  /** Monotonic milliseconds. */
  now: () => number;
  /** The console sessions' timeouts and number (config `sessions`). */
  sessions?: SessionLimits;
}

/** A role's failures per source; failures from before sources were counted are the shared source's. */
function countsOf(record: RoleRecord): FailureCounts {
  const counted = Object.values(record.failuresBySource).reduce((a, b) => a + b, 0);
  const legacy = record.failures - counted;
  return legacy > 0 ? { ...record.failuresBySource, [OTHER_SOURCE]: (record.failuresBySource[OTHER_SOURCE] ?? 0) + legacy } : record.failuresBySource;
}

const total = (counts: FailureCounts): number => Object.values(counts).reduce((a, b) => a + b, 0);

/**
 * The one place a caller's secret is checked: a role's password or the Reset Password PUK. Every
 * check runs the same sequence — admit (throttle), reserve, verify, settle, record — and answers
 * an `Actor` or a typed refusal. Wrong secrets are counted durably before the answer, so neither
 * a restart nor parallel clients get more attempts than the throttle allows.
 */
export class Authenticator {
  /** Keyed by role and source: each source waits out its own failures. */
  readonly #roles: AttemptGate<string>;
  readonly #puk: AttemptGate<string>;
  /** Per role (and `puk`): when an untrusted source last failed, for the role-wide ceiling. */
  readonly #lastUntrustedFailureAt = new Map<string, number>();
  /** Per role: until when a master card tap lifts the ceiling. */
  readonly #graceUntil = new Map<Role, number>();
  readonly #startedAt: number;
  readonly #sessions: SessionStore;

  constructor(private readonly deps: AuthenticatorDeps) {
    this.#roles = new AttemptGate(deps.throttle, deps.now);
    this.#puk = new AttemptGate(deps.throttle, deps.now);
    this.#startedAt = deps.now();
    this.#sessions = new SessionStore({ limits: deps.sessions ?? DEFAULT_SESSION_LIMITS, now: deps.now, security: deps.security });
    // Whatever changed a password (passwd, PUK, card tap, hold, sync), its role's sessions end with the write.
    deps.store.onCommit((state) => this.#sessions.endChanged((role) => state?.roles[role]));
  }

  /**
   * Opens a console session for `actor`, whose password dispatch has just checked. A role on its
   * default password or with must-change gets a change-only session.
   */
  openSession(actor: Actor): { token: Secret; view: SessionView; changeOnly: boolean } {
    const record = this.#state().roles[actor.role];
    const { token, view } = this.#sessions.open(actor.role, record);
    const changeOnly = isChangeOnly(record);
    this.deps.security.record('SessionStarted', { role: actor.role, changeOnly });
    return { token, view, changeOnly };
  }

  /**
   * The role a live session's token stands for, as an `Actor`. An unknown or ended token is
   * refused (the console logs in again); a change-only session is refused unless `allowMustChange`.
   * `touch`: this counts as a use of the session (its idle time starts again).
   */
  session(token: Secret, allowMustChange: boolean, touch = true): { actor: Actor; view: SessionView; changeOnly: boolean } {
    const used = this.#sessions.use(token, (role) => this.#state().roles[role], touch);
    if (!used.ok) {
      const why = {
        unknown: 'is not known',
        logout: 'was closed',
        idle: 'timed out',
        expired: 'reached its time limit',
        passwordChanged: "ended: the role's password was changed or reset",
        evicted: 'was ended for a newer one',
      }[used.reason];
      throw new SessionEndedError(`the session ${why}; log in again`, used.reason);
    }
    const record = this.#state().roles[used.role];
    const changeOnly = isChangeOnly(record);
    if (changeOnly && !allowMustChange) {
      throw new MustChangeError(`${used.role} ${record.isDefault ? 'is still on its default password' : 'must change its password'}: change it first`);
    }
    return { actor: actor(used.role, 'password'), view: used.view, changeOnly };
  }

  /** Ends the session of `token` (logout). */
  closeSession(token: Secret): boolean {
    return this.#sessions.close(token);
  }

  /** Sessions open now (for the benchmark and tests). */
  get openSessions(): number {
    return this.#sessions.size;
  }

  /**
   * `role`'s password. A right password that must be changed throws MustChangeError unless
   * `allowMustChange` (changing it is the one thing such a role may do).
   */
  async password<R extends Role>(role: R, password: Secret, allowMustChange: boolean): Promise<Actor<R>> {
    const source = currentSource();
    const record = (): RoleRecord => this.#state().roles[role];
    // Read once admitted: attempts waited for may have changed it.
    let checked: RoleRecord | null = null;
    let normalized: string | null = null;
    await this.#attempt({
      gate: this.#roles,
      key: `${role}|${source}`,
      failures: () => failuresOf(countsOf(record()), source),
      throttled: (waitMs) => {
        this.deps.security.record('MaintenanceLoginFailed', { role, reason: 'throttled', failures: failuresOf(countsOf(record()), source) });
        throw new ThrottledError(`too many failed attempts for ${role}: wait ${Math.ceil(waitMs / 1000)} s before the next attempt`, waitMs);
      },
      roleWideWait: () => {
        const counts = countsOf(record());
        return Math.max(
          this.#roleWideWait(role, untrustedFailures(counts), source, this.#graceUntil.get(role) ?? null),
          this.#peerShareWait(role, counts, source),
        );
      },
      verify: async (lane) => {
        const hash = (checked = record()).hash;
        const n = normalizePassword(password.reveal());
        normalized = n.ok ? n.value : null;
        return normalized !== null && this.deps.hasher.verify(hash, normalized, lane);
      },
      wrong: async () => {
        const before = untrustedFailures(countsOf(record()));
        const state = await this.#update((next) => {
          const r = next.roles[role];
          r.failuresBySource = withFailure(countsOf(r), source);
          r.failures = total(r.failuresBySource);
        });
        const counts = countsOf(state.roles[role]);
        const failures = failuresOf(counts, source);
        this.deps.security.record('MaintenanceLoginFailed', { role, reason: 'wrongPassword', failures });
        this.#noteUntrustedFailure(role, source, before, untrustedFailures(counts), counts, {});
        throw new RefusedError(`wrong password for ${role}${nextAttemptHint(delayAfter(failures, this.deps.throttle))}`);
      },
      right: async () => {
        const verified = checked as RoleRecord;
        await this.#afterRightPassword(role, source, verified, normalized);
        this.deps.security.record('MaintenanceLoginAccepted', { role, mustChange: verified.isDefault || verified.mustChange });
      },
    });
    const verified = checked as RoleRecord | null;
    if (verified && (verified.isDefault || verified.mustChange) && !allowMustChange) {
      const why = verified.isDefault ? 'is still on its default password' : 'must change its password';
      throw new MustChangeError(`login accepted, but ${role} ${why}: change it first with "ccguard passwd ${role}"`);
    }
    return actor(role, 'password');
  }

  /**
   * The Reset Password PUK, for the operator who lost the password. Ten consecutive wrong PUKs
   * block it, as on a SIM card: each attempt takes its try durably before the PUK is checked, and
   * the check runs on the hasher's suspect lane, so a flood of wrong PUKs costs its sender, not
   * the operators logging in. Every wrong PUK gets the same answer after the same work.
   */
  async puk(puk: Secret): Promise<Actor<'operator'>> {
    // A front end's clients share its tries of the PUK: a hostile one cannot multiply them by naming clients.
    const source = peerOf(currentSource());
    const current = (): PukRecord | null => this.#state().puk;
    usablePuk(current(), source);
    let taken: PukRecord | null = null;
    let correct = false;
    // A PUK set anew meanwhile has its own counter: leave it alone.
    const settle = (state: State): void => {
      if (state.puk && taken && state.puk.hash === taken.hash) state.puk = { ...state.puk, ...afterVerdict(state.puk, correct) };
    };
    await this.#attempt({
      gate: this.#puk,
      key: `puk|${source}`,
      failures: () => {
        const record = current();
        return record ? pukFailures(record, source) : 0;
      },
      throttled: (waitMs) => {
        const view = pukView(usablePuk(current(), source), source);
        this.deps.security.record('MaintenanceLoginFailed', { role: 'operator', method: PUK_METHOD, reason: 'throttled', triesLeft: view.triesLeft });
        throw new ThrottledError(`too many wrong PUKs: wait ${Math.ceil(waitMs / 1000)} s before the next attempt`, waitMs);
      },
      roleWideWait: () => this.#roleWideWait('puk', untrustedFailures(current()?.failuresBySource ?? {}), source, null),
      reserve: async () => {
        const reserved = await this.#update((state) => {
          const counter = state.puk ? reserveTry(state.puk, source) : null;
          if (!state.puk || !counter) throw new BlockedError(PUK_BLOCKED_MESSAGE);
          state.puk = { ...state.puk, ...counter };
        });
        taken = reserved.puk;
      },
      verify: async () => (correct = taken !== null && (await this.deps.hasher.verify(taken.hash, puk.reveal(), 'suspect'))),
      wrong: async () => {
        const before = untrustedFailures(taken?.failuresBySource ?? {}) - (isTrusted(source) ? 0 : 1);
        const after = await this.#update(settle);
        const view = after.puk ? pukView(after.puk, source) : { triesLeft: 0, blocked: true };
        this.deps.security.record('MaintenanceLoginFailed', { role: 'operator', method: PUK_METHOD, reason: 'wrongPuk', triesLeft: view.triesLeft });
        const counts = after.puk?.failuresBySource ?? {};
        this.#noteUntrustedFailure('puk', source, before, untrustedFailures(counts), counts, { method: PUK_METHOD });
        if (view.blocked) {
          this.deps.security.record('ResetPasswordPukBlocked', { scope: after.puk?.blocked ? 'all' : 'source' });
          throw new BlockedError(`wrong PUK; ${PUK_BLOCKED_MESSAGE}`);
        }
        const hint = nextAttemptHint(delayAfter(pukFailures(after.puk as PukRecord, source), this.deps.throttle));
        throw new RefusedError(`wrong PUK; ${view.triesLeft} ${view.triesLeft === 1 ? 'try' : 'tries'} left before it blocks${hint}`);
      },
      // Recorded by what the PUK was used for (ResetPuk), with whether the new password was taken.
      right: async () => void (await this.#update(settle)),
    });
    return actor('operator', 'puk');
  }

  /** The wait the current request's source would be refused with now for `role` (0: none). */
  waitMs(role: Role, record: RoleRecord): number {
    const source = currentSource();
    const counts = countsOf(record);
    const own = this.#roles.waitMs(`${role}|${source}`, failuresOf(counts, source));
    return Math.max(own, this.#roleWideWait(role, untrustedFailures(counts), source, this.#graceUntil.get(role) ?? null));
  }

  /** Forgets `role`'s last failures: they were cleared in the state (a new password, a reset). */
  forget(role: Role): void {
    this.#roles.clearWhere((key) => key.startsWith(`${role}|`));
    this.#lastUntrustedFailureAt.delete(role);
  }

  /**
   * A master card was tapped: for a while the role-wide ceiling slows nobody, so the people at the
   * station recover whatever a stranger keeps guessing (each source still waits out its own failures).
   */
  openGrace(roles: readonly Role[]): void {
    for (const role of roles) this.#graceUntil.set(role, this.deps.now() + this.deps.throttle.tapGraceMs);
  }

  /**
   * A client named by a front end is throttled on its own, within its peer's share: past the ceiling
   * of the peer's failures (all its clients together) each of its clients waits, so a hostile front
   * end gains nothing by naming a new client for every guess.
   */
  #peerShareWait(role: Role, counts: FailureCounts, source: string): number {
    const peer = peerOf(source);
    if (peer === source) return 0;
    const failures = peerFailures(counts, peer);
    const fallback = failures >= this.deps.throttle.roleCeiling ? this.#startedAt : null;
    const state = { untrustedFailures: failures, lastUntrustedFailureAt: this.#lastUntrustedFailureAt.get(`${role}|${peer}`) ?? fallback, graceUntil: null };
    return roleWideWait(state, false, this.deps.now(), this.deps.throttle);
  }

  #roleWideWait(key: string, untrusted: number, source: string, graceUntil: number | null): number {
    // After a restart the time of the last failure is unknown: the wait counts from start-up.
    const fallback = untrusted >= this.deps.throttle.roleCeiling ? this.#startedAt : null;
    const state = { untrustedFailures: untrusted, lastUntrustedFailureAt: this.#lastUntrustedFailureAt.get(key) ?? fallback, graceUntil };
    return roleWideWait(state, isTrusted(source), this.deps.now(), this.deps.throttle);
  }

  /** Times an untrusted failure for the ceiling, and raises the critical event when it is reached. */
  #noteUntrustedFailure(key: Role | 'puk', source: string, before: number, after: number, counts: FailureCounts, extra: { method?: typeof PUK_METHOD }): void {
    if (isTrusted(source)) return;
    this.#lastUntrustedFailureAt.set(key, this.deps.now());
    if (peerOf(source) !== source) this.#lastUntrustedFailureAt.set(`${key}|${peerOf(source)}`, this.deps.now());
    if (!crossedCeiling(before, after, this.deps.throttle)) return;
    const sources = Object.keys(counts).filter((s) => !isTrusted(s)).length;
    this.deps.security.record('GuessingCeilingReached', { role: key === 'puk' ? 'operator' : key, ...extra, failures: after, sources, severity: 'critical' });
  }

  /** admit → reserve → verify → settle → record: the single copy of the sequence. */
  async #attempt<K>(attempt: Attempt<K>): Promise<void> {
    const answer = await attempt.gate.admit(attempt.key, attempt.failures);
    if (!answer.admitted) attempt.throttled(answer.waitMs);
    const roleWide = attempt.roleWideWait?.() ?? 0;
    if (roleWide > 0) {
      attempt.gate.settle(attempt.key, 'undecided');
      attempt.throttled(roleWide);
    }
    let outcome: Outcome = 'undecided';
    try {
      await attempt.reserve?.();
      if (!(await attempt.verify(answer.lane))) {
        outcome = 'failed';
        await attempt.wrong();
      }
      outcome = 'succeeded';
      await attempt.right();
    } finally {
      attempt.gate.settle(attempt.key, outcome);
    }
  }

  /**
   * Clears the failures of the source that knew the password (others' stay: a stranger's guesses
   * keep throttling the stranger) and upgrades a hash made with older argon2 parameters.
   */
  async #afterRightPassword(role: Role, source: string, record: RoleRecord, password: string | null): Promise<void> {
    const rehash = password !== null && (await this.deps.hasher.needsRehash(record.hash));
    if (failuresOf(countsOf(record), source) === 0 && !rehash) return;
    const newHash = rehash && password !== null ? await this.deps.hasher.hash(password) : null;
    await this.#update((next) => {
      const r = next.roles[role];
      r.failuresBySource = withoutSource(countsOf(r), source);
      r.failures = total(r.failuresBySource);
      if (newHash !== null && r.hash === record.hash) {
        r.history = r.history.map((h) => (h === record.hash ? newHash : h));
        if (r.defaultHash === record.hash) r.defaultHash = newHash;
        r.hash = newHash;
      }
    });
    if (newHash !== null) this.deps.log.info({ role }, 'password hash upgraded to the configured argon2 parameters');
  }

  #state(): State {
    return requireProvisioned(this.deps.store.current);
  }

  /** One atomic state write: `change` edits a copy of the current state. */
  #update(change: (next: State) => void): Promise<State> {
    return this.deps.store.update((current) => {
      const next = structuredClone(requireProvisioned(current));
      change(next);
      return next;
    });
  }
}

/** The PUK record when one is set and not blocked for `source` (both shown by `status`, so no secret is told). */
function usablePuk(puk: PukRecord | null, source: string): PukRecord {
  if (!puk) throw new RefusedError('no Reset Password PUK is set on this device; the manufacturer sets one with "ccguard puk set"');
  if (pukView(puk, source).blocked) throw new BlockedError(PUK_BLOCKED_MESSAGE);
  return puk;
}

function nextAttemptHint(waitMs: number): string {
  return waitMs > 0 ? `; next attempt allowed in ${Math.ceil(waitMs / 1000)} s` : '';
}
