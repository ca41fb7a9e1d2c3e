import type { FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';

/**
 * Each entry holds two buffers of this size while it is read. 1 MiB reads measured no faster (each chunk is
 * one zlib job on the pool either way) and left more for the collector.
 */
export const READ_CHUNK = 256 * 1024;

/**
 * A file's first `size` bytes written into a stream (the entry's deflate) through two buffers that
 * are read into again and again. A read stream allocates a buffer per chunk, which V8 frees only
 * at its next collection: with little else allocated, tens of megabytes of read chunks were
 * resident at once. A buffer is read into again only after the stream consumed its chunk (the
 * write's callback). Closes the handle when done.
 */
export class FilePump {
  bytesRead = 0;
  #destroyed = false;
  #into: Writable | null = null;

  constructor(
    private readonly handle: FileHandle,
    private readonly size: number,
    private readonly chunkBytes = READ_CHUNK,
  ) {}

  /** Stops the pump (after the read in progress) and destroys the stream it writes into; the handle is closed. */
  destroy(): void {
    this.#destroyed = true;
    this.#into?.destroy(new Error('log export aborted'));
  }

  /** Writes the file into `into` (then ends it), passing each chunk to `onChunk` first. */
  async run(into: Writable, onChunk: (chunk: Buffer) => void): Promise<void> {
    const buffers = [Buffer.allocUnsafeSlow(Math.min(this.chunkBytes, this.size)), Buffer.allocUnsafeSlow(Math.min(this.chunkBytes, this.size))];
    let consumed: Promise<void> | null = null;
    this.#into = into;
    try {
      if (this.#destroyed) throw new Error('log export aborted');
      for (let k = 0; this.bytesRead < this.size; k++) {
        const buffer = buffers[k % 2] as Buffer;
        const { bytesRead } = await this.handle.read(buffer, 0, Math.min(buffer.length, this.size - this.bytesRead), this.bytesRead);
        if (this.#destroyed) throw new Error('log export aborted');
        if (bytesRead === 0) break; // truncated since it was opened: the entry holds what was there
        const chunk = buffer.subarray(0, bytesRead);
        this.bytesRead += bytesRead;
        onChunk(chunk);
        // The other buffer's chunk must be consumed before the next read goes into it.
        if (consumed) await consumed;
        consumed = written(into, chunk);
        // Awaited on the next turn; the stream may close while the next read is in flight.
        consumed.catch(() => undefined);
      }
      if (consumed) await consumed;
      into.end();
    } catch (err) {
      into.destroy(err as Error);
      await consumed?.catch(() => undefined);
      throw err;
    } finally {
      await this.handle.close().catch(() => undefined);
    }
  }
}

/** Resolves once `stream` has consumed `chunk`; rejects if the stream closes first. */
function written(stream: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const closed = (): void => reject(new Error('the stream closed before it consumed the chunk'));
    stream.once('close', closed);
    stream.write(chunk, (err) => {
      stream.off('close', closed);
      if (err) reject(err);
      else resolve();
    });
  });
}
