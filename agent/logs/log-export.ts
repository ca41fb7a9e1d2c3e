import { constants } from 'node:fs';
import { lstat, open, readdir, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Secret } from '../common/secret.js';
import { FilePump } from './file-pump.js';
import { LogZipArchive } from './zip-writer.js';

import { ctrKernel, type CtrKernel } from './ae2-ctr.js';

export { ae2CtrUnavailable } from './ae2-ctr.js';

export interface LogExport {
  /** The zip, streamed: memory does not grow with the size of the logs. */
  archive: Readable;
  files: number;
  /** Entries of the log directory left out because they are not regular files (a FIFO would block the export). */
  skipped: SkippedEntry[];
  /** Log bytes to pack, and how many have been read so far (for a progress bar). */
  totalBytes: number;
  doneBytes(): number;
  /**
   * Stops the export and closes every file it opened; with a `reason`, the archive stream fails
   * with it (a reader sees an error, not a zip that merely ends early).
   */
  abort(reason?: Error): void;
}

export interface SkippedEntry {
  name: string;
  type: 'fifo' | 'symlink' | 'directory' | 'socket' | 'device' | 'other';
}

interface LogFile {
  name: string;
  handle: FileHandle;
  size: number;
  mtime: Date;
  stream: FilePump | null;
}

/**
 * O_NOFOLLOW: a symlink could point anywhere, and checking first would leave a window to swap one
 * in. O_NONBLOCK: opening a FIFO does not wait for a writer. The fstat on the handle decides.
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;

function typeOf(info: Stats): SkippedEntry['type'] {
  if (info.isFIFO()) return 'fifo';
  if (info.isSymbolicLink()) return 'symlink';
  if (info.isDirectory()) return 'directory';
  if (info.isSocket()) return 'socket';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'device';
  return 'other';
}

/** The entry opened for reading, or why it is skipped. lstat first, so no device is ever opened. */
async function openRegular(path: string): Promise<{ handle: FileHandle; info: Stats } | SkippedEntry['type'] | null> {
  let info: Stats;
  try {
    info = await lstat(path);
  } catch {
    return null; // gone since readdir (a rotation)
  }
  if (!info.isFile()) return typeOf(info);
  let handle: FileHandle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') return 'symlink';
    if (code === 'ENXIO') return 'socket';
    throw err;
  }
  const opened = await handle.stat();
  if (!opened.isFile()) {
    await handle.close();
    return typeOf(opened); // swapped in after the lstat
  }
  return { handle, info: opened };
}

/**
 * A zip of every regular file in the log directory: current and rotated logs and the security log.
 * Each file is opened before the zip starts and read up to its size at that moment, so a rotation
 * or a line appended during the export neither breaks nor tears an entry. Anything else in the
 * directory (a FIFO, a symlink, a directory, a socket, a device) is skipped and reported.
 */
export async function exportLogs(logDir: string, password: Secret | null, level: number, kernel: CtrKernel = ctrKernel): Promise<LogExport> {
  const files: LogFile[] = [];
  const skipped: SkippedEntry[] = [];
  try {
    for (const name of (await readdir(logDir)).sort()) {
      const opened = await openRegular(join(logDir, name));
      if (opened === null) continue;
      if (typeof opened === 'string') {
        skipped.push({ name, type: opened });
        continue;
      }
      files.push({ name, handle: opened.handle, size: opened.info.size, mtime: opened.info.mtime, stream: null });
    }
  } catch (err) {
    await Promise.all(files.map((f) => f.handle.close()));
    throw err;
  }
  const archive = new LogZipArchive(password, level, kernel);
  // Errors reach the reader through the stream; one raised after an abort must not go unhandled.
  archive.on('error', () => undefined);
  let aborted = false;
  for (const file of files) {
    archive.appendLazy(
      () => {
        if (aborted) return Readable.from([]); // its handle is closed; the archive is going away
        file.stream = new FilePump(file.handle, file.size);
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
    skipped,
    totalBytes: files.reduce((sum, f) => sum + f.size, 0),
    doneBytes: () => files.reduce((sum, f) => sum + Math.min(f.stream?.bytesRead ?? 0, f.size), 0),
    abort: (reason) => {
      aborted = true;
      archive.abort(); // no further entry is opened
      if (reason) archive.destroy(reason);
      for (const file of files) file.stream?.destroy();
      closeUnread();
    },
  };
}
