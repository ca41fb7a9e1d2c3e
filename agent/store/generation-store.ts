import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import * as v from 'valibot';
import { describeIssues } from '../common/schema-issues.js';
import { StateError } from '../common/errors.js';
import { syncDirectory, TEMP_MARKER, writeFileAtomic, type Owner } from './atomic-file.js';

const FILE_RE = /^state\.(\d{12})\.json$/;
const HEADER_RE = /^ccguard-state v(\d+) generation=(\d+) sha256=([0-9a-f]{64})\n/;
/** The header version this ccguard writes and reads. */
const HEADER_VERSION = 1;

function fileName(generation: number): string {
  return `state.${String(generation).padStart(12, '0')}.json`;
}

function encode(generation: number, payload: string): string {
  const digest = createHash('sha256').update(payload).digest('hex');
  return `ccguard-state v1 generation=${generation} sha256=${digest}\n${payload}`;
}

/** A generation file that failed its checks and was set aside. */
export interface Rejected {
  file: string;
  reason: string;
  generation: number;
  /** When it was written (the file's modification time), if it could be read. */
  writtenAt: string | null;
  /** Top-level parts of the state where its readable payload differs from the one loaded instead. */
  mayHaveLost: string[];
}

/** A state written by a newer ccguard: not corrupt, just not readable by this version. */
export class NewerStateError extends StateError {}

export interface Loaded<T> {
  state: T | null;
  generation: number;
  rejected: Rejected[];
}

/**
 * A state held as numbered generations in one directory. Each write is a new generation file
 * written atomically; the previous generation stays beside it. A file whose checksum or schema
 * does not hold is never used: loading falls back to the newest good generation and sets the
 * bad one aside (renamed `.corrupt`) for inspection.
 */
export class GenerationStore<T> {
  #generation = 0;
  #current: T | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #owner: Owner | undefined;
  readonly #listeners: Array<(state: T) => void> = [];

  constructor(
    readonly dir: string,
    private readonly schema: v.GenericSchema<unknown, T>,
    /** The newest `format` of the payload this version reads; a higher one is a newer ccguard's. */
    private readonly maxFormat = 1,
  ) {}

  /** Who files written beside the state must belong to (root writing for the service user), if not the writer. */
  get owner(): Owner | undefined {
    return this.#owner;
  }

  /** Creates the directory (0700) if missing; refuses one that others can reach. */
  async prepare(create: boolean): Promise<void> {
    if (create) {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
    }
    await assertPrivate(this.dir, true);
    // Root provisioning a state directory that belongs to the service user: the files must be the service's.
    const info = await stat(this.dir);
    this.#owner = process.getuid?.() === 0 && info.uid !== 0 ? { uid: info.uid, gid: info.gid } : undefined;
  }

