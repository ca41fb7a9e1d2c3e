import { PassThrough, Readable, Transform, Writable, pipeline, type TransformCallback } from 'node:stream';
import CRC32 from 'crc-32';
import * as zlib from 'node:zlib';
import { createDeflateRaw } from 'node:zlib';
import { Archiver, type ArchiverModule } from 'archiver';
import ZipStream, { type ZipArchiveEntry } from 'zip-stream';
import { Ae2EncryptStream, METHOD_AES, VERSION_AES, aesExtraField } from './ae2-encrypt.js';
import type { Secret } from '../common/secret.js';
import { ctrKernel, type CtrKernel } from './ae2-ctr.js';
import { exported } from './collect.js';
import { FilePump } from './file-pump.js';
import { DeflatePool, ParallelDeflate } from './parallel-deflate.js';

const METHOD_DEFLATED = 8;
const VERSION_DATA_DESCRIPTOR = 20;

type EntryCallback = (err: Error | null, entry?: ZipArchiveEntry) => void;

/**
 * zip-stream with every entry deflated natively and, given a password, encrypted as WinZip AE-2
 * (AES-256). The CRC of plain entries is zlib's native crc32: zip-stream's own is JavaScript,
 * which costs seconds per hundred megabytes in the jitless daemon.
 */
class LogZipStream extends ZipStream {
  constructor(
    private readonly password: Secret | null,
    private readonly level: number,
    private readonly kernel: CtrKernel,
  ) {
    super({ zlib: { level } });
  }

  protected override _normalizeEntry(entry: ZipArchiveEntry): void {
    super._normalizeEntry(entry);
    entry.setMethod(METHOD_DEFLATED);
    if (this.password) {
      entry.getGeneralPurposeBit().useEncryption(true);
      entry.setMethod(METHOD_AES);
      entry.setExtra(aesExtraField(METHOD_DEFLATED));
    }
  }

  protected override _appendBuffer(entry: ZipArchiveEntry, source: Buffer, callback: EntryCallback): void {
    this._appendStream(entry, Readable.from([source]), callback);
  }

  protected override _appendStream(entry: ZipArchiveEntry, source: Readable, callback: EntryCallback): void {
    const prepared = source instanceof PreparedEntry ? source : new PreparedEntry(() => source, this.password, this.level, new DeflatePool(), this.kernel);
    prepared.start();
    entry.getGeneralPurposeBit().useDataDescriptor(true);
    entry.setVersionNeededToExtract(this.password ? VERSION_AES : VERSION_DATA_DESCRIPTOR);
    this._writeLocalFileHeader(entry);
    const sink = new Writable({
      // 1, not 0: any chunk still fills it (no buffering here), and on Node 20.11 (armhf's, issue 25)
      // a pipeline into a Writable of highWaterMark 0 never ends its source.
      highWaterMark: 1,
      write: (chunk: Buffer, _encoding, done) => {
        exported(chunk.length);
        if (this.write(chunk)) done();
        else this.once('drain', () => done());
      },
    });
    pipeline(prepared, sink, (err) => {
      entry.setCrc(this.password ? 0 : prepared.crc); // AE-2 stores no CRC
      entry.setSize(prepared.size);
      entry.setCompressedSize(prepared.compressedSize);
      this._afterAppend(entry);
      callback(err ?? null, entry);
    });
  }
}

/**
 * One entry's data, deflated (zlib on libuv's threads, agent/logs/parallel-deflate.ts) and
 * encrypted, ready to be written. A file's entry starts the next one once it has submitted its
 * last block, so the pool's slots it no longer needs keep the cores busy across the boundary; the
 * slots and buffers are the export's, so memory stays bounded however many entries run.
 */
export class PreparedEntry extends PassThrough {
  next: PreparedEntry | null = null;
  #started = false;
  readonly #plain: Tally;
  readonly #compressed = new Tally(false);

