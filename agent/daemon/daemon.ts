// The daemon's composition root: builds the services, wires them to the socket, runs until SIGTERM.
import { resolve } from 'node:path';
import type { Config } from '../common/config.js';
import { StateError } from '../common/errors.js';
import { VERSION } from '../common/version.js';
import { LogExports } from './logs/export-service.js';
import { openLogs } from '../logs/logging.js';
import { GenerationStore } from '../store/generation-store.js';
import { stateSchema } from '../store/state.js';
import { SyncPusher } from './sync/pusher.js';
import { SyncReceiver } from './sync/receiver.js';
import { CardRecovery } from './cards/card-recovery.js';
import { MasterCards } from './cards/master-cards.js';
import { Credentials } from './credentials/credentials.js';
import { PasswordHasher } from '../common/hasher.js';
import { LogPassword } from './credentials/log-password.js';
import { ResetPuk } from './credentials/reset-puk.js';
import { blocklistScanUnavailable, StrengthService } from './credentials/strength.js';
import { contextWords } from '../../policy/strength.js';
import { checkLogPassword } from '../../policy/log-password.js';
import { cardHandlers } from './handlers/cards.js';
import { diagnosticsHandlers } from './handlers/diagnostics.js';
import { logHandlers } from './handlers/logs.js';
import { passwordHandlers } from './handlers/passwords.js';
import type { Services } from './handlers/services.js';
import { settingsHandlers } from './handlers/settings.js';
import { stateHandlers } from './handlers/state.js';
import { syncHandlers } from './handlers/sync.js';
import { sessionHandlers } from './handlers/sessions.js';
import { SystemdNotifier } from './sd-notify.js';
import { FactoryDefaults } from './settings/factory-defaults.js';
import { HttpsCertificate } from './settings/https-certificate.js';
import { HttpsSettings } from './settings/https-settings.js';
import { WebUiStyle } from './settings/web-ui-style.js';
import { SocketServer } from './socket/index.js';
import { Authenticator } from './credentials/authenticator.js';
import { authenticateAtDispatch, type ActingHandlers } from './handlers/authenticate.js';
import { MemoryKeeper } from './memory-keeper.js';
import { StateFallbacks } from './state-fallback.js';
import { statusReport } from './status.js';
import { monotonicMs } from '../common/monotonic.js';

/** How long a stopping daemon waits for requests in progress before it exits anyway. */
const STOP_GRACE_MS = 3000;

/** How long after READY the launcher's code cache is written (when it is) and the start's garbage collected. */
const CODE_CACHE_AFTER_MS = 500;

/** How long after the last hash the memory kept for hashes goes back to the kernel. */
const MEMORY_IDLE_MS = 10_000;

