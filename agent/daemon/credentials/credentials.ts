import { evaluatePassword, HISTORY_DEPTH, normalizePassword, type PasswordRefusal } from '../../../policy/password.js';
import { ROLES, type Role } from '../../../policy/roles.js';
import { contextWords } from '../../../policy/strength.js';
import type { Config } from '../../common/config.js';
import { RefusedError } from '../../common/errors.js';
import type { GenerationStore } from '../../store/generation-store.js';
import type { PasswordHasher } from '../../common/hasher.js';
import type { SecurityLog } from '../../logs/logging.js';
import type { Secret } from '../../common/secret.js';
import type { RoleStatus } from '../../wire/status-report.js';
import { requireProvisioned, type State } from '../../store/state.js';
import { withDefaultPasswords, withNewPassword } from '../../../policy/credential-state.js';
import type { StrengthService } from './strength.js';
import type { Actor, Authenticator } from './authenticator.js';

export interface CredentialDeps {
  store: GenerationStore<State>;
  hasher: PasswordHasher;
  strength: StrengthService;
  security: SecurityLog;
  config: Config;
  authenticator: Authenticator;
}

export interface PolicyChange {
  enforceStrong?: boolean | undefined;
  enforcePasswordChange?: boolean | undefined;
}

/**
 * Password changes and the password policy settings: the agent's credential authority. Callers
 * arrive as an `Actor` (the Authenticator checked their secret at dispatch).
 */
export class Credentials {
  constructor(private readonly deps: CredentialDeps) {}

  /** The role's current password was checked at dispatch; nothing was said about the new one before. */
  async changeOwnPassword(actor: Actor, next: Secret): Promise<void> {
    const hash = await this.vetNewPassword(actor.role, next);
    await this.storeVetted(actor.role, hash, false);
    this.deps.security.record('ReconfigurationOfSecurityParameters', { change: 'password', role: actor.role, by: actor.role });
  }

  /** The manufacturer sets another role's password. */
  async setPasswordAs(actor: Actor<'manufacturer'>, role: Role, next: Secret): Promise<void> {
    const hash = await this.vetNewPassword(role, next);
    const policy = this.#state().policy;
    // A password handed over by the manufacturer is one the operator must replace when the setting asks for it.
    const mustChange = role === 'operator' && policy.enforcePasswordChange;
    await this.storeVetted(role, hash, mustChange);
    this.deps.security.record('ReconfigurationOfSecurityParameters', { change: 'password', role, by: actor.role });
  }

  async setPolicy(actor: Actor<'manufacturer'>, change: PolicyChange): Promise<State['policy']> {
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
      by: actor.role,
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
      const waitMs = this.deps.authenticator.waitMs(role, record);
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
    for (const role of roles) this.deps.authenticator.forget(role);
    this.deps.authenticator.openGrace(roles);
    return state;
  }

  /**
   * Stores a password that `vetNewPassword` accepted, with `alsoChange` applied to the same atomic
   * state write (a PUK reset settles its try counter with it).
   */
  async storeVetted(role: Role, hash: string, mustChange: boolean, alsoChange: (state: State) => State = (s) => s): Promise<State> {
    const state = await this.deps.store.update((current) =>
      alsoChange(withNewPassword(this.#require(current), role, hash, mustChange, new Date().toISOString())),
    );
    this.deps.authenticator.forget(role);
    return state;
  }

  /**
   * A double station's slave takes the role records its master pushed, with the rest of the push
   * (policy, PUK, cards), in one atomic write. Failure counts stay local (the change keeps them).
   */
  async applyFromMaster(change: (current: State) => State): Promise<State> {
    return this.deps.store.update((current) => change(this.#require(current)));
  }
}

function refuseIfAny(refusals: readonly PasswordRefusal[]): void {
  if (refusals.length === 0) return;
  throw new RefusedError(
    `new password refused: ${refusals.map((r) => r.message).join('; ')}`,
    refusals.map((r) => r.rule),
  );
}
