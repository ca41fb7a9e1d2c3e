import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { keyMode } from './settings/https-certificate.js';
import type { AuditFacts, LooseFile } from '../../policy/audit.js';
import type { Config } from '../common/config.js';
import type { State } from '../store/state.js';
import type { StatusReport } from '../wire/status-report.js';

/** Files and directories whose modes the audit checks, with the most each may allow. */
async function looseFiles(config: Config, configPath: string | null): Promise<LooseFile[]> {
  const wanted: Array<{ path: string; allowed: number }> = [
    { path: config.stateDir, allowed: 0o700 },
    // The device key: 0640 only in a directory set up to share it with one group (the console's), else 0600.
    { path: config.https.keyFile, allowed: await keyMode(dirname(config.https.keyFile)).catch(() => 0o600) },
  ];
  for (const name of await readdir(config.stateDir).catch(() => [])) wanted.push({ path: join(config.stateDir, name), allowed: 0o600 });
  // The config may be world-readable (it holds no secret) but nobody else may change it.
  if (configPath !== null) wanted.push({ path: configPath, allowed: 0o755 });
  const loose: LooseFile[] = [];
  for (const { path, allowed } of wanted) {
    const mode = await stat(path).then(
      (s) => s.mode & 0o777,
      () => null,
    );
    if (mode !== null && (mode & ~allowed) !== 0) loose.push({ path, mode, allowed });
  }
  return loose;
}

/** What the audit looks at, gathered by the daemon (which can read its own state directory). */
export async function gatherAuditFacts(
  status: StatusReport,
  state: State | null,
  config: Config,
  configPath: string | null,
  sync: AuditFacts['sync'],
): Promise<AuditFacts> {
  const manufacturer = state?.roles.manufacturer;
  return {
    provisioned: state !== null,
    roles: status.roles,
    manufacturerNeverChanged: manufacturer !== undefined && state !== null && manufacturer.isDefault && manufacturer.changedAt === state.provisionedAt,
    policy: status.policy,
    puk: status.puk,
    masterCards: status.masterCards,
    rfidUnavailable: status.rfid.service === 'unavailable' ? { reason: status.rfid.serviceError ?? 'unknown', enableCommand: status.rfid.enableCommand } : null,
    uidOnlyMasterCards: { ids: status.rfid.masterCards.filter((c) => c.kind === 'uidOnly').map((c) => c.id), rule: config.rfid.uidOnlyMasterCards },
    cloneAttempts: status.rfid.cloneAttempts,
    pendingEnrolment: status.rfid.pendingEnrolment,
    tapResetsRoles: config.rfid.tapResetsRoles,
    logPasswordSet: status.logPasswordSet,
    webUi: status.webUi,
    https: status.https,
    sync,
    looseFiles: await looseFiles(config, configPath),
    argon2: config.argon2,
    configPath,
    stateFallback: state?.fallback ?? null,
  };
}