/** A path as one shell word, for a command line shown to copy. */
const shellWord = (text: string): string => (/^[\w./:@%+,-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`);

/** Runs the agent in the foreground until SIGTERM or SIGINT. */
export async function runDaemon(config: Config, configPath: string | null = null, codeCache?: CodeCacheHook): Promise<void> {
  const now = monotonicMs;
  const startedAt = now();
  const logs = await openLogs(config.logDir, config.logs);
  const { log, security } = logs;
  const store = new GenerationStore(config.stateDir, stateSchema);
  await store.prepare(true);
  const loaded = await store.load();
  for (const rejected of loaded.rejected) {
    log.error(rejected, 'state file rejected; using the previous generation');
    security.record('StateFileRejected', { file: rejected.file, reason: rejected.reason, usingGeneration: loaded.generation });
  }

  const strength = new StrengthService();
  const slowChecks = blocklistScanUnavailable();
  if (slowChecks) log.warn(slowChecks);
  const hasher = new PasswordHasher(config.argon2, config.maxConcurrentHashes);
  const memory = new MemoryKeeper({ idleMs: MEMORY_IDLE_MS, hashes: hasher, log });
  memory.start();
  const authenticator = new Authenticator({ store, hasher, security, log, throttle: config.throttle, now, sessions: config.sessions });
  const credentials = new Credentials({ store, hasher, strength, security, config, authenticator });
  const fallbacks = new StateFallbacks({ store, security });
  await fallbacks.note(loaded);
  const puk = new ResetPuk({ store, hasher, credentials, security });
  const logPassword = new LogPassword({ store, security, strength, device: config.device });
  await logPassword.load();
  const webUi = new WebUiStyle(config.webUi.styleFile, security, log);
  await webUi.start();
  const https = new HttpsSettings({ certificate: new HttpsCertificate(config.https.certFile, config.https.keyFile, config.https), store, security });
  await https.start();
  const masterCards = new MasterCards({ store, security });
  const factory = new FactoryDefaults({
    store,
    credentials,
    logPassword,
    webUi,
    ensureCertificate: () => https.ensureCertificate('manufacturerDefaults'),
    security,
    log,
  });
  // A restore cut short by a power loss is finished before anything else is served.
  await factory.finishPending();
  const cards = new CardRecovery({ rfid: config.rfid, store, credentials, masterCards, factory, security, log, now });
  await cards.start();
  const pusher = config.sync.peer ? new SyncPusher({ sync: config.sync, peer: config.sync.peer, store, security, log, now }) : null;
  const receiver = new SyncReceiver({ masterKey: config.sync.masterKey ?? null, store, credentials, security, log });
  const logExports = new LogExports({ config, logPassword, security, log });

  const services: Services = {
    config,
    configPath,
    store,
    credentials,
    authenticator,
    puk,
    logPassword,
    logExports,
    webUi,
    https,
    masterCards,
    factory,
    cards,
    pusher,
    receiver,
    security,
    fallbacks,
    statusReport: async () => {
      await cards.watching;
      return statusReport({ store, credentials, puk, masterCards, cards, logPassword, webUi, https, pusher, now, startedAt });
    },
  };
  const twins = {
    ...diagnosticsHandlers(services),
    ...passwordHandlers(services),
    ...settingsHandlers(services),
    ...logHandlers(services),
    ...cardHandlers(services),
    ...syncHandlers(services),
    ...stateHandlers(services),
  };
  const handlers = authenticateAtDispatch({ ...twins, ...sessionHandlers(services, twins as ActingHandlers) }, authenticator);

  const notifier = SystemdNotifier.fromEnvironment(log);
  const serving = (): string =>
    store.current === null
      ? `serving ${config.socket}; not provisioned yet: run "ccguard provision" on this controller`
      : `serving ${config.socket}; provisioned`;
  const server = new SocketServer({
    path: config.socket,
    idleTimeoutMs: config.socketIdleTimeoutMs,
    maxClients: config.socketMaxClients,
    handlers,
    // `ccguard provision` writes the state directly; a daemon still unprovisioned looks for it before each request.
    beforeEach: async () => {
      if (store.current !== null) return;
      await store.load();
      if (store.current === null) return;
      log.info({ generation: store.generation }, 'provisioned state found');
      notifier?.status(serving());
    },
    log,
    security,
  });
  await server.listen();
  security.record('StartupOfTheDevice', { version: VERSION, provisioned: store.current !== null, generation: store.generation });
  log.info({ socket: config.socket, stateDir: config.stateDir, version: VERSION }, 'ccguard daemon serving');
  if (store.current === null) {
    const provision = configPath === null ? 'ccguard provision' : `ccguard provision --config ${shellWord(resolve(configPath))}`;
    log.warn({ next: provision }, `not provisioned yet: run "${provision}" to create this station's state`);
  }
  pusher?.start();
  notifier?.ready(serving());
  cards.watch();

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: no new requests; finishing the ones in progress');
    // Whatever is in flight (a stuck reader, a client that never reads), the process ends in time.
    setTimeout(() => {
      log.warn({ graceMs: STOP_GRACE_MS }, 'stopping: work still in progress after the grace period; exiting');
      logs.flush();
      process.exit(0);
    }, STOP_GRACE_MS);
    notifier?.stopping();
    logExports.abortAll(new StateError('the daemon is stopping; the export was cut short (run it again after the restart)'));
    await server.close();
    await cards.stop();
    pusher?.stop();
    await store.idle();
    await strength.close();
    memory.close();
    webUi.close();
    log.info('stopped');
    logs.flush();
    process.exit(0);
  };
  process.on('uncaughtExceptionMonitor', (err) => {
    log.fatal({ err }, 'fatal error; exiting');
    logs.flush();
  });
  process.on('SIGHUP', () => {
    logs.reopen();
    log.info('log files reopened (SIGHUP)');
  });
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // Half a second into serving: the requests that come with the start go first (a request still
  // unread when a SIGTERM comes is not in progress, and is cut).
  if (codeCache) setTimeout(() => void warmUp(strength, config).finally(() => codeCache.started()), CODE_CACHE_AFTER_MS).unref();
}

/** What the launcher's code cache needs to know of the daemon (agent/launch/code-cache.ts's CachedRequire). */
export interface CodeCacheHook {
  /** Writes the cache if there was none fit to use (the first start after an install, an upgrade, a new Node). */
  started(): Promise<void>;
}

/** Passes every composition rule, so the check runs the blocklist and the mangling; never stored. */
const WARM_UP_CANDIDATE = 'Warm-Up-Candidate-2026!';

/**
 * Half a second into serving, the password check runs once, so the first password change after a
 * start does not pay for the interpreter's first run of it, nor (on the start that writes the code
 * cache) for compiling it: bench:password, a refused change right after start. The blocklist it
 * loads is dropped at once (unless a change needs it meanwhile), so an idle daemon does not hold it.
 */
async function warmUp(strength: StrengthService, config: Config): Promise<void> {
  try {
    await strength.warmUp(WARM_UP_CANDIDATE, contextWords([config.device.name, config.device.serial]));
    checkLogPassword(WARM_UP_CANDIDATE);
  } catch {
    // A check that fails here fails for the request that needs it too, and says why there.
  }
}
