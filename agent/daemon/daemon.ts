import { performance } from 'node:perf_hooks';
import { ROLES, type Role } from '../../policy/roles.js';
import type { Config } from '../common/config.js';
import { Credentials, type RoleStatus } from './credentials/credentials.js';
import { GenerationStore } from '../store/generation-store.js';
import { PasswordHasher } from './credentials/hasher.js';
import { ResetPuk } from './credentials/reset-puk.js';
import { WebUiStyle } from './settings/web-ui-style.js';
import { HttpsCertificate } from './settings/https-certificate.js';
import { openLogs } from '../logs/logging.js';
import { SystemdNotifier } from './sd-notify.js';
import { SocketServer, type Handlers } from './socket-server.js';
import { PROVISIONED_POLICY, requireProvisioned, stateSchema } from '../store/state.js';
import type { StatusReport } from '../wire/status-report.js';
import { StrengthService } from './credentials/strength.js';
import { VERSION } from '../common/version.js';
import { RefusedError } from '../common/errors.js';
import { LogPassword } from './credentials/log-password.js';
import { MasterCards } from './cards/master-cards.js';
import { FactoryDefaults } from './settings/factory-defaults.js';
import { CardRecovery } from './cards/card-recovery.js';
import { audit, summarize } from '../../policy/audit.js';
import { AUDIT_SCHEMA } from '../wire/audit-report.js';
import { gatherAuditFacts } from './audit-facts.js';
import { SyncPusher } from '../sync/pusher.js';
import { SyncReceiver } from '../sync/receiver.js';

const UNPROVISIONED_ROLE: RoleStatus = { isDefault: true, mustChange: true, failures: 0, throttled: false, retryInSeconds: 0 };

