import type { Logger } from 'pino';
import { evaluatePassword, HISTORY_DEPTH, normalizePassword, type PasswordRefusal } from '../../../policy/password.js';
import { mayPerform, ROLES, type Role } from '../../../policy/roles.js';
import { contextWords } from '../../../policy/strength.js';
import { delayAfter, type HashLane } from '../../../policy/throttle.js';
import type { Config } from '../../common/config.js';
import { MustChangeError, RefusedError, ThrottledError } from '../../common/errors.js';
import type { GenerationStore } from '../../store/generation-store.js';
import type { PasswordHasher } from '../../common/hasher.js';
import type { SecurityLog } from '../../logs/logging.js';
import type { Secret } from '../../common/secret.js';
import type { RoleStatus } from '../../wire/status-report.js';
import { requireProvisioned, type RoleRecord, type State } from '../../store/state.js';
import { withDefaultPasswords, withNewPassword } from '../../../policy/credential-state.js';
import type { StrengthService } from './strength.js';
import { AttemptGate } from './attempt-gate.js';

export interface CredentialDeps {
  store: GenerationStore<State>;
  hasher: PasswordHasher;
  strength: StrengthService;
  security: SecurityLog;
  log: Logger;
  config: Config;
  /** Monotonic milliseconds. */
  now: () => number;
}

export interface PolicyChange {
  enforceStrong?: boolean | undefined;
  enforcePasswordChange?: boolean | undefined;
}

/** Logins, password changes and the password policy settings: the agent's credential authority. */
export class Credentials {
  readonly #gate: AttemptGate<Role>;

  constructor(private readonly deps: CredentialDeps) {
    this.#gate = new AttemptGate(deps.config.throttle, deps.now);
  }

  /**
   * Succeeds for a usable password; a right password that must be changed throws MustChangeError.
   * Also how other services check an actor's password (throttled and recorded alike).
   */
  async login(role: Role, password: Secret, origin: string): Promise<void> {
    await this.#authenticate(role, password, origin, false);
  }

  /** The current password is checked before anything is said about the new one. */
  async changeOwnPassword(role: Role, current: Secret, next: Secret, origin: string): Promise<void> {
    await this.#authenticate(role, current, origin, true);
    const hash = await this.vetNewPassword(role, next);
    await this.#storePassword(role, hash, false);
    this.deps.security.record('ReconfigurationOfSecurityParameters', { change: 'password', role, by: role, origin });
  }

  /** The manufacturer sets another role's password. */
  async setPasswordAs(actor: Role, actorPassword: Secret, role: Role, next: Secret, origin: string): Promise<void> {
    if (!mayPerform(actor, 'password.setOther')) {
      throw new RefusedError(`${actor} may not set another role's password; only the manufacturer may`);
    }
    await this.#authenticate(actor, actorPassword, origin, false);
    const hash = await this.vetNewPassword(role, next);
    const policy = this.#state().policy;
    // A password handed over by the manufacturer is one the operator must replace when the setting asks for it.
    const mustChange = role === 'operator' && role !== actor && policy.enforcePasswordChange;
    await this.#storePassword(role, hash, mustChange);
    this.deps.security.record('ReconfigurationOfSecurityParameters', { change: 'password', role, by: actor, origin });
  }

  async setPolicy(actorPassword: Secret, change: PolicyChange, origin: string): Promise<State['policy']> {
    await this.#authenticate('manufacturer', actorPassword, origin, false);
    const before = this.#state().policy;
    const next = await this.deps.store.update((current) => {
      const state = structuredClone(this.#require(current));
      if (change.enforceStrong !== undefined) state.policy.enforceStrong = change.enforceStrong;
      if (change.enforcePasswordChange !== undefined) {
        state.policy.enforcePasswordChange = change.enforcePasswordChange;
        if (change.enforcePasswordChange) state.roles.operator.mustChange = true;
      }
      return state;
    });
    this.deps.security.record('ReconfigurationOfSecurityParameters', {
      change: 'passwordPolicy',
      before,
      after: next.policy,
      by: 'manufacturer',
      origin,
    });
    return next.policy;
  }

  policy(): State['policy'] {
    return this.#state().policy;
  }

  /** Per-role status; null while the device is not provisioned. */
  roleStatus(): Record<Role, RoleStatus> | null {
    const state = this.deps.store.current;
    if (!state) return null;
    const entries = ROLES.map((role): [Role, RoleStatus] => {
      const record = state.roles[role];
      const waitMs = this.#gate.waitMs(role, record.failures);
      return [
        role,
        {
          isDefault: record.isDefault,
          mustChange: record.isDefault || record.mustChange,
          failures: record.failures,
          throttled: waitMs > 0,
          retryInSeconds: Math.ceil(waitMs / 1000),
        },
      ];
    });
    return Object.fromEntries(entries) as Record<Role, RoleStatus>;
  }

  #require(state: State | null): State {
    return requireProvisioned(state);
  }

