import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { link, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { once } from 'node:events';
import { syncDirectory } from '../store/atomic-file.js';
import { InvalidInputError } from '../common/errors.js';

/**
 * Written bytes after which the file's data is synced in the background, while the download goes
 * on, so that the fsync before the rename has little left to write: a 31 MB zip's took 13–18 ms
 * at the end of the export (strace of `ccguard logs export`), with this about 5 ms.
 */
const SYNC_EVERY = 8 * 1024 * 1024;

/**
 * The output file of a download from the daemon: written under a hidden temporary name beside
 * the target and renamed into place only when complete, so a failure or Ctrl-C never leaves a
 * partial file under the name asked for.
 */
export class OutputFile {
  readonly #temp: string;
  readonly #stream: WriteStream;
  /** A second descriptor of the file, for its syncs: the stream's own is not exposed. */
  readonly #file: FileHandle;
  #done = false;
  #closed = false;
  #unsynced = 0;
  #syncing: Promise<void> | null = null;
  #syncError: unknown = null;

  private constructor(
    readonly path: string,
    private readonly replace: boolean,
    temp: string,
    stream: WriteStream,
    file: FileHandle,
  ) {
    this.#temp = temp;
    this.#stream = stream;
    this.#file = file;
  }

  static async create(path: string, replace: boolean): Promise<OutputFile> {
    const target = resolve(path);
    const dir = dirname(target);
    const dirInfo = await stat(dir).catch(() => null);
    if (!dirInfo?.isDirectory()) throw new InvalidInputError(`cannot write ${path}: the directory ${dir} does not exist`);
    const existing = await stat(target).catch(() => null);
    if (existing?.isDirectory()) throw new InvalidInputError(`${path} is a directory; give a file name, e.g. ${join(path, 'logs.zip')}`);
    if (existing && !replace) throw new InvalidInputError(`${path} already exists; give --force to replace it`);
    const temp = join(dir, `.${basename(target)}.partial-${randomBytes(4).toString('hex')}`);
    const stream = createWriteStream(temp, { flags: 'wx', mode: 0o600 });
    await once(stream, 'open');
    return new OutputFile(target, replace, temp, stream, await open(temp, 'r'));
  }

  /** Resolves when the chunk is buffered below the stream's high-water mark. */
  write(chunk: Buffer): Promise<void> | undefined {
    const buffered = this.#stream.write(chunk);
    this.#unsynced += chunk.length;
    if (this.#unsynced >= SYNC_EVERY && !this.#syncing) this.#syncInBackground();
    return buffered ? undefined : once(this.#stream, 'drain').then(() => undefined);
  }

  /** fdatasync(2) of what has reached the file so far, one at a time; a failure is reported by commit(). */
  #syncInBackground(): void {
    this.#unsynced = 0;
    this.#syncing = this.#file
      .datasync()
      .catch((err: unknown) => {
        this.#syncError ??= err;
      })
      .then(() => {
        this.#syncing = null;
      });
  }

  /** Flushes, fsyncs and moves the file under its name (never over an existing one unless replacing). */
  async commit(): Promise<void> {
    this.#stream.end();
    await once(this.#stream, 'close');
    await this.#syncing;
    if (this.#syncError) throw this.#syncError;
    await this.#file.sync();
    await this.#close();
    if (this.replace) {
      await rename(this.#temp, this.path);
    } else {
      try {
        await link(this.#temp, this.path); // fails if the name appeared meanwhile
      } catch (err) {
        await this.discard();
        if ((err as NodeJS.ErrnoException).code === 'EEXIST')
          throw new InvalidInputError(`${this.path} appeared during the export; give --force to replace it`);
        throw err;
      }
      await unlink(this.#temp);
    }
    this.#done = true;
    await syncDirectory(dirname(this.path));
  }

  /** Removes the temporary file; safe to call from a signal handler, at any point of the download. */
  async discard(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    this.#stream.destroy();
    // Closing waits for a sync in flight, so its descriptor is not closed (and reused) under it.
    await this.#close().catch(() => undefined);
    await unlink(this.#temp).catch(() => undefined);
  }

  async #close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#file.close();
  }
}