  constructor(
    private readonly open: () => Readable | FilePump,
    private readonly password: Secret | null,
    private readonly level: number,
    private readonly pool: DeflatePool,
    private readonly kernel: CtrKernel = ctrKernel,
  ) {
    super();
    this.#plain = new Tally(password === null);
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    const source = this.open();
    const stages: Array<NodeJS.ReadableStream | NodeJS.WritableStream> =
      source instanceof FilePump
        ? [
            new ParallelDeflate(source, {
              level: this.level,
              pool: this.pool,
              onBlock: (block) => this.#plain.count(block),
              onLastSubmitted: () => this.next?.start(),
            }),
          ]
        : [source, this.#plain, createDeflateRaw({ level: this.level })];
    if (this.password) stages.push(new Ae2EncryptStream(this.password, undefined, this.kernel));
    stages.push(this.#compressed, this);
    pipeline(stages, (err) => {
      if (err) this.destroy(err);
    });
  }

  get crc(): number {
    return this.#plain.crc;
  }
  get size(): number {
    return this.#plain.bytes;
  }
  get compressedSize(): number {
    return this.#compressed.bytes;
  }
}

/**
 * zlib's native CRC-32 where the runtime has it (Node ≥ 20.15); on older ones (armhf's Node 20.11.0,
 * issue 25) crc-32, the JavaScript one zip-stream itself uses. Both give the unsigned value.
 */
const crc32: (data: Buffer, value: number) => number =
  (zlib as { crc32?: (data: Buffer, value: number) => number }).crc32 ?? ((data, value) => CRC32.buf(data, value) >>> 0);

/** Counts the bytes passing through, and their CRC-32 when asked. */
class Tally extends Transform {
  bytes = 0;
  crc = 0;
  constructor(private readonly withCrc: boolean) {
    super();
  }
  count(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.withCrc) this.crc = crc32(chunk, this.crc);
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.count(chunk);
    callback(null, chunk);
  }
}

class LogZipModule implements ArchiverModule {
  readonly #engine: LogZipStream;
  constructor(password: Secret | null, level: number, kernel: CtrKernel) {
    this.#engine = new LogZipStream(password, level, kernel);
  }
  append(source: Readable | Buffer, data: { name: string; prepared?: PreparedEntry }, callback: (err: Error | null) => void): void {
    // archiver pipes every stream source through a PassThrough of its own; a prepared entry travels in `data`
    this.#engine.entry(data.prepared ?? source, data, callback);
  }
  finalize(): void {
    this.#engine.finalize();
  }
  on(event: string, listener: (...args: unknown[]) => void): unknown {
    return this.#engine.on(event, listener);
  }
  pipe<T extends NodeJS.WritableStream>(destination: T): T {
    return this.#engine.pipe(destination);
  }
  unpipe(destination?: NodeJS.WritableStream): unknown {
    return this.#engine.unpipe(destination);
  }
}

/** An archiver zip archive whose entries are AES-256 encrypted (AE-2) when a password is given. */
export class LogZipArchive extends Archiver {
  #last: PreparedEntry | null = null;
  readonly #pool = new DeflatePool();

  constructor(
    private readonly password: Secret | null,
    private readonly level: number,
    private readonly kernel: CtrKernel = ctrKernel,
  ) {
    super({ highWaterMark: 256 * 1024 });
    this._format = 'zip';
    this._module = new LogZipModule(password, level, kernel);
    this._supportsDirectory = true;
    this._supportsSymlink = false;
    this._modulePipe();
  }

  /** Adds an entry whose data `open` provides when its turn (or the one before it) comes. */
  appendLazy(open: () => Readable | FilePump, data: { name: string; date?: Date; mode?: number }): this {
    const entry = new PreparedEntry(open, this.password, this.level, this.#pool, this.kernel);
    if (this.#last) this.#last.next = entry;
    this.#last = entry;
    return this.append(Buffer.alloc(0), { ...data, prepared: entry });
  }
}
