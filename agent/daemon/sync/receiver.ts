import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { CcguardError, RefusedError } from '../../common/errors.js';
import type { GenerationStore } from '../../store/generation-store.js';
import type { SecurityLog } from '../../logs/logging.js';
import type { State } from '../../store/state.js';
import type { Credentials } from '../credentials/credentials.js';
import { ed25519PublicKey, openEnvelope } from '../../sync/envelope.js';
import type { SyncEnvelope } from '../../wire/sync-envelope.js';
import { applySyncPayload } from '../../sync/payload.js';
import { newSealingKeyPair, open } from '../../sync/card-key-seal.js';
import type { ResultOf } from '../../wire/protocol.js';

/** Thrown inside a store update to leave the state as it is. */
class NotNewer extends Error {
  constructor(readonly have: number) {
    super('not newer');
  }
}

/**
 * A double station's slave side: applies what the master pushed (through `ccguard sync receive`
 * over SSH), only when signed by the master's key and newer than what it has, in one atomic
 * write; older or duplicate revisions change nothing, so retries and reordering are harmless.
 */
export class SyncReceiver {
  readonly #key: KeyObject | null;

  constructor(
    private readonly deps: { masterKey: string | null; store: GenerationStore<State>; credentials: Credentials; security: SecurityLog; log: Logger },
  ) {
    this.#key = deps.masterKey === null ? null : ed25519PublicKey(deps.masterKey);
  }

  async apply(envelope: SyncEnvelope): Promise<ResultOf<'sync.apply'>> {
    if (this.#key === null)
      throw new RefusedError('this controller is not a slave: sync.masterKey (the master\'s "ccguard sync keygen" key) is not configured');
    let payload;
    try {
      payload = openEnvelope(envelope, this.#key);
    } catch (err) {
      this.deps.security.record('InvalidMessages', { channel: 'sync', reason: err instanceof CcguardError ? err.message : 'invalid' });
      throw err;
    }
    try {
      await this.deps.credentials.applyFromMaster((state) => {
        const have = state.syncReceived?.revision ?? 0;
        if (payload.revision <= have) throw new NotNewer(have);
        const keyPair = state.syncSealingKeyPair ?? newSealingKeyPair();
        const openKey = (sealed: string, cardId: string): Buffer | null => {
          try {
            return open(sealed, keyPair, cardId);
          } catch {
            this.deps.log.warn(
              { cardId },
              "a secure master card from the master does not open with this slave's key; it is left out until the master seals it anew",
            );
            return null;
          }
        };
        return { ...applySyncPayload(state, payload, new Date().toISOString(), openKey), syncSealingKeyPair: keyPair };
      });
    } catch (err) {
      if (!(err instanceof NotNewer)) throw err;
      // A retry repeats the newest revision; anything older is a replay.
      if (payload.revision < err.have) this.deps.security.record('AttemptedReplayAttacks', { channel: 'sync', revision: payload.revision, have: err.have });
      return { applied: false, revision: err.have, ...this.#sealingKey() };
    }
    this.deps.security.record('ReconfigurationOfSecurityParameters', { change: 'syncApplied', revision: payload.revision, by: 'master' });
    return { applied: true, revision: payload.revision, ...this.#sealingKey() };
  }

  /** The slave's public sealing key, for the master to seal secure cards' keys to. */
  #sealingKey(): { sealingKey?: string } {
    const pair = this.deps.store.current?.syncSealingKeyPair;
    return pair ? { sealingKey: pair.publicKey } : {};
  }
}
