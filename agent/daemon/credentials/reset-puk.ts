import { afterVerdict, checkPukFormat, PUK_TRIES, pukFailures, reserveTry } from '../../../policy/puk.js';
import { delayAfter, type ThrottleRules } from '../../../policy/throttle.js';
import { AttemptGate } from './attempt-gate.js';
import type { Credentials } from './credentials.js';
import { BlockedError, RefusedError, ThrottledError } from '../../common/errors.js';
import type { GenerationStore } from '../../store/generation-store.js';
import type { PasswordHasher } from '../../common/hasher.js';
import type { SecurityLog } from '../../logs/logging.js';
import type { Secret } from '../../common/secret.js';
import type { PukRecord, State } from '../../store/state.js';
import type { PukStatus } from '../../wire/status-report.js';

const BLOCKED_MESSAGE =
  'the Reset Password PUK is blocked after too many wrong attempts; the manufacturer unblocks it by setting it again ' +
  '("ccguard puk set"), or by restoring manufacturer defaults saved while it was not blocked';

const METHOD = 'resetPasswordPuk';

/**
 * The Reset Password PUK: set by the manufacturer, used by an operator who lost the password.
 * Ten consecutive wrong PUKs block it, as on a SIM card; each attempt takes its try durably
 * before the PUK is checked, so neither a restart nor parallel clients get more than ten. Wrong
 * PUKs are also throttled like a role's wrong passwords (policy/throttle.ts), and checked on the
 * hasher's suspect lane, so a flood of them costs its sender, not the operators logging in.
 */
export class ResetPuk {
  readonly #gate: AttemptGate<'puk'>;

  constructor(
    private readonly deps: {
      store: GenerationStore<State>;
      hasher: PasswordHasher;
      credentials: Credentials;
      security: SecurityLog;
      throttle: ThrottleRules;
      /** Monotonic milliseconds. */
      now: () => number;
    },
  ) {
    this.#gate = new AttemptGate(deps.throttle, deps.now);
  }

  status(): PukStatus {
    const puk = this.deps.store.current?.puk ?? null;
    return puk ? { set: true, triesLeft: puk.triesLeft, blocked: puk.blocked } : { set: false, triesLeft: PUK_TRIES, blocked: false };
  }

