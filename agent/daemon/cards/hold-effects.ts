import type { CardInput, HoldDecision } from '../../../policy/master-card-hold.js';
import type { Config } from '../../common/config.js';
import type { SecurityLog } from '../../logs/logging.js';
import type { Credentials } from '../credentials/credentials.js';
import type { FactoryDefaults } from '../settings/factory-defaults.js';

export interface HoldEffectsDeps {
  rfid: Pick<Config['rfid'], 'tapResetsRoles'>;
  credentials: Pick<Credentials, 'resetToDefaults'>;
  factory: Pick<FactoryDefaults, 'restore'>;
  security: Pick<SecurityLog, 'record'>;
  /**
   * The secure-card proof again, on the card now on `reader`: true proved, false failed (recorded
   * as a clone attempt), null no verdict (the card left mid-proof: its removal speaks for it).
   */
  reprove: (reader: string, cardId: string) => Promise<boolean | null>;
}

/** A proof's answer to feed back to the hold rules (the caller adds the time). */
export type ProofAnswer = Omit<Extract<CardInput, { type: 'proof' }>, 'at'>;

/**
 * What the daemon does on a tap/hold decision: a tap resets passwords, a completed hold restores the
 * manufacturer defaults; each is a security event. A `reprove` returns the proof's answer for the rules.
 */
export async function performHoldDecision(deps: HoldEffectsDeps, decision: HoldDecision): Promise<ProofAnswer | null> {
  const { security } = deps;
  const card = { cardId: decision.cardId, reader: decision.reader };
  switch (decision.type) {
    case 'tap': {
      const roles = deps.rfid.tapResetsRoles;
      await deps.credentials.resetToDefaults(roles);
      security.record('ReconfigurationOfSecurityParameters', { change: 'passwordReset', roles, by: 'masterCard', ...card });
      return null;
    }
    case 'holdStarted':
      security.record('MasterCardHoldStarted', { ...card, holdSeconds: decision.holdSeconds });
      return null;
    case 'holdProgress':
      security.record('MasterCardHoldProgress', { ...card, elapsedSeconds: decision.elapsedSeconds, remainingSeconds: decision.remainingSeconds });
      return null;
    case 'holdCancelled':
      security.record('MasterCardHoldCancelled', { ...card, reason: decision.reason, elapsedSeconds: decision.elapsedSeconds });
      return null;
    case 'holdCompleted':
      await deps.factory.restore('masterCardHold');
      security.record('ResetOrReboot', { reason: 'ManufacturerDefaultsRestored', by: 'masterCard', ...card });
      return null;
    case 'reprove': {
      const ok = await deps.reprove(decision.reader, decision.cardId);
      if (ok === null) return null;
      return { type: 'proof', reader: decision.reader, cardId: decision.cardId, holdStartedAt: decision.holdStartedAt, final: decision.final, ok };
    }
  }
}
