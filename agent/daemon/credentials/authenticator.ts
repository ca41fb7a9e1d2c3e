import type { Logger } from 'pino';
import { normalizePassword } from '../../../policy/password.js';
import { afterVerdict, pukFailures, reserveTry } from '../../../policy/puk.js';
import type { Role } from '../../../policy/roles.js';
import { delayAfter, type HashLane, type ThrottleRules } from '../../../policy/throttle.js';
import { BlockedError, MustChangeError, RefusedError, ThrottledError } from '../../common/errors.js';
import type { PasswordHasher } from '../../common/hasher.js';
import type { Secret } from '../../common/secret.js';
import type { SecurityLog } from '../../logs/logging.js';
import type { GenerationStore } from '../../store/generation-store.js';
import { requireProvisioned, type PukRecord, type RoleRecord, type State } from '../../store/state.js';
import { AttemptGate } from './attempt-gate.js';

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
  throttle: ThrottleRules;
  /** Monotonic milliseconds. */
  now: () => number;
}

/**
 * The one place a caller's secret is checked: a role's password or the Reset Password PUK. Every
 * check runs the same sequence — admit (throttle), reserve, verify, settle, record — and answers
 * an `Actor` or a typed refusal. Wrong secrets are counted durably before the answer, so neither
 * a restart nor parallel clients get more attempts than the throttle allows.
 */
export class Authenticator {
  readonly #roles: AttemptGate<Role>;
  readonly #puk: AttemptGate<'puk'>;

  constructor(private readonly deps: AuthenticatorDeps) {
    this.#roles = new AttemptGate(deps.throttle, deps.now);
    this.#puk = new AttemptGate(deps.throttle, deps.now);
  }

  /**
   * `role`'s password. A right password that must be changed throws MustChangeError unless
   * `allowMustChange` (changing it is the one thing such a role may do).
   */
  async password<R extends Role>(role: R, password: Secret, allowMustChange: boolean): Promise<Actor<R>> {
    const record = (): RoleRecord => this.#state().roles[role];
    // Read once admitted: attempts waited for may have changed it.
    let checked: RoleRecord | null = null;
    let normalized: string | null = null;
    await this.#attempt({
      gate: this.#roles,
      key: role,
      failures: () => record().failures,
      throttled: (waitMs) => {
        this.deps.security.record('MaintenanceLoginFailed', { role, reason: 'throttled', failures: record().failures });
        throw new ThrottledError(`too many failed attempts for ${role}: wait ${Math.ceil(waitMs / 1000)} s before the next attempt`, waitMs);
      },
      verify: async (lane) => {
        const hash = (checked = record()).hash;
        const n = normalizePassword(password.reveal());
        normalized = n.ok ? n.value : null;
        return normalized !== null && this.deps.hasher.verify(hash, normalized, lane);
      },
      wrong: async () => {
        const state = await this.#update((next) => void (next.roles[role].failures += 1));
        const failures = state.roles[role].failures;
        this.deps.security.record('MaintenanceLoginFailed', { role, reason: 'wrongPassword', failures });
        throw new RefusedError(`wrong password for ${role}${nextAttemptHint(delayAfter(failures, this.deps.throttle))}`);
      },
      right: async () => {
        const verified = checked as RoleRecord;
        await this.#afterRightPassword(role, verified, normalized);
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
    const current = (): PukRecord | null => this.#state().puk;
    usablePuk(current());
    let taken: PukRecord | null = null;
    let correct = false;
    // A PUK set anew meanwhile has its own counter: leave it alone.
    const settle = (state: State): void => {
      if (state.puk && taken && state.puk.hash === taken.hash) state.puk = { ...state.puk, ...afterVerdict(state.puk, correct) };
    };
    await this.#attempt({
      gate: this.#puk,
      key: 'puk',
      failures: () => {
        const record = current();
        return record ? pukFailures(record) : 0;
      },
      throttled: (waitMs) => {
        const record = usablePuk(current());
        this.deps.security.record('MaintenanceLoginFailed', { role: 'operator', method: PUK_METHOD, reason: 'throttled', triesLeft: record.triesLeft });
        throw new ThrottledError(`too many wrong PUKs: wait ${Math.ceil(waitMs / 1000)} s before the next attempt`, waitMs);
      },
      reserve: async () => {
        const reserved = await this.#update((state) => {
          const counter = state.puk ? reserveTry(state.puk) : null;
          if (!state.puk || !counter) throw new BlockedError(PUK_BLOCKED_MESSAGE);
          state.puk = { ...state.puk, ...counter };
        });
        taken = reserved.puk;
      },
      verify: async () => (correct = taken !== null && (await this.deps.hasher.verify(taken.hash, puk.reveal(), 'suspect'))),
      wrong: async () => {
        const after = await this.#update(settle);
        const triesLeft = after.puk?.triesLeft ?? 0;
        this.deps.security.record('MaintenanceLoginFailed', { role: 'operator', method: PUK_METHOD, reason: 'wrongPuk', triesLeft });
        if (after.puk?.blocked) {
          this.deps.security.record('ResetPasswordPukBlocked', {});
          throw new BlockedError(`wrong PUK; ${PUK_BLOCKED_MESSAGE}`);
        }
        const hint = nextAttemptHint(after.puk ? delayAfter(pukFailures(after.puk), this.deps.throttle) : 0);
        throw new RefusedError(`wrong PUK; ${triesLeft} ${triesLeft === 1 ? 'try' : 'tries'} left before it blocks${hint}`);
      },
      // Recorded by what the PUK was used for (ResetPuk), with whether the new password was taken.
      right: async () => void (await this.#update(settle)),
    });
    return actor('operator', 'puk');
  }

  /** The wait a new attempt for `role` would be refused with now (0: none). */
  waitMs(role: Role, failures: number): number {
    return this.#roles.waitMs(role, failures);
  }

  /** Forgets `role`'s last failure: its failures were cleared in the state (a new password, a reset). */
  forget(role: Role): void {
    this.#roles.clear(role);
  }

  /** admit → reserve → verify → settle → record: the single copy of the sequence. */
  async #attempt<K>(attempt: Attempt<K>): Promise<void> {
    const answer = await attempt.gate.admit(attempt.key, attempt.failures);
    if (!answer.admitted) attempt.throttled(answer.waitMs);
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

  /** Clears the failure count and upgrades a hash made with older argon2 parameters. */
  async #afterRightPassword(role: Role, record: RoleRecord, password: string | null): Promise<void> {
    const rehash = password !== null && (await this.deps.hasher.needsRehash(record.hash));
    if (record.failures === 0 && !rehash) return;
    const newHash = rehash && password !== null ? await this.deps.hasher.hash(password) : null;
    await this.#update((next) => {
      const r = next.roles[role];
      r.failures = 0;
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

/** The PUK record when one is set and not blocked (both shown by `status`, so no secret is told). */
function usablePuk(puk: PukRecord | null): PukRecord {
  if (!puk) throw new RefusedError('no Reset Password PUK is set on this device; the manufacturer sets one with "ccguard puk set"');
  if (puk.blocked) throw new BlockedError(PUK_BLOCKED_MESSAGE);
  return puk;
}

function nextAttemptHint(waitMs: number): string {
  return waitMs > 0 ? `; next attempt allowed in ${Math.ceil(waitMs / 1000)} s` : '';
}
