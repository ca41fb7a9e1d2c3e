import { availableParallelism } from 'node:os';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';

/**
 * One deflate job's input. Each block costs the main thread (interpreted: the job, its output's way
 * through the zip and the socket) the same whatever its size. `ccguard logs export` of 600 MB on 2
 * cores, 3 jobs (bench:logs): 1 MiB 3.98 s, 2 MiB 2.92 s, 4 MiB 2.89 s (daemon peak 71, 76, 87 MiB);
 * 7z -mx=1 -mmt=1 5.1 s. The dictionary carried over keeps the output within 0.1 % of one stream.
 */
export const BLOCK_BYTES = 2 * 1024 * 1024;
/** Deflate's window: what a block may refer back to in the one before. */
const WINDOW = 32 * 1024;

/**
 * Jobs in flight: one per core (at least 2, at most 4) and one more, so a core that finishes a
 * block has the next while the main thread passes outputs on (600 MB, 2 MiB blocks: 2 jobs 3.04 s,
 * 3 jobs 2.92 s). Each holds a block of input and one of output until its output is passed on.
 */
export function defaultJobs(): number {
  return Math.min(Math.max(availableParallelism(), 2), 4) + 1;
}

/** zlib.deflateRaw's signature: a job on libuv's pool. It must take `options.dictionary` before it returns (zlib copies it). */
export type DeflateJob = (input: Buffer, options: zlib.ZlibOptions, done: (err: Error | null, output: Buffer) => void) => void;

/**
 * zlib.deflateRaw in one pass on the pool: the input written with the final flush at once. zlib.deflateRaw
 * itself makes two (the data, then the flush), and between them the thread waits for the main one.
 * The output (one chunk: chunkSize is deflate's bound) is emitted, the stream flowing, before the
 * write's callback.
 */
export const deflateBlock: DeflateJob = (input, options, done) => {
  const deflate = zlib.createDeflateRaw({ ...options, flush: options.finishFlush });
  const output: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => output.push(chunk));
  deflate.once('error', (err) => done(err, input));
  deflate.write(input, (err) => {
    if (err) return;
    deflate.close();
    done(null, output.length === 1 ? (output[0] as Buffer) : Buffer.concat(output));
  });
};

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

/** Waiters served first come, first served; on a later microtask, so no caller is re-entered. */
class Queue<T> {
  readonly #waiting: Array<(value: T) => void> = [];
  readonly #ready: T[] = [];
  take(then: (value: T) => void): void {
    const value = this.#ready.pop();
    if (value === undefined) this.#waiting.push(then);
    else then(value);
  }
  get idle(): number {
    return this.#ready.length;
  }
  give(value: T): void {
    const waiting = this.#waiting.shift();
    if (waiting) queueMicrotask(() => waiting(value));
    else this.#ready.push(value);
  }
}

/**
 * What every entry of an export shares: `jobs` slots for jobs in flight (held from submission until
 * the output is passed on) and jobs + 1 input buffers (held from the read until the job is done,
 * so the next read overlaps the jobs), allocated on first use and reused.
 */
export class DeflatePool {
  readonly buffers = new Queue<Buffer>();
  readonly slots = new Queue<true>();
  #allocated = 0;
  constructor(
    readonly jobs = defaultJobs(),
    readonly blockBytes = BLOCK_BYTES,
  ) {
    for (let k = 0; k < jobs; k++) this.slots.give(true);
  }
  takeBuffer(then: (buffer: Buffer) => void): void {
    if (this.buffers.idle === 0 && this.#allocated <= this.jobs) {
      this.#allocated++;
      this.buffers.give(Buffer.allocUnsafeSlow(this.blockBytes));
    }
    this.buffers.take(then);
  }
}

export interface ParallelDeflateOptions {
  level: number;
  pool: DeflatePool;
  run?: DeflateJob;
  /** Each block of input, in order, on the main thread (the entry's size and CRC). */
  onBlock?: (input: Buffer) => void;
  /** The last block is submitted: this stream takes no more slots, the next entry may start. */
  onLastSubmitted?: () => void;
}

interface Block {
  buffer: Buffer;
  input: Buffer;
  last: boolean;
}

interface Job {
  output: Buffer | null;
  /** The job holds one of the pool's slots. */
  slot: boolean;
}

