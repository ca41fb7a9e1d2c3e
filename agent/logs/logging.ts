import { EventEmitter } from 'node:events';
import { fstatSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { SecurityEvent } from '../wire/security-event.js';
import { eventEntry, isNoise, type FieldsOf, type SecurityEventName } from '../wire/security-events.js';
import pino, { type Logger } from 'pino';
import { currentCaller } from '../common/request-context.js';
import { PrettyTerminal } from './pretty.js';
import { RotatingFile } from './rotating-file.js';
import pLimit from 'p-limit';
import { lastLines, type TailOptions } from './tail-reader.js';
import { monotonicMs } from '../common/monotonic.js';

/**
 * An event's fields as a service records them: the origin may be left out, since the request
 * context carries it and `record` adds it (distributed over the variants of an event).
 */
export type RecordedFields<E extends SecurityEventName> =
  FieldsOf<E> extends infer F ? (F extends unknown ? Omit<F, 'origin'> & { origin?: string } : never) : never;

const SECURITY_FILE = 'security.log';
/** Noise (invalid frames, malformed requests) has its own file, so it can never rotate out what matters. */
const NOISE_FILE = 'security-noise.log';
const AGENT_FILE = 'ccguard.log';

/** At most one noise event per interval; the first after a quiet interval is written at once. */
export const NOISE_INTERVAL_MS = 60_000;
/** How many of the newest events `recent` answers from memory (the default `events` limit is 100). */
const RECENT_IN_MEMORY = 1000;
/** Distinct kinds and peer uids counted per interval; more are counted under "other". */
const MAX_NOISE_KEYS = 32;
const TOKEN = /^[a-zA-Z0-9._:-]{1,32}$/;

interface NoiseCounts {
  event: SecurityEventName;
  since: string;
  count: number;
  kinds: Map<string, number>;
  peerUids: Map<string, number>;
}

function bump(counts: Map<string, number>, key: string): void {
  const k = counts.has(key) || counts.size < MAX_NOISE_KEYS ? key : 'other';
  counts.set(k, (counts.get(k) ?? 0) + 1);
}

/** One file of the security log: where its lines go, and its path and rotated copies for reading back. */
export interface SecurityFile {
  logger: Logger;
  path: string;
  maxFiles: number;
}

/** Rotated copies newest first: `security.log`, `security.log.1`, … */
function series(file: SecurityFile): string[] {
  return [file.path, ...Array.from({ length: file.maxFiles - 1 }, (_, n) => `${file.path}.${n + 1}`)];
}

function parseEvent(line: string): SecurityEvent | null {
  try {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    if (typeof parsed.event !== 'string' || typeof parsed.time !== 'string') return null;
    const { level: _level, pid: _pid, hostname: _host, msg: _msg, ...rest } = parsed;
    return rest as SecurityEvent;
  } catch {
    return null; // a torn last line after a crash
  }
}

/**
 * The security event log: one JSON line per event, written synchronously so that a crash right
 * after an event still has it, plus live delivery to followers. Authentication and configuration
 * events go to `security.log`; noise, aggregated per interval with counts and never with what a
 * client sent, to `security-noise.log`, each file with its own rotation. Events recorded while a
 * socket request runs carry the kernel's word on who asked (`peer`) beside the claimed `origin`.
 */
export class SecurityLog {
  readonly #emitter = new EventEmitter();
  readonly #noise = new Map<SecurityEventName, NoiseCounts>();
  /** The newest events (both files), once primed; null before. */
  #ring: SecurityEvent[] | null = null;
  readonly #publicWindows = new Map<SecurityEventName, { startedAt: number; count: number }>();
  readonly #oneReader = pLimit(1);
  #window: NodeJS.Timeout | null = null;
  readonly #intervalMs: number;

  constructor(
    private readonly main: SecurityFile,
    private readonly noise: SecurityFile,
    options: { noiseIntervalMs?: number } = {},
  ) {
    this.#emitter.setMaxListeners(0);
    this.#intervalMs = options.noiseIntervalMs ?? NOISE_INTERVAL_MS;
  }

  /**
   * Noise (which events are noise: the catalogue, `security-events.ts`) is aggregated per event name
   * and kept apart from the rest; the first wrong guesses (checked, counted) stay in `security.log`.
   */
  record<E extends SecurityEventName>(event: E, fields: RecordedFields<E>): void {
    if (isNoise(event, fields) || this.#overPublicAllowance(event)) {
      this.#countNoise(event, fields);
      return;
    }
    const caller = currentCaller();
    const who = caller
      ? {
          ...('origin' in fields ? {} : { origin: caller.origin }),
          ...(caller.client ? { client: caller.client } : {}),
          ...(caller.peer ? { peer: { ...caller.peer } } : {}),
        }
      : {};
    this.#write(this.main, event, { ...fields, ...who });
  }

  subscribe(listener: (event: SecurityEvent) => void): () => void {
    this.#emitter.on('event', listener);
    return () => this.#emitter.off('event', listener);
  }

  /**
   * The newest `limit` events of both files, oldest first. Each file series is read backwards
   * only as far as `limit` needs (`tail` is for tests that count the bytes read).
   */
  async recent(limit: number, tail?: TailOptions): Promise<SecurityEvent[]> {
    // The newest events are kept in memory: a flood of `events` requests costs no file reads,
    // which would queue on libuv's pool ahead of the logins' hashes.
    if (this.#ring !== null && tail === undefined && limit <= RECENT_IN_MEMORY) return this.#ring.slice(-limit);
    return this.#read(limit, tail ?? {});
  }

  /**
   * Loads the newest events from the files once, so that `recent` can answer from memory after.
   * Called before anything else records (lines are written synchronously, so the files hold all).
   */
  async prime(): Promise<void> {
    this.#ring = await this.#read(RECENT_IN_MEMORY, {});
  }

  /** Reads the files, one reader at a time daemon-wide: a burst of deep reads queues instead of filling the pool. */
  #read(limit: number, tail: TailOptions): Promise<SecurityEvent[]> {
    return this.#oneReader(() => this.#readFiles(limit, tail));
  }

  async #readFiles(limit: number, tail: TailOptions): Promise<SecurityEvent[]> {
    const [main, noise] = await Promise.all([lastLines(series(this.main), limit, parseEvent, tail), lastLines(series(this.noise), limit, parseEvent, tail)]);
    if (noise.length === 0) return main;
    return [...main, ...noise].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0)).slice(-limit);
  }

  /**
   * Events anyone at the station or on the network can repeat (a cloned card presented again and
   * again, an old sync envelope replayed) go to `security.log` up to an allowance per interval;
   * beyond it they are counted as noise, so repetition cannot rotate out what matters.
   */
  #overPublicAllowance(event: SecurityEventName): boolean {
    const allowance = eventEntry(event).publicAllowance;
    if (allowance === undefined) return false;
    const now = monotonicMs();
    const window = this.#publicWindows.get(event);
    if (!window || now - window.startedAt >= this.#intervalMs) {
      this.#publicWindows.set(event, { startedAt: now, count: 1 });
      return false;
    }
    window.count++;
    return window.count > allowance;
  }

  /** Writes the noise counted so far (on stop, so nothing counted is lost). */
  flushNoise(): void {
    const all = [...this.#noise.values()];
    this.#noise.clear();
    for (const counts of all) {
      this.#write(this.noise, counts.event, {
        ...(eventEntry(counts.event).noise === 'whenThrottled' ? { reason: 'throttled' } : {}),
        count: counts.count,
        since: counts.since,
        kinds: Object.fromEntries(counts.kinds),
        peerUids: Object.fromEntries(counts.peerUids),
      });
    }
  }

  close(): void {
    if (this.#window) clearTimeout(this.#window);
    this.#window = null;
    this.flushNoise();
  }

  /**
   * Only tokens are kept (the kind or channel the server names, the role or method of a
   * throttled attempt), and the peer's uid: never a client's text.
   */
  #countNoise(event: SecurityEventName, recorded: object): void {
    const fields: Partial<Record<string, unknown>> = recorded;
    const token = (v: unknown): string | null => (typeof v === 'string' && TOKEN.test(v) ? v : null);
    let counts = this.#noise.get(event);
    if (!counts) {
      counts = { event, since: new Date().toISOString(), count: 0, kinds: new Map(), peerUids: new Map() };
      this.#noise.set(event, counts);
    }
    counts.count++;
    bump(counts.kinds, token(fields.kind) ?? token(fields.cause) ?? token(fields.method) ?? token(fields.role) ?? token(fields.channel) ?? 'other');
    const uid = currentCaller()?.peer?.uid;
    bump(counts.peerUids, uid === undefined ? 'unknown' : String(uid));
    if (this.#window === null) {
      this.flushNoise();
      this.#openWindow();
    }
  }

  #openWindow(): void {
    this.#window = setTimeout(() => {
      this.#window = null;
      if (this.#noise.size === 0) return;
      this.flushNoise();
      this.#openWindow();
    }, this.#intervalMs);
    this.#window.unref();
  }

  #write(file: SecurityFile, event: SecurityEventName, fields: Record<string, unknown>): void {
    const entry: SecurityEvent = { time: new Date().toISOString(), event, ...fields };
    file.logger.info(entry);
    if (this.#ring !== null) {
      this.#ring.push(entry);
      if (this.#ring.length > RECENT_IN_MEMORY * 2) this.#ring = this.#ring.slice(-RECENT_IN_MEMORY);
    }
    this.#emitter.emit('event', entry);
  }
}

