import type { Logger } from 'pino';
import { ROLES } from '../../../policy/roles.js';
import type { Credentials } from '../credentials/credentials.js';
import { withRestoredSettings } from '../../../policy/defaults-restore.js';
import type { GenerationStore } from '../../store/generation-store.js';
import type { LogPassword } from '../credentials/log-password.js';
import type { SecurityLog } from '../../logs/logging.js';
import type { ChangeFields } from '../../wire/security-events.js';
import { provisionedSettings, requireProvisioned, type SettingsSnapshot, type State } from '../../store/state.js';
import type { WebUiStyle } from './web-ui-style.js';
import type { ResultOf } from '../../wire/protocol.js';
import type { Actor } from '../credentials/authenticator.js';

export interface FactoryDefaultsDeps {
  store: GenerationStore<State>;
  credentials: Credentials;
  logPassword: LogPassword;
  webUi: WebUiStyle;
  /** Makes sure the device certificate exists (HTTPS restored on). */
  ensureCertificate: () => Promise<void>;
  security: SecurityLog;
  log: Logger;
}

/**
 * The manufacturer defaults: `defaults save` snapshots the current settings; a restore (the
 * master card's 120 s hold) puts them back with every role on its default password. The state
 * part is one atomic write that also records what is left to do outside the state (log-password
 * file, style file, certificate); those are finished at once, or at the next start after a power cut.
 */
export class FactoryDefaults {
  constructor(private readonly deps: FactoryDefaultsDeps) {}

  async save(_actor: Actor<'manufacturer'>): Promise<ResultOf<'defaults.save'>> {
    const logPassword = await this.deps.logPassword.read();
    const savedAt = new Date().toISOString();
    const state = await this.deps.store.update((current) => {
      const next = structuredClone(requireProvisioned(current));
      next.manufacturerDefaults = {
        savedAt,
        // A copy: structuredClone keeps shared references, so an alias would follow later changes.
        settings: structuredClone({
          policy: next.policy,
          puk: next.puk,
          masterCards: next.masterCards,
          logPassword: logPassword?.reveal() ?? null,
          webUi: this.deps.webUi.mode,
          https: next.https.enabled,
        }),
      };
      return next;
    });
    const settings = state.manufacturerDefaults?.settings ?? provisionedSettings();
    this.deps.security.record('ReconfigurationOfSecurityParameters', {
      change: 'manufacturerDefaults',
      by: 'manufacturer',
      ...describe(settings),
    });
    return { savedAt, masterCards: settings.masterCards.length };
  }

  /** Puts the manufacturer defaults back; every role on its default password, must change. */
  async restore(reason: string): Promise<void> {
    await this.deps.credentials.resetToDefaults(ROLES, (state) =>
      withRestoredSettings(state, state.manufacturerDefaults?.settings ?? provisionedSettings(), reason),
    );
    await this.finishPending();
  }

  /** Writes what a restore left to do outside the state; a no-op when nothing is pending. */
  async finishPending(): Promise<void> {
    const pending = this.deps.store.current?.pendingRestore;
    if (!pending) return;
    await this.deps.logPassword.restore(pending.logPassword);
    await this.deps.webUi.restore(pending.webUi, pending.reason);
    if (pending.https) await this.deps.ensureCertificate();
    await this.deps.store.update((current) => ({ ...structuredClone(requireProvisioned(current)), pendingRestore: null }));
    this.deps.log.info({ reason: pending.reason }, 'manufacturer defaults restored');
  }
}

/** The snapshot as a security event may show it: no hash, no Log Password. */
export function describe(settings: SettingsSnapshot): Omit<ChangeFields<'manufacturerDefaults'>, 'change' | 'by' | 'origin'> {
  return {
    policy: settings.policy,
    pukSet: settings.puk !== null,
    masterCards: settings.masterCards.map((c) => c.id),
    logPasswordSet: settings.logPassword !== null,
    webUi: settings.webUi,
    https: settings.https,
  };
}
