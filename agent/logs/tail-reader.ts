import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/** What the tail reader needs of a file; injectable so a test can count the bytes read. */
export interface TailSource {
  size: number;
  read(buffer: Buffer, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

export type OpenTail = (path: string) => Promise<TailSource | null>;

/**
 * Opens a log file for reading, or null when there is none. O_NONBLOCK and O_NOFOLLOW with an
 * fstat: a FIFO or a symlink put in the log directory is skipped instead of blocking the reader.
 */
export const openTail: OpenTail = async (path) => {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  const info = await handle.stat();
  if (!info.isFile()) {
    await handle.close();
    return null;
  }
  return {
    size: info.size,
    read: async (buffer, length, position) => (await handle.read(buffer, 0, length, position)).bytesRead,
    close: () => handle.close(),
  };
};

export interface TailOptions {
  open?: OpenTail;
  chunkBytes?: number;
  /** A line longer than this is skipped, so memory stays bounded whatever a file holds. */
  maxLineBytes?: number;
}

const NEWLINE = 0x0a;

/**
 * The last `limit` lines that `parse` accepts, oldest first, from `paths` given newest file
 * first (`security.log`, `security.log.1`, …). Reads backwards from the end in chunks and stops
 * as soon as it has `limit`: the work and memory follow `limit`, not the size of the logs.
 */
export async function lastLines<T>(paths: readonly string[], limit: number, parse: (line: string) => T | null, options: TailOptions = {}): Promise<T[]> {
  const openFile = options.open ?? openTail;
  const chunkBytes = options.chunkBytes ?? 64 * 1024;
  const maxLineBytes = options.maxLineBytes ?? 1024 * 1024;
  const found: T[] = []; // newest first
  for (const path of paths) {
    if (found.length >= limit) break;
    const file = await openFile(path);
    if (!file) continue;
    try {
      let position = file.size;
      let carry = Buffer.alloc(0); // the start of a line whose beginning is in an earlier chunk
      let overlong = false; // skipping a line longer than maxLineBytes, up to its start
      while (position > 0 && found.length < limit) {
        const length = Math.min(chunkBytes, position);
        position -= length;
        const chunk = Buffer.alloc(length);
        let got = 0;
        while (got < length) {
          const n = await file.read(chunk.subarray(got), length - got, position + got);
          if (n === 0) break; // truncated under us: read what is there
          got += n;
        }
        let data = carry.length > 0 ? Buffer.concat([chunk.subarray(0, got), carry]) : chunk.subarray(0, got);
        let end = data.length;
        for (let i = data.length - 1; i >= 0 && found.length < limit; i--) {
          if (data[i] !== NEWLINE) continue;
          if (!overlong) take(data.subarray(i + 1, end));
          overlong = false;
          end = i;
        }
        data = data.subarray(0, end);
        if (found.length >= limit) break;
        if (data.length > maxLineBytes) {
          overlong = true;
          data = Buffer.alloc(0);
        }
        carry = overlong ? Buffer.alloc(0) : Buffer.from(data);
      }
      // The first line of the file has no newline before it.
      if (position === 0 && found.length < limit && !overlong && carry.length > 0) take(carry);
    } finally {
      await file.close();
    }
  }
  return found.slice(0, limit).reverse();

  function take(line: Buffer): void {
    if (line.length === 0) return;
    const parsed = parse(line.toString('utf8'));
    if (parsed !== null) found.push(parsed);
  }
}
