import * as v from 'valibot';
import { ROLES } from '../../policy/roles.js';
import { masterCardId } from './status-report.js';

/**
 * OCPP 2.0.1 security event names where one fits (Part 2, appendix "Security events"),
 * and ccguard's own names for what OCPP has none for.
 */
export const SECURITY_EVENT_NAMES = [
  'StartupOfTheDevice',
  'MaintenanceLoginAccepted',
  'MaintenanceLoginFailed',
  'ReconfigurationOfSecurityParameters',
  'InvalidMessages',
  'StateFileRejected',
  'ResetPasswordPukBlocked',
  'LogExported',
  'ResetOrReboot',
  'MasterCardHoldStarted',
  'MasterCardHoldProgress',
  'MasterCardHoldCancelled',
  'TamperDetectionActivated',
  'AttemptedReplayAttacks',
  'SyncPeerRejected',
] as const;

export type SecurityEventName = (typeof SECURITY_EVENT_NAMES)[number];

const role = v.picklist(ROLES);

/** One security event as `events` answers it: the common fields typed, each event may add its own. */
export const securityEventSchema = v.looseObject({
  time: v.pipe(v.string(), v.isoTimestamp()),
  event: v.picklist(SECURITY_EVENT_NAMES),
  change: v.optional(
    v.pipe(
      v.string(),
      v.description(
        'ReconfigurationOfSecurityParameters: what changed (password, passwordReset, policy, webUi, https, certificate, logPassword, masterCardEnrolled, masterCardRemoved, syncApplied, ...)',
      ),
    ),
  ),
  role: v.optional(role),
  roles: v.optional(v.array(role)),
  by: v.optional(v.pipe(v.string(), v.description('who or what made the change: a role, masterCard, resetPasswordPuk, master, ...'))),
  origin: v.optional(v.pipe(v.string(), v.description('where the request came from (local socket peer, ssh, web)'))),
  reason: v.optional(v.string()),
  cardId: v.optional(masterCardId),
  reader: v.optional(v.string()),
});
