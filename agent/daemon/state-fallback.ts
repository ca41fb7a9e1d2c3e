import { RefusedError } from '../common/errors.js';
import type { SecurityLog } from '../logs/logging.js';
import type { GenerationStore, Loaded } from '../store/generation-store.js';
import { requireProvisioned, type State } from '../store/state.js';
import type { Actor } from './credentials/authenticator.js';

export type StateFallback = NonNullable<State['fallback']>;

/**
 * A load that fell back to an older generation is a finding, not a footnote: it is written into
 * the state (so it survives restarts), shown by `status` and `audit`, until the manufacturer
 * acknowledges it after checking what may have been undone.
 */
export class StateFallbacks {
  constructor(private readonly deps: { store: GenerationStore<State>; security: SecurityLog }) {}

  /** Records the fallback of a load that rejected the newest generation(s) and used an older one. */
  async note(loaded: Loaded<State>): Promise<void> {
    const lost = loaded.rejected[0];
    if (!lost || loaded.state === null) return;
    const fallback: StateFallback = {
      detectedAt: new Date().toISOString(),
      lostGeneration: lost.generation,
      lostWrittenAt: lost.writtenAt,
      reason: lost.reason,
      usingGeneration: loaded.generation,
      mayHaveLost: [...new Set(loaded.rejected.flatMap((r) => r.mayHaveLost))],
    };
    await this.deps.store.update((current) => ({ ...structuredClone(requireProvisioned(current)), fallback }));
  }

  get current(): StateFallback | null {
    return this.deps.store.current?.fallback ?? null;
  }

  async acknowledge(actor: Actor<'manufacturer'>): Promise<{ acknowledged: StateFallback }> {
    const fallback = this.current;
    if (fallback === null) throw new RefusedError('there is no state fallback to acknowledge; "ccguard audit" shows none');
    await this.deps.store.update((current) => ({ ...structuredClone(requireProvisioned(current)), fallback: null }));
    this.deps.security.record('ReconfigurationOfSecurityParameters', {
      change: 'stateFallbackAcknowledged',
      lostGeneration: fallback.lostGeneration,
      by: actor.role,
    });
    return { acknowledged: fallback };
  }
}
