/**
 * The pre-built blocklist of leaked passwords, common words and names (built by
 * packaging/build-blocklist.mjs). Entries are 64-bit hashes of the lower-case word, sorted, so a
 * lookup is a binary search over typed-array views of the file: nothing is parsed at load time.
 * With n ≈ 3.4·10^5 entries a word that is not listed matches by chance with probability n/2^64 ≈ 2·10^-14.
 *
 * File layout (little-endian): "CCBL", u32 version, u32 count, u32 longest word (UTF-16 units),
 * then count × u32 high halves, count × u32 low halves, count × u8 meta (see META_*).
 */
export const BLOCKLIST_MAGIC = 0x4c424343; // "CCBL" read as a little-endian u32
export const BLOCKLIST_VERSION = 1;
const HEADER_BYTES = 16;
/** Meta bit: the word is in a list of leaked passwords (not only a word or a name). */
export const META_LEAKED = 0x80;
/** Meta bits 0–6: the word's frequency rank as round(20·log10(rank)). */
export const META_RANK_MASK = 0x7f;
export const RANK_STEPS_PER_DECADE = 20;

export interface ListedWord {
  /** log10 of the word's frequency rank (0 for the most common). */
  rankLog10: number;
  leaked: boolean;
}

/** Incremental hash state: two independent 32-bit hashes over UTF-16 code units. */
export interface WordHash {
  a: number;
  b: number;
}

export const HASH_SEED: Readonly<WordHash> = { a: 0x811c9dc5, b: 0x9747b28c };

export function hashStep(h: WordHash, code: number): void {
  h.a = Math.imul(h.a ^ code, 0x01000193) >>> 0;
  const b = Math.imul(h.b ^ code, 0x5bd1e995);
  h.b = (b ^ (b >>> 15)) >>> 0;
}

function fmix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The 64-bit key (high, low) of a word hashed so far; `length` is its length in code units. */
export function hashKey(h: WordHash, length: number): [number, number] {
  return [fmix32(h.a ^ length), fmix32((h.b + Math.imul(length, 0x9e3779b9)) >>> 0)];
}

export function wordKey(word: string): [number, number] {
  const h = { ...HASH_SEED };
  for (let i = 0; i < word.length; i++) hashStep(h, word.charCodeAt(i));
  return hashKey(h, word.length);
}

/**
 * The same lookups done natively (native/blocklist-scan), over the file's bytes as they are: the
 * daemon runs without the JIT, where hashing and binary search in JavaScript run in the
 * interpreter. Given by whoever loads the file; without it, this module does the work itself.
 */
export interface BlocklistKernel {
  /** The meta byte of a word, or -1 when it is not listed. */
  lookup(file: Uint8Array, word: string): number;
  /** (start, end, meta) of every listed substring of `text` from 3 to `maxLength` code units, by start then end. */
  scan(file: Uint8Array, text: string, maxLength: number): Int32Array;
}

/** Listed substrings are at least this long (shorter ones are not in the file). */
const MIN_SCANNED = 3;

function entryOf(meta: number): ListedWord {
  return { rankLog10: (meta & META_RANK_MASK) / RANK_STEPS_PER_DECADE, leaked: (meta & META_LEAKED) !== 0 };
}

export class Blocklist {
  readonly #bytes: Uint8Array;
  readonly #kernel: BlocklistKernel | null;
  readonly #hi: Uint32Array;
  readonly #lo: Uint32Array;
  readonly #meta: Uint8Array;
  /** Longest listed word: longer candidates need no lookup. */
  readonly maxLength: number;

  /** `bytes` must start at a 4-byte aligned offset (a freshly read file does). */
  constructor(bytes: Uint8Array, kernel: BlocklistKernel | null = null) {
    if (bytes.byteOffset % 4 !== 0 || bytes.byteLength < HEADER_BYTES) throw new Error('blocklist: truncated or misaligned data');
    const header = new Uint32Array(bytes.buffer, bytes.byteOffset, 4);
    const [magic, version, count, maxLength] = header as unknown as [number, number, number, number];
    if (magic !== BLOCKLIST_MAGIC || version !== BLOCKLIST_VERSION) throw new Error('blocklist: not a version 1 blocklist file');
    if (bytes.byteLength !== HEADER_BYTES + count * 9) throw new Error('blocklist: file size does not match its entry count');
    this.#hi = new Uint32Array(bytes.buffer, bytes.byteOffset + HEADER_BYTES, count);
    this.#lo = new Uint32Array(bytes.buffer, bytes.byteOffset + HEADER_BYTES + count * 4, count);
    this.#meta = new Uint8Array(bytes.buffer, bytes.byteOffset + HEADER_BYTES + count * 8, count);
    this.maxLength = maxLength;
    this.#bytes = bytes;
    this.#kernel = kernel;
  }

  /** Whether lookups run natively. */
  get native(): boolean {
    return this.#kernel !== null;
  }

  get size(): number {
    return this.#hi.length;
  }

  /** The entry of a lower-case word, or null. */
  get(word: string): ListedWord | null {
    if (this.#kernel) {
      const meta = this.#kernel.lookup(this.#bytes, word);
      return meta < 0 ? null : entryOf(meta);
    }
    const [hi, lo] = wordKey(word);
    return this.getKey(hi, lo);
  }

  /** (start, end, meta) of every listed substring of `text` from 3 to `maxLength` code units, by start then end. */
  scan(text: string, maxLength: number): Int32Array {
    if (this.#kernel) return this.#kernel.scan(this.#bytes, text, maxLength);
    const hits: number[] = [];
    for (let i = 0; i < text.length; i++) {
      const h = { ...HASH_SEED };
      for (let j = i; j < Math.min(text.length, i + maxLength); j++) {
        hashStep(h, text.charCodeAt(j));
        const length = j - i + 1;
        if (length < MIN_SCANNED) continue;
        const [hi, lo] = hashKey(h, length);
        const meta = this.#metaOf(hi, lo);
        if (meta >= 0) hits.push(i, j + 1, meta);
      }
    }
    return Int32Array.from(hits);
  }

  getKey(hi: number, lo: number): ListedWord | null {
    const meta = this.#metaOf(hi, lo);
    return meta < 0 ? null : entryOf(meta);
  }

  #metaOf(hi: number, lo: number): number {
    let low = 0;
    let high = this.#hi.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const h = this.#hi[mid] as number;
      const l = this.#lo[mid] as number;
      if (h < hi || (h === hi && l < lo)) low = mid + 1;
      else if (h > hi || l > lo) high = mid - 1;
      else return this.#meta[mid] as number;
    }
    return -1;
  }
}