/** Runs the agent in the foreground until SIGTERM or SIGINT. */
export async function runDaemon(config: Config, configPath: string | null = null): Promise<void> {
  const now = (): number => performance.now();
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
  const hasher = new PasswordHasher(config.argon2, config.maxConcurrentHashes);
  const credentials = new Credentials({
    store,
    hasher,
    strength,
    security,
    log,
    config,
    now,
  });
  const puk = new ResetPuk({ store, hasher, credentials, security });
  const logPassword = new LogPassword({ store, credentials, security });
  await logPassword.load();
  const webUi = new WebUiStyle(config.webUi.styleFile, security, log);
  await webUi.start();
  const certificate = new HttpsCertificate(config.https.certFile, config.https.keyFile, config.https);
  // Read once and after each change: status must stay cheap.
  let certificateInfo = await certificate.info();
  const setHttps = async (enabled: boolean, by: string, origin: string): Promise<void> => {
    const made = enabled ? await certificate.ensure() : null;
    if (made) certificateInfo = made.info;
    await store.update((current) => ({ ...structuredClone(requireProvisioned(current)), https: { enabled } }));
    if (made?.created) security.record('ReconfigurationOfSecurityParameters', { change: 'certificate', sha256: made.info.sha256, by, origin });
    security.record('ReconfigurationOfSecurityParameters', { change: 'https', enabled, by, origin });
  };

  const masterCards = new MasterCards({ store, credentials, security });
  const factory = new FactoryDefaults({
    store,
    credentials,
    logPassword,
    webUi,
    ensureCertificate: async () => {
      const made = await certificate.ensure();
      certificateInfo = made.info;
      if (made.created) security.record('ReconfigurationOfSecurityParameters', { change: 'certificate', sha256: made.info.sha256, by: 'manufacturerDefaults' });
    },
    security,
    log,
  });
  // A restore cut short by a power loss is finished before anything else is served.
  await factory.finishPending();
  const cards = new CardRecovery({ rfid: config.rfid, store, credentials, masterCards, factory, security, log, now });
  await cards.start();

  const pusher = config.sync.peer ? new SyncPusher({ sync: config.sync, peer: config.sync.peer, store, security, log, now }) : null;
  const receiver = new SyncReceiver({ masterKey: config.sync.masterKey ?? null, store, security, log });

  // `ccguard provision` writes the state directly; a daemon still unprovisioned looks for it on each request.
  const refresh = async (): Promise<void> => {
    if (store.current === null) {
      await store.load();
      if (store.current !== null) log.info({ generation: store.generation }, 'provisioned state found');
    }
  };

  const syncSummary = (): StatusReport['sync'] => {
    if (!pusher) return null;
    const { peer, inSync, summary, revision, lastAckedRevision, lastError } = pusher.status();
    return { peer, inSync, summary, revision, lastAckedRevision, lastError };
  };
  const statusReport = (): StatusReport => {
    const roles = credentials.roleStatus();
    return {
      version: VERSION,
      uptimeSeconds: Math.floor((now() - startedAt) / 1000),
      provisioned: store.current !== null,
      stateGeneration: store.generation,
      roles: roles ?? (Object.fromEntries(ROLES.map((r) => [r, UNPROVISIONED_ROLE])) as Record<Role, RoleStatus>),
      policy: store.current?.policy ?? PROVISIONED_POLICY,
      puk: puk.status(),
      masterCards: masterCards.count,
      rfid: cards.status(),
      logPasswordSet: logPassword.isSet,
      webUi: webUi.mode,
      https: store.current?.https.enabled ?? false,
      httpsCertificate: certificateInfo,
      sync: syncSummary(),
    };
  };

  const handlers: Handlers = {
    status: async (): Promise<StatusReport> => {
      await refresh();
      return statusReport();
    },
    audit: async () => {
      await refresh();
      const sync = pusher?.status();
      const syncFacts = sync ? { peer: sync.peer, inSync: sync.inSync, detail: sync.summary } : null;
      const findings = audit(await gatherAuditFacts(statusReport(), store.current, config, configPath, syncFacts));
      return { schema: AUDIT_SCHEMA, version: VERSION, checkedAt: new Date().toISOString(), ...summarize(findings), findings };
    },
    login: async ({ role, password }, ctx) => {
      await refresh();
      await credentials.login(role, password, ctx.origin);
      return { role, mustChange: false };
    },
    passwd: async ({ role, currentPassword, newPassword }, ctx) => {
      await refresh();
      await credentials.changeOwnPassword(role, currentPassword, newPassword, ctx.origin);
      return { role, changed: true };
    },
    passwdAs: async ({ role, as, asPassword, newPassword }, ctx) => {
      await refresh();
      await credentials.setPasswordAs(as, asPassword, role, newPassword, ctx.origin);
      return { role, changed: true };
    },
    'policy.show': async () => {
      await refresh();
      return credentials.policy();
    },
    'policy.set': async ({ password, enforceStrong, enforcePasswordChange }, ctx) => {
      await refresh();
      return credentials.setPolicy(password, { enforceStrong, enforcePasswordChange }, ctx.origin);
    },
    'puk.set': async ({ password, puk: value }, ctx) => {
      await refresh();
      return puk.set(password, value, ctx.origin);
    },
    'puk.reset': async ({ puk: value, newPassword }, ctx) => {
      await refresh();
      await puk.reset(value, newPassword, ctx.origin);
      return { role: 'operator', changed: true };
    },
    'webui.set': async ({ mode, as, password }, ctx) => {
      await refresh();
      await credentials.login(as, password, ctx.origin);
      return { webUi: await webUi.set(mode, as, ctx.origin) };
    },
    'https.set': async ({ enabled, as, password }, ctx) => {
      await refresh();
      await credentials.login(as, password, ctx.origin);
      await setHttps(enabled, as, ctx.origin);
      return { https: enabled, certificate: certificateInfo };
    },
    'https.rotate': async ({ as, password }, ctx) => {
      await refresh();
      await credentials.login(as, password, ctx.origin);
      const info = await certificate.create();
      certificateInfo = info;
      security.record('ReconfigurationOfSecurityParameters', { change: 'certificate', sha256: info.sha256, by: as, origin: ctx.origin });
      return { certificate: info };
    },
    'logPassword.set': async ({ password, logPassword: value }, ctx) => {
      await refresh();
      await logPassword.set(password, value, ctx.origin);
      return { logPasswordSet: true };
    },
    'logs.export': async ({ as, password, unencrypted }, ctx) => {
      await refresh();
      await credentials.login(as, password, ctx.origin);
      const key = config.logs.encryptExports ? await logPassword.read() : null;
      if (config.logs.encryptExports && key === null && !unencrypted) {
        throw new RefusedError(
          'no Log Password is set, so the export cannot be encrypted: the manufacturer sets one with "ccguard log-password set"; ' +
            'to export the logs unencrypted anyway, give --unencrypted',
        );
      }
      if (key !== null && unencrypted) {
        throw new RefusedError('a Log Password is set, so exports are always encrypted with it; leave out --unencrypted');
      }
      const { exportLogs } = await import('../logs/log-export.js');
      const zip = await exportLogs(config.logDir, key, config.logs.exportCompressionLevel);
      const encrypted = key !== null;
      security.record('LogExported', {
        by: as,
        origin: ctx.origin,
        encrypted,
        ...(encrypted ? {} : { reason: config.logs.encryptExports ? 'unencryptedRequested' : 'encryptionOffInConfig' }),
        files: zip.files,
        bytes: zip.totalBytes,
      });
      try {
        await ctx.stream(zip.archive, () => ({ done: zip.doneBytes(), total: zip.totalBytes }));
      } catch (err) {
        zip.abort();
        log.warn({ err: (err as Error).message, by: as }, 'log export interrupted');
        throw err;
      }
      return { files: zip.files, logBytes: zip.totalBytes, encrypted };
    },
    'masterCard.enroll': async ({ password, timeoutSeconds }, ctx) => {
      await refresh();
      return cards.enroll(password, timeoutSeconds, ctx.origin, ctx.signal);
    },
    'masterCard.list': async ({ password }, ctx) => {
      await refresh();
      await credentials.login('manufacturer', password, ctx.origin);
      return { masterCards: masterCards.list() };
    },
    'masterCard.remove': async ({ password, id }, ctx) => {
      await refresh();
      return masterCards.remove(password, id, ctx.origin);
    },
    'defaults.save': async ({ password }, ctx) => {
      await refresh();
      return factory.save(password, ctx.origin);
    },
    readers: async () => cards.status(),
    'sync.status': async () => {
      if (!pusher) {
        throw new RefusedError('no slave is configured: sync.peer in the config names it on a double station\'s master');
      }
      return pusher.status();
    },
    'sync.apply': async ({ envelope }, ctx) => {
      await refresh();
      return receiver.apply(envelope, ctx.origin);
    },
    events: async ({ follow, limit }, ctx) => {
      const events = await security.recent(limit);
      if (follow) ctx.follow((push) => security.subscribe(push));
      return { events };
    },
  };

  const server = new SocketServer({
    path: config.socket,
    idleTimeoutMs: config.socketIdleTimeoutMs,
    maxClients: config.socketMaxClients,
    handlers,
    log,
    security,
  });
  await server.listen();
  security.record('StartupOfTheDevice', { version: VERSION, provisioned: store.current !== null, generation: store.generation });
  log.info({ socket: config.socket, stateDir: config.stateDir, version: VERSION }, 'ccguard daemon serving');

  pusher?.start();

  const notifier = await SystemdNotifier.fromEnvironment(log);
  notifier?.ready();

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: no new requests; finishing the ones in progress');
    notifier?.stopping();
    await server.close();
    await cards.stop();
    pusher?.stop();
    await store.idle();
    await strength.close();
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
}