  #state(): State {
    return this.#require(this.deps.store.current);
  }

  /** Waits out attempts in flight that could use up the free allowance, then admits or refuses. */
  async #admit(role: Role, origin: string): Promise<{ record: RoleRecord; lane: HashLane }> {
    const answer = await this.#gate.admit(role, () => this.#state().roles[role].failures);
    if (answer.admitted) return { record: this.#state().roles[role], lane: answer.lane };
    const seconds = Math.ceil(answer.waitMs / 1000);
    this.deps.security.record('MaintenanceLoginFailed', { role, origin, reason: 'throttled', failures: this.#state().roles[role].failures });
    throw new ThrottledError(`too many failed attempts for ${role}: wait ${seconds} s before the next attempt`, answer.waitMs);
  }

  async #authenticate(role: Role, password: Secret, origin: string, allowMustChange: boolean): Promise<RoleRecord> {
    const { record, lane } = await this.#admit(role, origin);
    let outcome: 'failed' | 'succeeded' | 'undecided' = 'undecided';
    let normalized: string | null = null;
    try {
      const n = normalizePassword(password.reveal());
      normalized = n.ok ? n.value : null;
      const ok = normalized !== null && (await this.deps.hasher.verify(record.hash, normalized, lane));
      if (!ok) {
        outcome = 'failed';
        // Counted durably before the answer, so a restart cannot hand out fresh attempts.
        const state = await this.deps.store.update((current) => {
          const next = structuredClone(this.#require(current));
          next.roles[role].failures += 1;
          return next;
        });
        const failures = state.roles[role].failures;
        this.deps.security.record('MaintenanceLoginFailed', { role, origin, reason: 'wrongPassword', failures });
        const wait = delayAfter(failures, this.deps.config.throttle);
        const hint = wait > 0 ? `; next attempt allowed in ${Math.ceil(wait / 1000)} s` : '';
        throw new RefusedError(`wrong password for ${role}${hint}`);
      }
      outcome = 'succeeded';
    } finally {
      this.#gate.settle(role, outcome);
    }
    await this.#afterSuccess(role, record, normalized);
    const mustChange = record.isDefault || record.mustChange;
    this.deps.security.record('MaintenanceLoginAccepted', { role, origin, mustChange });
    if (mustChange && !allowMustChange) {
      const why = record.isDefault ? 'is still on its default password' : 'must change its password';
      throw new MustChangeError(`login accepted, but ${role} ${why}: change it first with "ccguard passwd ${role}"`);
    }
    return record;
  }

  /** Clears the failure count and upgrades a hash made with older argon2 parameters. */
  async #afterSuccess(role: Role, record: RoleRecord, password: string | null): Promise<void> {
    const rehash = password !== null && (await this.deps.hasher.needsRehash(record.hash));
    if (record.failures === 0 && !rehash) return;
    const newHash = rehash && password !== null ? await this.deps.hasher.hash(password) : null;
    await this.deps.store.update((current) => {
      const next = structuredClone(this.#require(current));
      const r = next.roles[role];
      r.failures = 0;
      if (newHash !== null && r.hash === record.hash) {
        r.history = r.history.map((h) => (h === record.hash ? newHash : h));
        if (r.defaultHash === record.hash) r.defaultHash = newHash;
        r.hash = newHash;
      }
      return next;
    });
    if (newHash !== null) this.deps.log.info({ role }, 'password hash upgraded to the configured argon2 parameters');
  }

  /**
   * Checks a new password against every rule and returns its hash, or refuses naming the rules
   * broken. The verdict tells whether a guess is one of the role's last passwords: call it only
   * once the caller's own secret has been found right.
   */
  async vetNewPassword(role: Role, next: Secret): Promise<string> {
    const normalized = normalizePassword(next.reveal());
    if (!normalized.ok) {
      throw new RefusedError(`new password refused: ${normalized.refusal.message}`, [normalized.refusal.rule]);
    }
    const password = normalized.value;
    const state = this.#state();
    const record = state.roles[role];
    const device = this.deps.config.device;
    const strength = await this.deps.strength.check(password, contextWords([device.name, device.serial]));
    const facts = { role, enforceStrong: state.policy.enforceStrong, score: strength.score, listed: strength.listed };
    // The rules that need argon2 (default, history) come last: a refusal by the others costs no hashing.
    refuseIfAny(evaluatePassword(password, { ...facts, equalsDefault: false, inHistory: false }));
    const [equalsDefault, history] = await Promise.all([
      this.deps.hasher.verify(record.defaultHash, password),
      Promise.all(record.history.slice(0, HISTORY_DEPTH).map((h) => this.deps.hasher.verify(h, password))),
    ]);
    refuseIfAny(evaluatePassword(password, { ...facts, equalsDefault, inHistory: history.some(Boolean) }));
    return this.deps.hasher.hash(password);
  }

  /**
   * Puts `roles` back on their default passwords (must change), with `alsoChange` applied to the
   * same atomic state write (a factory restore changes settings with them).
   */
  async resetToDefaults(roles: readonly Role[], alsoChange: (state: State) => State = (s) => s): Promise<State> {
    const state = await this.deps.store.update((current) => alsoChange(withDefaultPasswords(this.#require(current), roles, new Date().toISOString())));
    for (const role of roles) this.#gate.clear(role);
    return state;
  }

  /**
   * Stores a password that `vetNewPassword` accepted, with `alsoChange` applied to the same atomic
   * state write (a PUK reset settles its try counter with it).
   */
  async storeVetted(role: Role, hash: string, mustChange: boolean, alsoChange: (state: State) => State = (s) => s): Promise<State> {
    const state = await this.deps.store.update((current) => alsoChange(withNewPassword(this.#require(current), role, hash, mustChange, new Date().toISOString())));
    this.#gate.clear(role);
    return state;
  }

  /**
   * A double station's slave takes the role records its master pushed, with the rest of the push
   * (policy, PUK, cards), in one atomic write. Failure counts stay local (the change keeps them).
   */
  async applyFromMaster(change: (current: State) => State): Promise<State> {
    return this.deps.store.update((current) => change(this.#require(current)));
  }

  async #storePassword(role: Role, hash: string, mustChange: boolean): Promise<void> {
    await this.storeVetted(role, hash, mustChange);
  }
}

function refuseIfAny(refusals: readonly PasswordRefusal[]): void {
  if (refusals.length === 0) return;
  throw new RefusedError(
    `new password refused: ${refusals.map((r) => r.message).join('; ')}`,
    refusals.map((r) => r.rule),
  );
}
