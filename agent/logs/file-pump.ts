import type { FileHandle } from 'node:fs/promises';
import type { BlockSource } from './parallel-deflate.js';

/**
 * A file's first `size` bytes (its size when the export opened it), read block by block into
 * buffers the caller reuses (agent/logs/parallel-deflate.ts): a read stream allocates a buffer
 * per chunk, which V8 frees only at its next collection. A file truncated since it was opened
 * ends where it now ends. The handle is closed once the last block is read, or on destroy.
 */
export class FilePump implements BlockSource {
  bytesRead = 0;
  readonly #abort = new AbortController();
  #closed = false;

  constructor(
    private readonly handle: FileHandle,
    private size: number,
  ) {}

  get ended(): boolean {
    return this.bytesRead >= this.size;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  async read(into: Buffer): Promise<number> {
    let filled = 0;
    while (filled < into.length && !this.ended) {
      this.#check();
      const { bytesRead } = await this.handle.read(into, filled, Math.min(into.length - filled, this.size - this.bytesRead), this.bytesRead);
      this.#check();
      if (bytesRead === 0) this.size = this.bytesRead; // truncated since it was opened: the entry holds what was there
      filled += bytesRead;
      this.bytesRead += bytesRead;
    }
    if (this.ended) this.close();
    return filled;
  }

  /** Closes the handle, after the read in flight if any (FileHandle waits for it). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    void this.handle.close().catch(() => undefined);
  }

  /** Stops the export of this file: the stream reading it fails, and the handle is closed. */
  destroy(): void {
    this.#abort.abort();
    this.close();
  }

  #check(): void {
    if (this.#abort.signal.aborted) throw new Error('log export aborted');
  }
}
