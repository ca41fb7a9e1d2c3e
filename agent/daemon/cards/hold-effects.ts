import type { HoldDecision } from '../../../policy/master-card-hold.js';
import type { Config } from '../../common/config.js';
import type { SecurityLog } from '../../logs/logging.js';
import type { Credentials } from '../credentials/credentials.js';
import type { FactoryDefaults } from '../settings/factory-defaults.js';

export interface HoldEffectsDeps {
  rfid: Pick<Config['rfid'], 'tapResetsRoles'>;
  credentials: Pick<Credentials, 'resetToDefaults'>;
  factory: Pick<FactoryDefaults, 'restore'>;
  security: Pick<SecurityLog, 'record'>;
}

/** What the daemon does on a tap/hold decision: a tap resets passwords, a completed hold restores the manufacturer defaults; each is a security event. */
export async function performHoldDecision(deps: HoldEffectsDeps, decision: HoldDecision): Promise<void> {
  const { security } = deps;
  const card = { cardId: decision.cardId, reader: decision.reader };
  switch (decision.type) {
    case 'tap': {
      const roles = deps.rfid.tapResetsRoles;
      await deps.credentials.resetToDefaults(roles);
      security.record('ReconfigurationOfSecurityParameters', { change: 'passwordReset', roles, by: 'masterCard', ...card });
      return;
    }
    case 'holdStarted':
      security.record('MasterCardHoldStarted', { ...card, holdSeconds: decision.holdSeconds });
      return;
    case 'holdProgress':
      security.record('MasterCardHoldProgress', { ...card, elapsedSeconds: decision.elapsedSeconds, remainingSeconds: decision.remainingSeconds });
      return;
    case 'holdCancelled':
      security.record('MasterCardHoldCancelled', { ...card, reason: decision.reason, elapsedSeconds: decision.elapsedSeconds });
      return;
    case 'holdCompleted':
      await deps.factory.restore('masterCardHold');
      security.record('ResetOrReboot', { reason: 'ManufacturerDefaultsRestored', by: 'masterCard', ...card });
      return;
  }
}
