import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { once } from 'node:events';
import { syncDirectory } from '../store/atomic-file.js';
import { InvalidInputError } from '../common/errors.js';

/**
 * The output file of a download from the daemon: written under a hidden temporary name beside
 * the target and renamed into place only when complete, so a failure or Ctrl-C never leaves a
 * partial file under the name asked for.
 */
export class OutputFile {
  readonly #temp: string;
  readonly #stream;
  #done = false;

  private constructor(
    readonly path: string,
    private readonly replace: boolean,
    temp: string,
    stream: ReturnType<typeof createWriteStream>,
  ) {
    this.#temp = temp;
    this.#stream = stream;
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
    return new OutputFile(target, replace, temp, stream);
  }

  /** Resolves when the chunk is buffered below the stream's high-water mark. */
  write(chunk: Buffer): Promise<void> | undefined {
    return this.#stream.write(chunk) ? undefined : once(this.#stream, 'drain').then(() => undefined);
  }

  /** Flushes, fsyncs and moves the file under its name (never over an existing one unless replacing). */
  async commit(): Promise<void> {
    this.#stream.end();
    await once(this.#stream, 'finish');
    await once(this.#stream, 'close');
    const handle = await open(this.#temp, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
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

  /** Removes the temporary file; synchronous-safe to call from a signal handler. */
  async discard(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    this.#stream.destroy();
    await unlink(this.#temp).catch(() => undefined);
  }
}