  /** The manufacturer password is checked before anything is said about the PUK given. */
  async set(manufacturerPassword: Secret, puk: Secret, origin: string): Promise<PukStatus> {
    await this.deps.credentials.login('manufacturer', manufacturerPassword, origin);
    const refusal = checkPukFormat(puk.reveal());
    if (refusal) throw new RefusedError(`PUK refused: ${refusal.message}`, [refusal.rule]);
    const hash = await this.deps.hasher.hash(puk.reveal());
    await this.deps.store.update((current) => {
      const state = structuredClone(this.#require(current));
      state.puk = { hash, triesLeft: PUK_TRIES, blocked: false, setAt: new Date().toISOString() };
      return state;
    });
    this.deps.security.record('ReconfigurationOfSecurityParameters', { change: 'resetPasswordPuk', by: 'manufacturer', origin });
    return this.status();
  }

  /**
   * A right PUK sets the operator's new password and clears its throttling and must-change.
   * The PUK is checked first: a try taken durably, then one argon2 verify, so every wrong PUK
   * gets the same answer after the same work whatever the new password is. Only a right PUK has
   * the new password vetted; a refused one then gives the try back (a right PUK restores the
   * counter) and the PUK stays valid.
   */
  async reset(puk: Secret, newPassword: Secret, origin: string): Promise<void> {
    this.#usable(this.#require(this.deps.store.current).puk);
    const answer = await this.#gate.admit('puk', () => {
      const current = this.#require(this.deps.store.current).puk;
      return current ? pukFailures(current) : 0;
    });
    if (!answer.admitted) {
      const current = this.#usable(this.#require(this.deps.store.current).puk);
      this.deps.security.record('MaintenanceLoginFailed', { role: 'operator', method: METHOD, origin, reason: 'throttled', triesLeft: current.triesLeft });
      throw new ThrottledError(`too many wrong PUKs: wait ${Math.ceil(answer.waitMs / 1000)} s before the next attempt`, answer.waitMs);
    }
    let outcome: 'failed' | 'succeeded' | 'undecided' = 'undecided';
    try {
      const reserved = await this.deps.store.update((current) => {
        const state = structuredClone(this.#require(current));
        const counter = state.puk ? reserveTry(state.puk) : null;
        if (!state.puk || !counter) throw new BlockedError(BLOCKED_MESSAGE);
        state.puk = { ...state.puk, ...counter };
        return state;
      });
      const taken = reserved.puk as PukRecord;
      const correct = await this.deps.hasher.verify(taken.hash, puk.reveal(), 'suspect');
      // A PUK set anew meanwhile has its own counter: leave it alone.
      const settle = (current: State): State => {
        const state = structuredClone(current);
        if (state.puk && state.puk.hash === taken.hash) state.puk = { ...state.puk, ...afterVerdict(state.puk, correct) };
        return state;
      };
      if (!correct) {
        outcome = 'failed';
        return await this.#wrongPuk(settle, origin);
      }
      outcome = 'succeeded';
      let hash: string;
      try {
        hash = await this.deps.credentials.vetNewPassword('operator', newPassword);
      } catch (err) {
        // The PUK was right: a refused new password costs no try.
        const after = await this.deps.store.update((current) => settle(this.#require(current)));
        this.deps.security.record('MaintenanceLoginAccepted', { role: 'operator', method: METHOD, origin, triesLeft: after.puk?.triesLeft ?? 0, newPassword: 'refused' });
        throw err;
      }
      const after = await this.deps.credentials.storeVetted('operator', hash, false, settle);
      this.deps.security.record('MaintenanceLoginAccepted', { role: 'operator', method: METHOD, origin, triesLeft: after.puk?.triesLeft ?? 0 });
      this.deps.security.record('ReconfigurationOfSecurityParameters', { change: 'password', role: 'operator', by: METHOD, origin });
    } finally {
      this.#gate.settle('puk', outcome);
    }
  }

  /** Keeps the wrong PUK's try taken (blocking on the last) and answers the same whatever else was sent. */
  async #wrongPuk(settle: (state: State) => State, origin: string): Promise<never> {
    const after = await this.deps.store.update((current) => settle(this.#require(current)));
    const triesLeft = after.puk?.triesLeft ?? 0;
    this.deps.security.record('MaintenanceLoginFailed', { role: 'operator', method: METHOD, origin, reason: 'wrongPuk', triesLeft });
    if (after.puk?.blocked) {
      this.deps.security.record('ResetPasswordPukBlocked', { origin });
      throw new BlockedError(`wrong PUK; ${BLOCKED_MESSAGE}`);
    }
    const wait = after.puk ? delayAfter(pukFailures(after.puk), this.deps.throttle) : 0;
    const hint = wait > 0 ? `; next attempt allowed in ${Math.ceil(wait / 1000)} s` : '';
    throw new RefusedError(`wrong PUK; ${triesLeft} ${triesLeft === 1 ? 'try' : 'tries'} left before it blocks${hint}`);
  }

  /** The PUK record when one is set and not blocked (both shown by `status`, so no secret is told). */
  #usable(puk: PukRecord | null): PukRecord {
    if (!puk) throw new RefusedError('no Reset Password PUK is set on this device; the manufacturer sets one with "ccguard puk set"');
    if (puk.blocked) throw new BlockedError(BLOCKED_MESSAGE);
    return puk;
  }

  #require(state: State | null): State {
    if (!state) throw new RefusedError('this device is not provisioned: run "ccguard provision --config FILE" first');
    return state;
  }
}