  async load(): Promise<Loaded<T>> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: null, generation: 0, rejected: [] };
      throw err;
    }
    for (const name of names) {
      // Left by a write that a crash interrupted before its rename: never valid.
      if (name.includes(TEMP_MARKER)) await unlink(join(this.dir, name)).catch(() => undefined);
    }
    const generations = names
      .map((name) => FILE_RE.exec(name))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => b - a);
    // Newest first, up to the first good one (older ones never stop a start); each is checked for
    // a newer ccguard's format before anything is set aside, so such a state renames nothing.
    const candidates: Array<{ generation: number; file: string; text: string; mtime: Date }> = [];
    let good: { generation: number; state: T } | null = null;
    for (const generation of generations) {
      const file = join(this.dir, fileName(generation));
      await assertPrivate(file, false);
      const [text, info] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
      const newer = this.#newerFormat(text, generation);
      if (newer !== null) {
        throw new NewerStateError(
          `${file} was written by a newer ccguard (${newer}); this version cannot read it and changed nothing: ` +
            'install that newer ccguard again (a downgrade needs the state re-provisioned)',
        );
      }
      const result = this.#decode(text, generation);
      if (result.ok) {
        good = { generation, state: result.state };
        break;
      }
      candidates.push({ generation, file, text, mtime: info.mtime });
    }
    const rejected: Array<Rejected & { text: string }> = [];
    for (const { generation, file, text, mtime } of candidates) {
      rejected.push({ file, reason: this.#decodeFailure(text, generation), generation, writtenAt: mtime.toISOString(), mayHaveLost: [], text });
      await rename(file, `${file}.corrupt`);
    }
    if (rejected.length > 0) await syncDirectory(this.dir);
    if (good !== null) {
      const { generation, state } = good;
      this.#generation = generation;
      this.#current = state;
      // A crash between a write and its clean-up can leave one generation too many.
      await this.#dropOlderThan(generation - 1);
      return { state, generation, rejected: rejected.map(({ text: lost, ...r }) => ({ ...r, mayHaveLost: differences(lost, state) })) };
    }
    this.#generation = 0;
    this.#current = null;
    return { state: null, generation: 0, rejected: rejected.map(({ text: _text, ...r }) => r) };
  }

  #decodeFailure(text: string, generation: number): string {
    const result = this.#decode(text, generation);
    return result.ok ? 'unknown' : result.reason;
  }

  /**
   * A description of the newer format when `text` is a newer ccguard's, else null. A newer state
   * says so inside its checksummed payload (`format`); the header line has no checksum of its own,
   * so a version digit there that does not match is damage, not a newer ccguard.
   */
  #newerFormat(text: string, generation: number): string | null {
    const header = HEADER_RE.exec(text);
    if (!header || Number(header[2]) !== generation) return null;
    const payload = text.slice(header[0].length);
    if (createHash('sha256').update(payload).digest('hex') !== header[3]) return null;
    try {
      const format = (JSON.parse(payload) as { format?: unknown }).format;
      if (typeof format === 'number' && format > this.maxFormat) return `state format ${format}, this version reads ${this.maxFormat}`;
    } catch {
      // not JSON: the decode step rejects it
    }
    return null;
  }

  #decode(text: string, generation: number): { ok: true; state: T } | { ok: false; reason: string } {
    const header = HEADER_RE.exec(text);
    if (!header || Number(header[1]) !== HEADER_VERSION) return { ok: false, reason: 'missing or damaged header' };
    if (Number(header[2]) !== generation) return { ok: false, reason: 'generation in header does not match file name' };
    const payload = text.slice(header[0].length);
    if (createHash('sha256').update(payload).digest('hex') !== header[3]) {
      return { ok: false, reason: 'checksum mismatch (torn or altered file)' };
    }
    let json: unknown;
    try {
      json = JSON.parse(payload);
    } catch {
      return { ok: false, reason: 'payload is not JSON' };
    }
    const parsed = v.safeParse(this.schema, json);
    if (!parsed.success) return { ok: false, reason: `payload does not match the state schema: ${describeIssues(parsed.issues)}` };
    return { ok: true, state: parsed.output };
  }

  /** The state of the newest generation loaded or written. */
  get current(): T | null {
    return this.#current;
  }

  get generation(): number {
    return this.#generation;
  }

  /**
   * Applies `change` to the newest state and writes the result as the next generation,
   * durably, before resolving. Updates run one at a time, each on the result of the last.
   */
  update(change: (current: T | null) => T): Promise<T> {
    const run = this.#queue.then(async () => {
      const next = change(this.#current);
      // Never write what `load` would reject: a bad value would ride along into every later generation.
      const checked = v.safeParse(this.schema, next);
      if (!checked.success) throw new StateError(`refusing to write a state that does not match its schema: ${describeIssues(checked.issues)}`);
      const generation = this.#generation + 1;
      await writeFileAtomic(join(this.dir, fileName(generation)), encode(generation, JSON.stringify(next)), 0o600, this.#owner);
      this.#generation = generation;
      this.#current = next;
      await this.#dropOlderThan(generation - 1);
      for (const listener of this.#listeners) listener(next);
      return next;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Keeps `keep` and newer: the previous generation stays as a fallback. */
  async #dropOlderThan(keep: number): Promise<void> {
    let removed = false;
    for (const name of await readdir(this.dir)) {
      const m = FILE_RE.exec(name);
      if (m && Number(m[1]) < keep) {
        await unlink(join(this.dir, name));
        removed = true;
      }
    }
    if (removed) await syncDirectory(this.dir);
  }

  /** Calls `listener` with each state once it is durable (after every update). */
  onCommit(listener: (state: T) => void): void {
    this.#listeners.push(listener);
  }

  /** Resolves once every write queued so far has finished. */
  async idle(): Promise<void> {
    await this.#queue;
  }
}

/**
 * The top-level parts (and roles) where a rejected payload, when it is still readable JSON,
 * differs from the state loaded instead: what the fallback may have undone.
 */
function differences(rejectedText: string, loaded: unknown): string[] {
  const payload = rejectedText.slice(rejectedText.indexOf('\n') + 1);
  let lost: unknown;
  try {
    lost = JSON.parse(payload);
  } catch {
    return ['unknown (the rejected file is not readable)'];
  }
  if (lost === null || typeof lost !== 'object' || loaded === null || typeof loaded !== 'object') return ['unknown'];
  const a = lost as Record<string, unknown>;
  const b = loaded as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[key];
    const y = b[key];
    if (JSON.stringify(x) === JSON.stringify(y)) continue;
    if (key === 'roles' && x && y && typeof x === 'object' && typeof y === 'object') {
      for (const role of new Set([...Object.keys(x), ...Object.keys(y)])) {
        if (JSON.stringify((x as Record<string, unknown>)[role]) !== JSON.stringify((y as Record<string, unknown>)[role])) parts.push(`roles.${role}`);
      }
    } else parts.push(key);
  }
  return parts;
}

/** Refuses a path that group or others can reach: it holds credential hashes. */
export async function assertPrivate(path: string, isDir: boolean): Promise<void> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new StateError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (isDir && !info.isDirectory()) throw new StateError(`${path} is not a directory`);
  if ((info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
    const fix = isDir ? `chmod 0700 ${path}` : `chmod 0600 ${path}`;
    throw new StateError(`${path} is accessible to group or others (mode ${mode}); fix it with: ${fix}`);
  }
}
