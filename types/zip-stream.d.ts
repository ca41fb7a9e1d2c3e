// The parts of zip-stream 7 / compress-commons 7 that agent/zip-writer.ts extends (they ship no types).
declare module 'zip-stream' {
  import { Transform, type Readable } from 'node:stream';

  export interface GeneralPurposeBit {
    useEncryption(on: boolean): void;
    useDataDescriptor(on: boolean): void;
  }

  export interface ZipArchiveEntry {
    getMethod(): number;
    setMethod(method: number): void;
    getGeneralPurposeBit(): GeneralPurposeBit;
    setVersionNeededToExtract(version: number): void;
    setExtra(extra: Buffer): void;
    setCrc(crc: number): void;
    setSize(size: number): void;
    setCompressedSize(size: number): void;
  }

  export interface ZipStreamOptions {
    zlib?: { level?: number };
    forceLocalTime?: boolean;
    comment?: string;
  }

  export default class ZipStream extends Transform {
    constructor(options?: ZipStreamOptions);
    options: ZipStreamOptions & { zlib: { level: number } };
    protected _normalizeEntry(entry: ZipArchiveEntry): void;
    protected _appendBuffer(entry: ZipArchiveEntry, source: Buffer, callback: (err: Error | null, entry?: ZipArchiveEntry) => void): void;
    protected _appendStream(entry: ZipArchiveEntry, source: Readable, callback: (err: Error | null, entry?: ZipArchiveEntry) => void): void;
    protected _smartStream(entry: ZipArchiveEntry, callback: (err: Error | null, entry?: ZipArchiveEntry) => void): NodeJS.WritableStream;
    protected _afterAppend(entry: ZipArchiveEntry): void;
    protected _writeLocalFileHeader(entry: ZipArchiveEntry): void;
    entry(source: Readable | Buffer, data: { name: string; date?: Date; mode?: number }, callback: (err: Error | null) => void): this;
    finalize(): void;
  }
}

// archiver 8: the core class, whose format module a subclass sets (what its own ZipArchive does).
declare module 'archiver' {
  import { Transform, type Readable } from 'node:stream';

  export interface ArchiverModule {
    append(source: Readable | Buffer, data: { name: string }, callback: (err: Error | null) => void): void;
    finalize(): void;
    on(event: string, listener: (...args: unknown[]) => void): unknown;
    pipe<T extends NodeJS.WritableStream>(destination: T): T;
    unpipe(destination?: NodeJS.WritableStream): unknown;
  }

  export class Archiver extends Transform {
    constructor(options?: { highWaterMark?: number });
    protected _format: string | false;
    protected _module: ArchiverModule | false;
    protected _supportsDirectory: boolean;
    protected _supportsSymlink: boolean;
    protected _modulePipe(): void;
    append(source: Readable | Buffer, data: { name: string; date?: Date; mode?: number; [more: string]: unknown }): this;
    finalize(): Promise<void>;
    abort(): this;
    pointer(): number;
  }
}
