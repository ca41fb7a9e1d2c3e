// Valid fields of every security event, one sample per kind of change: for the catalogue's and the
// events schema's tests. Typed by the catalogue, so the compiler checks them as it checks record calls.
import type { FieldsOf, SecurityEventName } from '../../agent/wire/security-events.js';

/** One valid sample of each event's fields, one per kind of change; typed, so the compiler checks them too. */
export const SAMPLES: { [E in SecurityEventName]: Array<FieldsOf<E>> } = {
  StartupOfTheDevice: [{ version: '0.1.0', provisioned: true, generation: 3 }],
  MaintenanceLoginAccepted: [
    { role: 'installer', origin: 'socket:cli', mustChange: false },
    { role: 'operator', method: 'resetPasswordPuk', origin: 'socket:cli', triesLeft: 9, newPassword: 'refused' },
  ],
  MaintenanceLoginFailed: [
    { role: 'operator', origin: 'socket:web', reason: 'wrongPassword', failures: 2 },
    { role: 'operator', method: 'resetPasswordPuk', origin: 'socket:cli', reason: 'wrongPuk', triesLeft: 8 },
  ],
  SessionStarted: [{ role: 'operator', origin: 'socket:console', changeOnly: true }],
  SessionEnded: [
    { role: 'operator', origin: 'socket:console', reason: 'logout' },
    { role: 'manufacturer', reason: 'passwordChanged' },
  ],
  ReconfigurationOfSecurityParameters: [
    { change: 'password', role: 'operator', by: 'resetPasswordPuk', origin: 'socket:cli' },
    {
      change: 'passwordPolicy',
      before: { enforceStrong: true, enforcePasswordChange: true },
      after: { enforceStrong: false, enforcePasswordChange: true },
      by: 'manufacturer',
      origin: 'socket:cli',
    },
    { change: 'passwordReset', roles: ['operator', 'user'], by: 'masterCard', cardId: 'a1b2c3d4', reader: 'R' },
    { change: 'resetPasswordPuk', by: 'manufacturer', origin: 'socket:cli' },
    { change: 'logPassword', by: 'manufacturer', origin: 'socket:cli' },
    { change: 'masterCardEnrolled', cardId: 'a1b2c3d4', kind: 'ntag424', reader: 'R', by: 'manufacturer', origin: 'socket:cli' },
    { change: 'masterCardEnrolmentFinished', cardId: 'a1b2c3d4', reader: 'R' },
    { change: 'masterCardSlaveKeyAdded', cardId: 'a1b2c3d4', reader: 'R' },
    { change: 'masterCardEnrolmentUndone', reader: 'R', by: 'masterCardRecovery' },
    { change: 'masterCardRemoved', cardId: 'a1b2c3d4', by: 'manufacturer', origin: 'socket:cli' },
    { change: 'webUi', from: '1.0', to: '2.0-only', by: 'outside ccguard', path: '/etc/webui' },
    { change: 'https', enabled: true, by: 'operator', origin: 'socket:cli' },
    { change: 'certificate', sha256: 'ab'.repeat(32), by: 'manufacturerDefaults' },
    {
      change: 'manufacturerDefaults',
      by: 'manufacturer',
      origin: 'socket:cli',
      policy: { enforceStrong: true, enforcePasswordChange: true },
      pukSet: true,
      masterCards: ['a1b2c3d4'],
      logPasswordSet: false,
      webUi: '2.0',
      https: true,
    },
    { change: 'stateFallbackAcknowledged', lostGeneration: 7, by: 'manufacturer', origin: 'socket:cli' },
    { change: 'syncApplied', revision: 12, by: 'master', origin: 'sync:10.0.0.2' },
  ],
  InvalidMessages: [
    { channel: 'socket', kind: 'socket:json' },
    { channel: 'sync', origin: 'sync:10.0.0.2', reason: 'bad signature' },
  ],
  StateFileRejected: [{ file: 'state.000000000004.json', reason: 'sha256 mismatch', usingGeneration: 3 }],
  ResetPasswordPukBlocked: [{ origin: 'socket:cli' }, { origin: 'socket:cli', scope: 'source' }],
  GuessingCeilingReached: [{ origin: 'socket:web', role: 'operator', failures: 20, sources: 3, severity: 'critical' }],
  LogExported: [
    { by: 'operator', origin: 'socket:cli', encrypted: true, files: 3, bytes: 4096 },
    { by: 'installer', origin: 'socket:cli', encrypted: false, reason: 'unencryptedRequested', files: 2, bytes: 10, skipped: [{ name: 'fifo', type: 'fifo' }] },
  ],
  ResetOrReboot: [{ reason: 'ManufacturerDefaultsRestored', by: 'masterCard', cardId: 'a1b2c3d4', reader: 'R' }],
  MasterCardHoldStarted: [{ cardId: 'a1b2c3d4', reader: 'R', holdSeconds: 120 }],
  MasterCardHoldProgress: [{ cardId: 'a1b2c3d4', reader: 'R', elapsedSeconds: 10, remainingSeconds: 110 }],
  MasterCardHoldCancelled: [{ cardId: 'a1b2c3d4', reader: 'R', reason: 'removed', elapsedSeconds: 30 }],
  TamperDetectionActivated: [{ cause: 'masterCardCloneAttempt', cardId: 'a1b2c3d4', reader: 'R', detail: 'notNtag424' }],
  AttemptedReplayAttacks: [{ channel: 'sync', origin: 'sync:10.0.0.2', revision: 4, have: 9 }],
  SyncPeerRejected: [
    { peer: 'ccguard@10.0.0.2:22', reason: 'hostKeyMismatch', revision: 5 },
    { peer: 'ccguard@10.0.0.2:22', reason: 'slaveAhead', revision: 7, slaveRevision: 8 },
  ],
};
