import { constants } from 'node:fs';
import { open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Secret } from '../common/secret.js';
import { LogZipArchive } from './zip-writer.js';

export interface LogExport {
  /** The zip, streamed: memory does not grow with the size of the logs. */
  archive: Readable;
  files: number;
  /** Log bytes to pack, and how many have been read so far (for a progress bar). */
  totalBytes: number;
  doneBytes(): number;
  /** Stops the export and closes every file it opened. */
  abort(): void;
}

interface LogFile {
  name: string;
  handle: FileHandle;
  size: number;
  mtime: Date;
  stream: (Readable & { bytesRead?: number }) | null;
}

const READ_CHUNK = 256 * 1024;

/**
 * A zip of every regular file in the log directory: current and rotated logs and the security log.
 * Each file is opened before the zip starts and read up to its size at that moment, so a rotation
 * or a line appended during the export neither breaks nor tears an entry.
 */
export async function exportLogs(logDir: string, password: Secret | null, level: number): Promise<LogExport> {
  const files: LogFile[] = [];
  try {
    for (const name of (await readdir(logDir)).sort()) {
      // O_NOFOLLOW: a symlink could point anywhere, and checking first would leave a window to swap one in.
      const handle = await open(join(logDir, name), constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ELOOP' || err.code === 'EISDIR') return null;
        throw err;
      });
      if (!handle) continue;
      const info = await handle.stat();
      if (!info.isFile()) {
        await handle.close();
        continue;
      }
      files.push({ name, handle, size: info.size, mtime: info.mtime, stream: null });
    }
  } catch (err) {
    await Promise.all(files.map((f) => f.handle.close()));
    throw err;
  }
  const archive = new LogZipArchive(password, level);
  for (const file of files) {
    archive.appendLazy(
      () => {
        if (file.size === 0) {
          void file.handle.close().catch(() => undefined);
          file.stream = Readable.from([]);
        } else {
          file.stream = file.handle.createReadStream({ start: 0, end: file.size - 1, highWaterMark: READ_CHUNK, autoClose: true });
        }
        return file.stream;
      },
      { name: file.name, date: file.mtime, mode: 0o640 },
    );
  }
  void archive.finalize().catch(() => undefined); // errors surface on the stream
  const closeUnread = (): void => {
    for (const file of files) if (!file.stream) void file.handle.close().catch(() => undefined);
  };
  archive.once('close', closeUnread);
  archive.once('end', closeUnread);
  return {
    archive,
    files: files.length,
    totalBytes: files.reduce((sum, f) => sum + f.size, 0),
    doneBytes: () => files.reduce((sum, f) => sum + Math.min(f.stream?.bytesRead ?? 0, f.size), 0),
    abort: () => {
      archive.abort();
      for (const file of files) file.stream?.destroy();
      closeUnread();
    },
  };
}
