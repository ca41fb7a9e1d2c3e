import type { Logger } from 'pino';
import { evaluatePassword, HISTORY_DEPTH, normalizePassword, type PasswordRefusal } from '../../../policy/password.js';
import { mayPerform, ROLES, type Role } from '../../../policy/roles.js';
import { contextWords } from '../../../policy/strength.js';
import { admitAttempt, delayAfter, type ThrottleRules } from '../../../policy/throttle.js';
import type { Config } from '../../common/config.js';
import { MustChangeError, RefusedError, ThrottledError } from '../../common/errors.js';
import type { GenerationStore } from '../../store/generation-store.js';
import type { PasswordHasher } from './hasher.js';
import type { SecurityLog } from '../../logs/logging.js';
import type { Secret } from '../../common/secret.js';
import { requireProvisioned, type RoleRecord, type State } from '../../store/state.js';
import type { StrengthService } from './strength.js';

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

export interface RoleStatus {
  isDefault: boolean;
  mustChange: boolean;
  failures: number;
  throttled: boolean;
  retryInSeconds: number;
}

/** Logins, password changes and the password policy settings: the agent's credential authority. */
export class Credentials {
  readonly #inFlight = new Map<Role, number>();
  readonly #waiters = new Map<Role, Array<() => void>>();
  readonly #lastFailureAt = new Map<Role, number>();
  readonly #startedAt: number;
  readonly #rules: ThrottleRules;

  constructor(private readonly deps: CredentialDeps) {
    this.#startedAt = deps.now();
    this.#rules = deps.config.throttle;
  }

  /**
   * Succeeds for a usable password; a right password that must be changed throws MustChangeError.
   * Also how other services check an actor's password (throttled and recorded alike).
   */
  async login(role: Role, password: Secret, origin: string): Promise<void> {
    await this.#authenticate(role, password, origin, false);
  }

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
    const now = this.deps.now();
    const entries = ROLES.map((role): [Role, RoleStatus] => {
      const record = state.roles[role];
      const admission = admitAttempt(this.#throttleState(role, record), now, this.#rules);
      const waitMs = !admission.admit && admission.reason === 'wait' ? admission.waitMs : 0;
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

  #throttleState(role: Role, record: RoleRecord) {
    // After a restart the time of the last failure is unknown: the wait counts from start-up.
    const fallback = record.failures >= this.#rules.freeFailures ? this.#startedAt : null;
    return {
      failures: record.failures,
      lastFailureAt: this.#lastFailureAt.get(role) ?? fallback,
      inFlight: this.#inFlight.get(role) ?? 0,
    };
  }

  /** Resolves when an attempt for `role` that was in flight has settled. */
  #settled(role: Role): Promise<void> {
    let waiters = this.#waiters.get(role);
    if (!waiters) {
      waiters = [];
      this.#waiters.set(role, waiters);
    }
    const list = waiters;
    return new Promise((resolve) => list.push(resolve));
  }

  #settle(role: Role): void {
    this.#inFlight.set(role, (this.#inFlight.get(role) ?? 1) - 1);
    const waiters = this.#waiters.get(role) ?? [];
    this.#waiters.delete(role);
    for (const wake of waiters) wake();
  }

  /** Waits out attempts in flight that could use up the free allowance, then admits or refuses. */
  async #admit(role: Role, origin: string): Promise<RoleRecord> {
    for (;;) {
      const record = this.#state().roles[role];
      const admission = admitAttempt(this.#throttleState(role, record), this.deps.now(), this.#rules);
      if (admission.admit) {
        this.#inFlight.set(role, (this.#inFlight.get(role) ?? 0) + 1);
        return record;
      }
      if (admission.reason === 'busy') {
        await this.#settled(role);
        continue;
      }
      const seconds = Math.ceil(admission.waitMs / 1000);
      this.deps.security.record('MaintenanceLoginFailed', { role, origin, reason: 'throttled', failures: record.failures });
      throw new ThrottledError(`too many failed attempts for ${role}: wait ${seconds} s before the next attempt`, admission.waitMs);
    }
  }

  async #authenticate(role: Role, password: Secret, origin: string, allowMustChange: boolean): Promise<RoleRecord> {
    const record = await this.#admit(role, origin);
    let ok: boolean;
    let normalized: string | null = null;
    try {
      const n = normalizePassword(password.reveal());
      normalized = n.ok ? n.value : null;
      ok = normalized !== null && (await this.deps.hasher.verify(record.hash, normalized));
      if (!ok) {
        this.#lastFailureAt.set(role, this.deps.now());
        // Counted durably before the answer, so a restart cannot hand out fresh attempts.
        const state = await this.deps.store.update((current) => {
          const next = structuredClone(this.#require(current));
          next.roles[role].failures += 1;
          return next;
        });
        const failures = state.roles[role].failures;
        this.deps.security.record('MaintenanceLoginFailed', { role, origin, reason: 'wrongPassword', failures });
        const wait = delayAfter(failures, this.#rules);
        const hint = wait > 0 ? `; next attempt allowed in ${Math.ceil(wait / 1000)} s` : '';
        throw new RefusedError(`wrong password for ${role}${hint}`);
      }
    } finally {
      this.#settle(role);
    }
    this.#lastFailureAt.delete(role);
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

  /** Checks a new password against every rule and returns its hash, or refuses naming the rules broken. */
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

  /** Forgets the in-memory failure times of `roles` (their stored counts were cleared by a reset). */
  forgetFailures(roles: readonly Role[]): void {
    for (const role of roles) this.#lastFailureAt.delete(role);
  }

  async #storePassword(role: Role, hash: string, mustChange: boolean): Promise<void> {
    await this.deps.store.update((current) => withNewPassword(this.#require(current), role, hash, mustChange));
    this.#lastFailureAt.delete(role);
  }
}

function refuseIfAny(refusals: readonly PasswordRefusal[]): void {
  if (refusals.length === 0) return;
  throw new RefusedError(
    `new password refused: ${refusals.map((r) => r.message).join('; ')}`,
    refusals.map((r) => r.rule),
  );
}

/** `state` with `role` on a new password: not default, history kept, throttling cleared. */
export function withNewPassword(state: State, role: Role, hash: string, mustChange: boolean): State {
  const next = structuredClone(state);
  const r = next.roles[role];
  r.hash = hash;
  r.isDefault = false;
  r.mustChange = mustChange;
  r.history = [hash, ...r.history].slice(0, HISTORY_DEPTH);
  r.failures = 0;
  r.changedAt = new Date().toISOString();
  return next;
}

/** `state` with `roles` back on their default passwords: must change, throttling cleared. */
export function withDefaultPasswords(state: State, roles: readonly Role[]): State {
  const next = structuredClone(state);
  const now = new Date().toISOString();
  for (const role of roles) {
    const r = next.roles[role];
    r.hash = r.defaultHash;
    r.isDefault = true;
    r.mustChange = true;
    r.failures = 0;
    r.changedAt = now;
  }
  return next;
}
