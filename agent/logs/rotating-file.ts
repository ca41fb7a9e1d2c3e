import { closeSync, constants, fstatSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { StateError } from '../common/errors.js';

/**
 * Append, create; never through a symlink, never blocking on a FIFO (no reader: ENXIO; a reader:
 * refused after the fstat below). O_NONBLOCK changes nothing for a regular file.
 */
const APPEND = constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Opens `path` for appending, or throws naming the path when it is not a regular file. */
function openLog(path: string, mode: number): number {
  let fd: number;
  try {
    fd = openSync(path, APPEND, mode);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENXIO' || code === 'EISDIR')
      throw new StateError(`${path} is not a regular file (a symlink, FIFO or directory); remove it so the agent can log`);
    throw err;
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new StateError(`${path} is not a regular file; remove it so the agent can log`);
  }
  return fd;
}

/**
 * A log file written synchronously (a line logged before a crash is on disk) and rotated by
 * size: `name` → `name.1` → … → `name.(maxFiles-1)`, the oldest dropped. `reopen()` is for
 * SIGHUP after an outside logrotate moved the file.
 */
export class RotatingFile {
  #fd: number;
  #size: number;

  constructor(
    readonly path: string,
    private readonly maxBytes: number,
    private readonly maxFiles: number,
    private readonly mode = 0o640,
  ) {
    this.#fd = openLog(path, mode);
    this.#size = fstatSync(this.#fd).size;
  }

  /** pino's destination interface. */
  write(line: string): boolean {
    const data = Buffer.from(line, 'utf8');
    if (this.#size > 0 && this.#size + data.length > this.maxBytes) this.rotate();
    let written = 0;
    while (written < data.length) written += writeSync(this.#fd, data, written);
    this.#size += data.length;
    return true;
  }

  rotate(): void {
    closeSync(this.#fd);
    this.#dropBeyond(this.maxFiles - 1);
    if (this.maxFiles === 1) {
      unlinkSync(this.path);
    } else {
      for (let n = this.maxFiles - 2; n >= 1; n--) {
        try {
          renameSync(`${this.path}.${n}`, `${this.path}.${n + 1}`);
        } catch {
          // a gap in the series: nothing to move
        }
      }
      renameSync(this.path, `${this.path}.1`);
    }
    this.#fd = openLog(this.path, this.mode);
    this.#size = 0;
  }

  /** Removes rotated files numbered `keep` and above (also those left by a larger maxFiles before). */
  #dropBeyond(keep: number): void {
    const name = basename(this.path);
    for (const file of readdirSync(dirname(this.path))) {
      const suffix = file.startsWith(`${name}.`) ? file.slice(name.length + 1) : '';
      if (/^\d+$/.test(suffix) && Number(suffix) >= keep) unlinkSync(join(dirname(this.path), file));
    }
  }

  /** Opens the file at `path` again; if that fails, lines keep going to the file open so far. */
  reopen(): void {
    const fd = openLog(this.path, this.mode);
    closeSync(this.#fd);
    this.#fd = fd;
    this.#size = fstatSync(fd).size;
  }

  /** Writes are synchronous; kept for pino's flush call. */
  flushSync(): void {}

  close(): void {
    closeSync(this.#fd);
  }
}
