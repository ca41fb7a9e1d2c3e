import { ROLES, type Role } from '../../policy/roles.js';
import { VERSION } from '../common/version.js';
import type { GenerationStore } from '../store/generation-store.js';
import { PROVISIONED_POLICY, type State } from '../store/state.js';
import type { SyncPusher } from './sync/pusher.js';
import type { RoleStatus, StatusReport } from '../wire/status-report.js';
import type { CardRecovery } from './cards/card-recovery.js';
import type { MasterCards } from './cards/master-cards.js';
import type { Credentials } from './credentials/credentials.js';
import type { LogPassword } from './credentials/log-password.js';
import type { ResetPuk } from './credentials/reset-puk.js';
import type { HttpsSettings } from './settings/https-settings.js';
import type { WebUiStyle } from './settings/web-ui-style.js';

const UNPROVISIONED_ROLE: RoleStatus = { isDefault: true, mustChange: true, failures: 0, throttled: false, retryInSeconds: 0 };

export interface StatusSources {
  store: GenerationStore<State>;
  credentials: Credentials;
  puk: ResetPuk;
  masterCards: MasterCards;
  cards: CardRecovery;
  logPassword: LogPassword;
  webUi: WebUiStyle;
  https: HttpsSettings;
  pusher: SyncPusher | null;
  /** Monotonic milliseconds. */
  now: () => number;
  startedAt: number;
}

/** The `status` answer, from what each service holds in memory (no file read, no hashing). */
export function statusReport(s: StatusSources): StatusReport {
  const sync = s.pusher?.status() ?? null;
  return {
    version: VERSION,
    uptimeSeconds: Math.floor((s.now() - s.startedAt) / 1000),
    provisioned: s.store.current !== null,
    stateGeneration: s.store.generation,
    stateFallback: s.store.current?.fallback ?? null,
    roles: s.credentials.roleStatus() ?? (Object.fromEntries(ROLES.map((r) => [r, UNPROVISIONED_ROLE])) as Record<Role, RoleStatus>),
    policy: s.store.current?.policy ?? PROVISIONED_POLICY,
    puk: s.puk.status(),
    masterCards: s.masterCards.count,
    rfid: s.cards.status(),
    logPasswordSet: s.logPassword.isSet,
    webUi: s.webUi.mode,
    https: s.https.enabled,
    httpsCertificate: s.https.certificateInfo,
    sync: sync && {
      peer: sync.peer,
      inSync: sync.inSync,
      summary: sync.summary,
      revision: sync.revision,
      lastAckedRevision: sync.lastAckedRevision,
      lastError: sync.lastError,
    },
  };
}