export interface Logs {
  log: Logger;
  security: SecurityLog;
  /** Writes what is held back (the noise counted in the current interval). */
  flush(): void;
  /** Reopens every file (SIGHUP, after an outside logrotate moved them). */
  reopen(): void;
}

export interface Rotation {
  maxFileBytes: number;
  maxFiles: number;
}

/** A rotating file opened at its first line: no empty noise file in the log directory (and the exports) of a quiet station. */
class LazyFile {
  #file: RotatingFile | null = null;

  constructor(private readonly open: () => RotatingFile) {}

  write(line: string): boolean {
    return (this.#file ??= this.open()).write(line);
  }

  reopen(): void {
    this.#file?.reopen();
  }
}

/**
 * Asked without process.stderr, whose stream costs the daemon's start ~5 ms to build; and without
 * loading node:tty unless stderr is a character device at all (a pipe, a socket, a file is not).
 */
async function stderrIsTerminal(): Promise<boolean> {
  try {
    if (!fstatSync(2).isCharacterDevice()) return false;
  } catch {
    return false; // no fd 2
  }
  return (await import('node:tty')).isatty(2);
}

/**
 * Agent log and security log under `logDir`, rotated by size. The agent log also goes to stderr
 * as readable lines when stderr is a terminal.
 */
export async function openLogs(logDir: string, rotation: Rotation): Promise<Logs> {
  await mkdir(logDir, { recursive: true, mode: 0o750 });
  const agentFile = new RotatingFile(join(logDir, AGENT_FILE), rotation.maxFileBytes, rotation.maxFiles);
  const securityPath = join(logDir, SECURITY_FILE);
  const securityFile = new RotatingFile(securityPath, rotation.maxFileBytes, rotation.maxFiles);
  const noisePath = join(logDir, NOISE_FILE);
  const noiseFile = new LazyFile(() => new RotatingFile(noisePath, rotation.maxFileBytes, rotation.maxFiles));
  const base = { timestamp: pino.stdTimeFunctions.isoTime, base: { pid: process.pid } };
  // The file is the record (JSON); a person at a terminal also gets readable lines. Under systemd the
  // journal would only duplicate the file, so pipes get nothing.
  const log = (await stderrIsTerminal())
    ? pino(base, pino.multistream([{ stream: agentFile }, { stream: new PrettyTerminal(process.stderr) }]))
    : pino(base, agentFile);
  // Security lines carry their own time field; no pino timestamp, no pid.
  const securityLogger = (destination: { write(line: string): boolean }): Logger => pino({ timestamp: false, base: null }, destination);
  const security = new SecurityLog(
    { logger: securityLogger(securityFile), path: securityPath, maxFiles: rotation.maxFiles },
    { logger: securityLogger(noiseFile), path: noisePath, maxFiles: rotation.maxFiles },
  );
  await security.prime();
  return {
    log,
    security,
    flush: () => {
      security.close();
      agentFile.flushSync();
      securityFile.flushSync();
    },
    reopen: () => {
      for (const file of [agentFile, securityFile, noiseFile]) {
        try {
          file.reopen();
        } catch (err) {
          log.error({ err: (err as Error).message }, 'could not reopen a log file; still writing to the one open before');
        }
      }
    },
  };
}
