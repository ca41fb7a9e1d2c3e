import { availableParallelism } from 'node:os';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';

/**
 * One deflate job's input. 1 MiB: see BLOCK_BYTES's figures in the bench notes (bench/logs-export.ts);
 * the dictionary carried over keeps the output within a fraction of a percent of one stream.
 */
export const BLOCK_BYTES = 1024 * 1024;
/** Deflate's window: what a block may refer back to in the one before. */
const WINDOW = 32 * 1024;

/** Jobs in flight: one per core, at least 2, at most 4 (each holds a block of input and one of output). */
export function defaultJobs(): number {
  return Math.min(Math.max(availableParallelism(), 2), 4);
}

/** zlib.deflateRaw's signature: a job on libuv's pool. It must take `options.dictionary` before it returns (zlib copies it). */
export type DeflateJob = (input: Buffer, options: zlib.ZlibOptions, done: (err: Error | null, output: Buffer) => void) => void;

/** Where the blocks come from (agent/logs/file-pump.ts). */
export interface BlockSource {
  /** Fills `into` from its start; fewer bytes than its length only at the end, 0 when there is nothing more. */
  read(into: Buffer): Promise<number>;
  /** True once everything has been read. */
  readonly ended: boolean;
  /** Closes the source (after a read in flight); called on the end and on destroy. */
  close(): void;
  /** Aborts the stream when it fires. */
  readonly signal?: AbortSignal;
}

/**
 * Input buffers reused by every entry of an export: allocated on first use, never more than
 * `count`; a taker waits for one to be given back.
 */
export class BlockPool {
  readonly #free: Buffer[] = [];
  readonly #waiting: Array<(buffer: Buffer) => void> = [];
  #allocated = 0;
  constructor(
    readonly count: number,
    readonly bytes = BLOCK_BYTES,
  ) {}
  take(then: (buffer: Buffer) => void): void {
    if (this.#free.length === 0 && this.#allocated < this.count) {
      this.#allocated++;
      this.#free.push(Buffer.allocUnsafeSlow(this.bytes));
    }
    const buffer = this.#free.pop();
    if (buffer) then(buffer);
    else this.#waiting.push(then);
  }
  give(buffer: Buffer): void {
    const waiting = this.#waiting.shift();
    if (waiting) waiting(buffer);
    else this.#free.push(buffer);
  }
}

export interface ParallelDeflateOptions {
  level: number;
  pool: BlockPool;
  /** Jobs in flight at most; the pool should hold one buffer more, so the next read overlaps them. */
  jobs?: number;
  run?: DeflateJob;
  /** Each block of input, in order, on the main thread (the entry's size and CRC). */
  onBlock?: (input: Buffer) => void;
}

interface Block {
  buffer: Buffer;
  input: Buffer;
  last: boolean;
}

/**
 * A raw deflate stream of `source` compressed on several of libuv's threads at once, the way pigz
 * does it: each block is an independent zlib job primed with the previous block's last 32 KiB;
 * every block but the last ends with a sync flush (byte-aligned, not final), the last with
 * Z_FINISH, so the outputs concatenated in order are one valid deflate stream. At most `jobs`
 * jobs are in flight, emitted in order whichever finishes first, and a block is read only into a
 * free buffer of the pool: memory stays a few blocks whatever the size of the source.
 */
export class ParallelDeflate extends Readable {
  /** Submitted jobs, in order, until their output is pushed. */
  readonly #queue: Array<{ output: Buffer | null }> = [];
  /** A block read but not yet submitted (all jobs busy). */
  #next: Block | null = null;
  #reading = false;
  #submittedLast = false;
  #wanted = false;
  readonly #window = Buffer.allocUnsafeSlow(WINDOW);
  #windowBytes = 0;
  readonly #jobs: number;
  readonly #run: DeflateJob;
  readonly #chunkSize: number;

  constructor(
    private readonly source: BlockSource,
    private readonly options: ParallelDeflateOptions,
  ) {
    super();
    this.#jobs = options.jobs ?? defaultJobs();
    this.#run = options.run ?? zlib.deflateRaw;
    // deflateBound: a block's output in one piece even if it does not compress (no concatenation).
    this.#chunkSize = options.pool.bytes + (options.pool.bytes >> 10) + 64;
    source.signal?.addEventListener('abort', () => this.destroy(new Error('log export aborted')), { once: true });
  }

  override _read(): void {
    this.#wanted = true;
    this.#advance();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#next) this.options.pool.give(this.#next.buffer);
    this.#next = null;
    this.source.close();
    callback(err);
  }

  #advance(): void {
    if (this.destroyed) return;
    for (let output = this.#queue[0]?.output; this.#wanted && output; output = this.#queue[0]?.output) {
      this.#queue.shift();
      this.#wanted = this.push(output);
    }
    if (this.#submittedLast && this.#queue.length === 0) {
      this.source.close();
      this.push(null);
      return;
    }
    if (this.#next && this.#queue.length < this.#jobs) this.#submit(this.#next);
    if (!this.#next && !this.#reading && !this.#submittedLast) this.#read(); // waits for a buffer if every one is in a job
  }

  #read(): void {
    this.#reading = true;
    this.options.pool.take((buffer) => {
      if (this.destroyed) {
        this.#reading = false;
        return this.options.pool.give(buffer);
      }
      this.source.read(buffer).then(
        (bytes) => {
          this.#reading = false;
          if (this.destroyed) return this.options.pool.give(buffer);
          const input = buffer.subarray(0, bytes);
          this.options.onBlock?.(input);
          this.#next = { buffer, input, last: bytes === 0 || this.source.ended };
          this.#advance();
        },
        (err: Error) => {
          this.#reading = false;
          this.options.pool.give(buffer);
          this.destroy(err);
        },
      );
    });
  }

  #submit(block: Block): void {
    this.#next = null;
    this.#submittedLast = block.last;
    const job: { output: Buffer | null } = { output: null };
    this.#queue.push(job);
    const options: zlib.ZlibOptions = {
      level: this.options.level,
      chunkSize: this.#chunkSize,
      finishFlush: block.last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
    };
    if (this.#windowBytes > 0) options.dictionary = this.#window.subarray(0, this.#windowBytes);
    this.#run(block.input, options, (err, output) => {
      this.options.pool.give(block.buffer);
      if (this.destroyed) return;
      if (err) return void this.destroy(err);
      job.output = output;
      this.#advance();
    });
    this.#keepWindow(block.input);
  }

  /** The last WINDOW bytes of input so far: the next block's dictionary. */
  #keepWindow(input: Buffer): void {
    const kept = Math.max(0, Math.min(WINDOW - input.length, this.#windowBytes));
    this.#window.copyWithin(0, this.#windowBytes - kept, this.#windowBytes);
    input.copy(this.#window, kept, Math.max(0, input.length - WINDOW));
    this.#windowBytes = kept + Math.min(input.length, WINDOW);
  }
}
