import type { Config } from '../../common/config.js';
import type { LogExports } from '../logs/export-service.js';
import type { SecurityLog } from '../../logs/logging.js';
import type { GenerationStore } from '../../store/generation-store.js';
import type { State } from '../../store/state.js';
import type { SyncPusher } from '../sync/pusher.js';
import type { SyncReceiver } from '../sync/receiver.js';
import type { StatusReport } from '../../wire/status-report.js';
import type { CardRecovery } from '../cards/card-recovery.js';
import type { MasterCards } from '../cards/master-cards.js';
import type { Credentials } from '../credentials/credentials.js';
import type { Authenticator } from '../credentials/authenticator.js';
import type { LogPassword } from '../credentials/log-password.js';
import type { ResetPuk } from '../credentials/reset-puk.js';
import type { FactoryDefaults } from '../settings/factory-defaults.js';
import type { HttpsSettings } from '../settings/https-settings.js';
import type { WebUiStyle } from '../settings/web-ui-style.js';
import type { ActingHandlers } from './authenticate.js';
import type { Method } from '../../wire/protocol.js';
import type { StateFallbacks } from '../state-fallback.js';

/**
 * What the socket handlers reach. A service method that acts for a role takes the `Actor` that
 * dispatch authenticated (handlers/authenticate.ts); neither handlers nor services check a secret.
 */
export interface Services {
  config: Config;
  configPath: string | null;
  store: GenerationStore<State>;
  credentials: Credentials;
  /** Opens, reads and closes console sessions (the secrets themselves are checked at dispatch). */
  authenticator: Authenticator;
  puk: ResetPuk;
  logPassword: LogPassword;
  logExports: LogExports;
  webUi: WebUiStyle;
  https: HttpsSettings;
  masterCards: MasterCards;
  factory: FactoryDefaults;
  cards: CardRecovery;
  pusher: SyncPusher | null;
  receiver: SyncReceiver;
  security: SecurityLog;
  fallbacks: StateFallbacks;
  /** Waits for the card readers' watch to have started (it starts after READY). */
  statusReport: () => Promise<StatusReport>;
}

/** The handlers of one area: a subset of the methods. */
export type AreaHandlers<M extends Method> = Pick<ActingHandlers, M>;
