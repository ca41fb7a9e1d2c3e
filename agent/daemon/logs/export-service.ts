import type { ExportRole } from '../../../policy/roles.js';
import type { Logger } from 'pino';
import { decideExportEncryption } from '../../../policy/log-export.js';
import type { Config } from '../../common/config.js';
import { RefusedError } from '../../common/errors.js';
import type { LogPassword } from '../credentials/log-password.js';
import type { LogExport } from '../../logs/log-export.js';
import type { SecurityLog } from '../../logs/logging.js';
import type { Actor } from '../credentials/authenticator.js';

/** Log exports on behalf of a role: its password checked, the encryption rule applied, the export recorded. */
export class LogExports {
  /** Exports being streamed, so that a stopping daemon can cut them short. */
  readonly #active = new Set<LogExport>();

  constructor(private readonly deps: { config: Config; logPassword: LogPassword; security: SecurityLog; log: Logger }) {}

  /** Opens the export; the caller streams `zip.archive` and calls `zip.abort()` if the transfer fails. */
  async open(actor: Actor<ExportRole>, unencrypted: boolean): Promise<{ zip: LogExport; encrypted: boolean }> {
    const { config, logPassword, security } = this.deps;
    const key = config.logs.encryptExports ? await logPassword.read() : null;
    const decision = decideExportEncryption({ encryptExports: config.logs.encryptExports, logPasswordSet: key !== null, unencryptedRequested: unencrypted });
    if ('refused' in decision) throw new RefusedError(decision.refused);
    // The zip writer is loaded only when an export is made (archiver's load time, test-peers.md).
    const { exportLogs, ae2CtrUnavailable } = await import('../../logs/log-export.js');
    const zip = await exportLogs(config.logDir, decision.encrypt ? key : null, config.logs.exportCompressionLevel);
    const slow = decision.encrypt ? ae2CtrUnavailable() : null;
    if (slow) this.deps.log.warn(slow);
    security.record('LogExported', {
      by: actor.role,
      encrypted: decision.encrypt,
      ...(decision.encrypt ? {} : { reason: decision.reason }),
      files: zip.files,
      bytes: zip.totalBytes,
      ...(zip.skipped.length > 0 ? { skipped: zip.skipped } : {}),
    });
    if (zip.skipped.length > 0)
      this.deps.log.warn({ skipped: zip.skipped }, 'log export: entries of the log directory that are not regular files were left out');
    this.#active.add(zip);
    const done = (): void => void this.#active.delete(zip);
    zip.archive.once('close', done);
    zip.archive.once('end', done);
    return { zip, encrypted: decision.encrypt };
  }

  /** Cuts every export in progress short (the daemon is stopping): their clients get an error, not a truncated zip. */
  abortAll(reason: Error): void {
    for (const zip of this.#active) zip.abort(reason);
    this.#active.clear();
  }

  interrupted(actor: Actor<ExportRole>, err: unknown): void {
    this.deps.log.warn({ err: (err as Error).message, by: actor.role }, 'log export interrupted');
  }
}
