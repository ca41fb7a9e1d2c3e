import { createCipheriv, createHmac, pbkdf2, randomBytes, type Cipher, type Hmac } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import type { Secret } from '../common/secret.js';
import { ctrKernel, type CtrKernel } from './ae2-ctr.js';

/**
 * WinZip AE-2 encryption of one entry's (compressed) data, AES-256 — the format 7-Zip opens.
 * Output: salt (16) + password verifier (2) + AES-CTR ciphertext + HMAC-SHA1 tag (10).
 *
 * AE's counter is little-endian and starts at 1, which Node's big-endian aes-256-ctr cannot
 * produce; the keystream is therefore AES-256-ECB (Node's crypto) over counter blocks, which
 * native/ae2-ctr writes and XORs into the data (the daemon runs jitless: in JavaScript this per-block
 * work would run in the interpreter).
 */

/** Compression method 99 in the zip headers marks an AE-x entry. */
export const METHOD_AES = 99;
/** Version needed to extract an AES entry (WinZip's specification). */
export const VERSION_AES = 51;
/** AE-2: the CRC field is zero (the HMAC authenticates instead, and a CRC would leak plaintext facts). */
const AE_VERSION = 2;
const STRENGTH_AES256 = 3;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
const VERIFIER_BYTES = 2;
const TAG_BYTES = 10;
const PBKDF2_ITERATIONS = 1000;
/** Bytes the encryption adds to an entry's compressed size. */
export const AE2_OVERHEAD = SALT_BYTES + VERIFIER_BYTES + TAG_BYTES;

const derive = promisify(pbkdf2);

/** The 0x9901 extra field: AE-2, vendor "AE", AES-256, and the real compression method. */
export function aesExtraField(compressionMethod: number): Buffer {
  const field = Buffer.alloc(11);
  field.writeUInt16LE(0x9901, 0);
  field.writeUInt16LE(7, 2);
  field.writeUInt16LE(AE_VERSION, 4);
  field.write('AE', 6, 'latin1');
  field.writeUInt8(STRENGTH_AES256, 8);
  field.writeUInt16LE(compressionMethod, 9);
  return field;
}

export class Ae2EncryptStream extends Transform {
  #cipher: Cipher | null = null;
  #mac: Hmac | null = null;
  /** Plaintext bytes encrypted so far: the keystream position. */
  #position = 0;
  #counters = Buffer.alloc(0);
  /** Bytes this stream has emitted (the entry's compressed size). */
  bytesOut = 0;

  constructor(
    private readonly password: Secret,
    private readonly salt: Buffer = randomBytes(SALT_BYTES),
    private readonly kernel: CtrKernel = ctrKernel,
  ) {
    super();
  }

  override _construct(callback: (error?: Error | null) => void): void {
    derive(Buffer.from(this.password.reveal(), 'utf8'), this.salt, PBKDF2_ITERATIONS, 2 * KEY_BYTES + VERIFIER_BYTES, 'sha1').then(
      (keys) => {
        this.#cipher = createCipheriv('aes-256-ecb', keys.subarray(0, KEY_BYTES), null).setAutoPadding(false);
        this.#mac = createHmac('sha1', keys.subarray(KEY_BYTES, 2 * KEY_BYTES));
        this.#emit(Buffer.concat([this.salt, keys.subarray(2 * KEY_BYTES)]));
        keys.fill(0);
        callback();
      },
      (err: Error) => callback(err),
    );
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (chunk.length === 0) return callback();
    const cipher = this.#cipher;
    const mac = this.#mac;
    if (!cipher || !mac) return callback(new Error('AE-2 keys not derived'));
    const phase = this.#position % 16;
    const firstBlock = (this.#position - phase) / 16;
    const blocks = Math.ceil((phase + chunk.length) / 16);
    if (this.#counters.length < blocks * 16) this.#counters = Buffer.alloc(blocks * 16);
    const counters = this.#counters.subarray(0, blocks * 16);
    this.kernel.counterBlocks(counters, firstBlock + 1);
    // The keystream buffer is this chunk's own: the ciphertext is written over it, at the data's phase.
    const keystream = cipher.update(counters);
    const ciphertext = keystream.subarray(phase, phase + chunk.length);
    this.kernel.xorInto(ciphertext, chunk, keystream, phase);
    mac.update(ciphertext);
    this.#position += chunk.length;
    this.#emit(ciphertext);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (!this.#mac) return callback(new Error('AE-2 keys not derived'));
    this.#emit(this.#mac.digest().subarray(0, TAG_BYTES));
    this.#cipher?.final();
    callback();
  }

  #emit(data: Buffer): void {
    this.bytesOut += data.length;
    this.push(data);
  }
}
