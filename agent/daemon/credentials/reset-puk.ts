import { checkPukFormat, PUK_SHARED_TRIES, PUK_TRIES, pukView } from '../../../policy/puk.js';
import { currentSource } from '../../common/request-context.js';
import { peerOf } from '../../../policy/sources.js';
import type { Credentials } from './credentials.js';
import { RefusedError } from '../../common/errors.js';
import type { GenerationStore } from '../../store/generation-store.js';
import type { PasswordHasher } from '../../common/hasher.js';
import type { SecurityLog } from '../../logs/logging.js';
import type { Secret } from '../../common/secret.js';
import { requireProvisioned, type State } from '../../store/state.js';
import type { PukStatus } from '../../wire/status-report.js';
import { PUK_METHOD, type Actor } from './authenticator.js';

/**
 * The Reset Password PUK: set by the manufacturer, used by an operator who lost the password.
 * The PUK itself is checked (and its tries counted) by the Authenticator at dispatch.
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

  /** The PUK as the caller's source sees it: its own tries within the shared ones. */
  status(): PukStatus {
    const puk = this.deps.store.current?.puk ?? null;
    return puk ? { set: true, ...pukView(puk, peerOf(currentSource())) } : { set: false, triesLeft: PUK_TRIES, blocked: false };
  }

  /** The manufacturer password was checked at dispatch, before anything is said about the PUK given. */
  async set(actor: Actor<'manufacturer'>, puk: Secret): Promise<PukStatus> {
    const refusal = checkPukFormat(puk.reveal());
    if (refusal) throw new RefusedError(`PUK refused: ${refusal.message}`, [refusal.rule]);
    const hash = await this.deps.hasher.hash(puk.reveal());
    await this.deps.store.update((current) => {
      const state = structuredClone(requireProvisioned(current));
      state.puk = { hash, triesLeft: PUK_SHARED_TRIES, blocked: false, failuresBySource: {}, setAt: new Date().toISOString() };
      return state;
    });
    this.deps.security.record('ReconfigurationOfSecurityParameters', { change: 'resetPasswordPuk', by: actor.role });
    return this.status();
  }

  /**
   * A right PUK (checked at dispatch: its try was given back) sets the operator's new password and
   * clears its throttling and must-change. Only then is the new password vetted, so every wrong
   * PUK gets the same answer whatever the new password is; a refused one leaves the PUK valid.
   */
  async reset(actor: Actor<'operator'>, newPassword: Secret): Promise<void> {
    if (actor.via !== 'puk') throw new RefusedError('a new operator password through the PUK needs the PUK');
    const accepted = { role: 'operator', method: PUK_METHOD, triesLeft: this.status().triesLeft } as const;
    let hash: string;
    try {
      hash = await this.deps.credentials.vetNewPassword('operator', newPassword);
    } catch (err) {
      this.deps.security.record('MaintenanceLoginAccepted', { ...accepted, newPassword: 'refused' });
      throw err;
    }
    await this.deps.credentials.storeVetted('operator', hash, false);
    this.deps.security.record('MaintenanceLoginAccepted', accepted);
    this.deps.security.record('ReconfigurationOfSecurityParameters', { change: 'password', role: 'operator', by: PUK_METHOD });
  }
}
