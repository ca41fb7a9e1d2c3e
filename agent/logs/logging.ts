import { EventEmitter } from 'node:events';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { RotatingFile } from './rotating-file.js';

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

export interface SecurityEvent {
  time: string;
  event: SecurityEventName;
  [field: string]: unknown;
}

const SECURITY_FILE = 'security.log';
const AGENT_FILE = 'ccguard.log';

/**
 * The security event log: one JSON line per event in `security.log`, written synchronously
 * so that a crash right after an event still has it, plus live delivery to followers.
 */
export class SecurityLog {
  readonly #emitter = new EventEmitter();

  constructor(
    private readonly logger: Logger,
    private readonly file: string,
  ) {
    this.#emitter.setMaxListeners(0);
  }

  record(event: SecurityEventName, fields: Record<string, unknown> = {}): void {
    const entry: SecurityEvent = { time: new Date().toISOString(), event, ...fields };
    this.logger.info(entry);
    this.#emitter.emit('event', entry);
  }

  subscribe(listener: (event: SecurityEvent) => void): () => void {
    this.#emitter.on('event', listener);
    return () => this.#emitter.off('event', listener);
  }

  /** The newest events on disk, oldest first (reads at most the last 1 MiB of the file). */
  async recent(limit: number): Promise<SecurityEvent[]> {
    let handle;
    try {
      handle = await open(this.file, 'r');
    } catch {
      return [];
    }
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, 1024 * 1024);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      const lines = buffer.toString('utf8').split('\n');
      if (length < size) lines.shift(); // the first line may be cut
      const events: SecurityEvent[] = [];
      for (const line of lines) {
        if (!line) continue;
        try {
          const parsed = JSON.parse(line) as Partial<SecurityEvent> & { msg?: unknown };
          if (typeof parsed.event === 'string' && typeof parsed.time === 'string') {
            const { level: _level, pid: _pid, hostname: _host, msg: _msg, ...rest } = parsed as Record<string, unknown>;
            events.push(rest as SecurityEvent);
          }
        } catch {
          // a torn last line after a crash: skip it
        }
      }
      return events.slice(-limit);
    } finally {
      await handle.close();
    }
  }
}

export interface Logs {
  log: Logger;
  security: SecurityLog;
  flush(): void;
  /** Reopens both files (SIGHUP, after an outside logrotate moved them). */
  reopen(): void;
}

export interface Rotation {
  maxFileBytes: number;
  maxFiles: number;
}

/** Agent log and security log under `logDir`, rotated by size; the agent log also goes to stderr on a terminal. */
export async function openLogs(logDir: string, rotation: Rotation): Promise<Logs> {
  await mkdir(logDir, { recursive: true, mode: 0o750 });
  const agentFile = new RotatingFile(join(logDir, AGENT_FILE), rotation.maxFileBytes, rotation.maxFiles);
  const securityPath = join(logDir, SECURITY_FILE);
  const securityFile = new RotatingFile(securityPath, rotation.maxFileBytes, rotation.maxFiles);
  const base = { timestamp: pino.stdTimeFunctions.isoTime, base: { pid: process.pid } };
  const log = process.stderr.isTTY
    ? pino(base, pino.multistream([{ stream: agentFile }, { stream: process.stderr }]))
    : pino(base, agentFile);
  // Security lines carry their own time field; no pino timestamp, no pid.
  const securityLogger = pino({ timestamp: false, base: null }, securityFile);
  return {
    log,
    security: new SecurityLog(securityLogger, securityPath),
    flush: () => {
      agentFile.flushSync();
      securityFile.flushSync();
    },
    reopen: () => {
      agentFile.reopen();
      securityFile.reopen();
    },
  };
}