/**
 * A raw deflate stream of `source` compressed on several of libuv's threads at once, the way pigz
 * does it: each block is an independent zlib job primed with the previous block's last 32 KiB;
 * every block but the last ends with a sync flush (byte-aligned, not final), the last with
 * Z_FINISH, so the outputs concatenated in order are one valid deflate stream. Jobs hold a slot of
 * the pool until their output is passed on, in order whichever finishes first; a block is read
 * only into a free buffer of the pool: memory stays a few blocks whatever the size of the source.
 */
export class ParallelDeflate extends Readable {
  /** Jobs holding a slot, in order, until their output is pushed. */
  readonly #queue: Job[] = [];
  /** Reading, or waiting for a buffer or a slot. */
  #busy = false;
  #submittedLast = false;
  #wanted = false;
  readonly #window = Buffer.allocUnsafeSlow(WINDOW);
  #windowBytes = 0;
  readonly #run: DeflateJob;
  readonly #chunkSize: number;
  readonly #onAbort = (): void => void this.destroy(new Error('log export aborted'));

  constructor(
    private readonly source: BlockSource,
    private readonly options: ParallelDeflateOptions,
  ) {
    super();
    this.#run = options.run ?? deflateBlock;
    // deflateBound: a block's output in one piece even if it does not compress (no concatenation).
    this.#chunkSize = options.pool.blockBytes + (options.pool.blockBytes >> 10) + 64;
    source.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  override _read(): void {
    this.#wanted = true;
    this.#advance();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    // Jobs in flight give their slot back when they end; those done but not passed on, now.
    for (const job of this.#queue) if (job.output) this.#release(job);
    // The export keeps its sources to the end (its progress): they must not keep this stream, its entry's pipeline, alive.
    this.source.signal?.removeEventListener('abort', this.#onAbort);
    this.source.close();
    callback(err);
  }

  #advance(): void {
    if (this.destroyed) return;
    for (let output = this.#queue[0]?.output; this.#wanted && output; output = this.#queue[0]?.output) {
      const job = this.#queue.shift() as Job;
      this.#wanted = this.push(output);
      this.#release(job);
    }
    if (this.#submittedLast && this.#queue.length === 0) this.push(null);
    else if (!this.#busy && !this.#submittedLast) this.#nextBlock();
  }

  /** Reads the next block into a free buffer, then submits it once a slot is free. */
  #nextBlock(): void {
    const { pool } = this.options;
    this.#busy = true;
    pool.takeBuffer((buffer) => {
      if (this.destroyed) return pool.buffers.give(buffer);
      this.source.read(buffer).then(
        (bytes) => {
          if (this.destroyed) return pool.buffers.give(buffer);
          const input = buffer.subarray(0, bytes);
          this.options.onBlock?.(input);
          const block = { buffer, input, last: bytes === 0 || this.source.ended };
          pool.slots.take(() => {
            if (this.destroyed) {
              pool.slots.give(true);
              return pool.buffers.give(buffer);
            }
            this.#busy = false;
            this.#submit(block);
            this.#advance();
          });
        },
        (err: Error) => {
          pool.buffers.give(buffer);
          this.destroy(err);
        },
      );
    });
  }

  #submit(block: Block): void {
    this.#submittedLast = block.last;
    const job: Job = { output: null, slot: true };
    this.#queue.push(job);
    const options: zlib.ZlibOptions = {
      level: this.options.level,
      chunkSize: this.#chunkSize,
      finishFlush: block.last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
    };
    if (this.#windowBytes > 0) options.dictionary = this.#window.subarray(0, this.#windowBytes);
    this.#run(block.input, options, (err, output) => {
      this.options.pool.buffers.give(block.buffer);
      if (this.destroyed || err) {
        this.#release(job);
        return void this.destroy(err ?? undefined);
      }
      job.output = output;
      this.#advance();
    });
    if (block.last) this.options.onLastSubmitted?.();
    else this.#keepWindow(block.input);
  }

  #release(job: Job): void {
    if (!job.slot) return;
    job.slot = false;
    this.options.pool.slots.give(true);
  }

  /** The last WINDOW bytes of input so far: the next block's dictionary. */
  #keepWindow(input: Buffer): void {
    const kept = Math.max(0, Math.min(WINDOW - input.length, this.#windowBytes));
    this.#window.copyWithin(0, this.#windowBytes - kept, this.#windowBytes);
    input.copy(this.#window, kept, Math.max(0, input.length - WINDOW));
    this.#windowBytes = kept + Math.min(input.length, WINDOW);
  }
}
