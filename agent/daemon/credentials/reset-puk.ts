import { afterVerdict, checkPukFormat, PUK_TRIES, reserveTry } from '../../../policy/puk.js';
import type { Credentials } from './credentials.js';
import { BlockedError, RefusedError } from '../../common/errors.js';
import type { GenerationStore } from '../../store/generation-store.js';
import type { PasswordHasher } from '../../common/hasher.js';
import type { SecurityLog } from '../../logs/logging.js';
import type { Secret } from '../../common/secret.js';
import type { PukRecord, State } from '../../store/state.js';
import type { PukStatus } from '../../wire/status-report.js';

const BLOCKED_MESSAGE =
  'the Reset Password PUK is blocked after too many wrong attempts; the manufacturer unblocks it by setting it again ' +
  '("ccguard puk set"), or a restore of the manufacturer defaults does';

/**
 * The Reset Password PUK: set by the manufacturer, used by an operator who lost the password.
 * Ten consecutive wrong PUKs block it, as on a SIM card; each attempt takes its try durably
 * before the PUK is checked, so neither a restart nor parallel clients get more than ten.
 */
export class ResetPuk {
  constructor(
    private readonly deps: {
      store: GenerationStore<State>;
      hasher: PasswordHasher;
      credentials: Credentials;
      security: SecurityLog;
    },
  ) {}

  status(): PukStatus {
    const puk = this.deps.store.current?.puk ?? null;
    return puk ? { set: true, triesLeft: puk.triesLeft, blocked: puk.blocked } : { set: false, triesLeft: PUK_TRIES, blocked: false };
  }

  async set(manufacturerPassword: Secret, puk: Secret, origin: string): Promise<PukStatus> {
    const refusal = checkPukFormat(puk.reveal());
    if (refusal) throw new RefusedError(`PUK refused: ${refusal.message}`, [refusal.rule]);
    await this.deps.credentials.login('manufacturer', manufacturerPassword, origin);
    const hash = await this.deps.hasher.hash(puk.reveal());
    await this.deps.store.update((current) => {
      const state = structuredClone(this.#require(current));
      state.puk = { hash, triesLeft: PUK_TRIES, blocked: false, setAt: new Date().toISOString() };
      return state;
    });
    this.deps.security.record('ReconfigurationOfSecurityParameters', { change: 'resetPasswordPuk', by: 'manufacturer', origin });
    return this.status();
  }

  /** A right PUK sets the operator's new password and clears its throttling and must-change. */
  async reset(puk: Secret, newPassword: Secret, origin: string): Promise<void> {
    const before = this.#require(this.deps.store.current).puk;
    if (!before) throw new RefusedError('no Reset Password PUK is set on this device; the manufacturer sets one with "ccguard puk set"');
    if (before.blocked) throw new BlockedError(BLOCKED_MESSAGE);
    // The new password first: a refused one must not cost a try.
    const hash = await this.deps.credentials.vetNewPassword('operator', newPassword);
    const reserved = await this.deps.store.update((current) => {
      const state = structuredClone(this.#require(current));
      const counter = state.puk ? reserveTry(state.puk) : null;
      if (!state.puk || !counter) throw new BlockedError(BLOCKED_MESSAGE);
      state.puk = { ...state.puk, ...counter };
      return state;
    });
    const taken = reserved.puk as PukRecord;
    const correct = await this.deps.hasher.verify(taken.hash, puk.reveal());
    // A PUK set anew meanwhile has its own counter: leave it alone.
    const settle = (current: State): State => {
      const state = structuredClone(current);
      if (state.puk && state.puk.hash === taken.hash) state.puk = { ...state.puk, ...afterVerdict(state.puk, correct) };
      return state;
    };
    const after = correct
      ? await this.deps.credentials.storeVetted('operator', hash, false, settle)
      : await this.deps.store.update((current) => settle(this.#require(current)));
    const triesLeft = after.puk?.triesLeft ?? 0;
    if (correct) {
      this.deps.security.record('MaintenanceLoginAccepted', { role: 'operator', method: 'resetPasswordPuk', origin, triesLeft });
      this.deps.security.record('ReconfigurationOfSecurityParameters', { change: 'password', role: 'operator', by: 'resetPasswordPuk', origin });
      return;
    }
    this.deps.security.record('MaintenanceLoginFailed', { role: 'operator', method: 'resetPasswordPuk', origin, triesLeft });
    if (after.puk?.blocked) {
      this.deps.security.record('ResetPasswordPukBlocked', { origin });
      throw new BlockedError(`wrong PUK; ${BLOCKED_MESSAGE}`);
    }
    throw new RefusedError(`wrong PUK; ${triesLeft} ${triesLeft === 1 ? 'try' : 'tries'} left before it blocks`);
  }

  #require(state: State | null): State {
    if (!state) throw new RefusedError('this device is not provisioned: run "ccguard provision --config FILE" first');
    return state;
  }
}
