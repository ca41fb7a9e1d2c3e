import { createCipheriv, createDecipheriv } from 'node:crypto';

/** AES-128 primitives without padding: the card protocol pads by its own rules (ISO/IEC 9797-1 M2). */
export const BLOCK = 16;
export const ZERO_IV: Readonly<Buffer> = Buffer.alloc(BLOCK);

/** Refuses anything but a 16-byte key; the message never shows key bytes. */
export function checkKey(key: Buffer, what = 'AES-128 key'): void {
  if (!Buffer.isBuffer(key) || key.length !== BLOCK) {
    throw new TypeError(`${what} must be ${BLOCK} bytes`);
  }
}

function checkBlocks(data: Buffer): void {
  if (data.length % BLOCK !== 0) throw new RangeError(`AES data must be a multiple of ${BLOCK} bytes, got ${data.length}`);
}

export function encryptBlock(key: Buffer, block: Buffer): Buffer {
  checkKey(key);
  if (block.length !== BLOCK) throw new RangeError(`AES block must be ${BLOCK} bytes`);
  const cipher = createCipheriv('aes-128-ecb', key, null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(block), cipher.final()]);
}

export function cbcEncrypt(key: Buffer, iv: Buffer, data: Buffer): Buffer {
  checkKey(key);
  checkBlocks(data);
  const cipher = createCipheriv('aes-128-cbc', key, iv);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

export function cbcDecrypt(key: Buffer, iv: Buffer, data: Buffer): Buffer {
  checkKey(key);
  checkBlocks(data);
  const decipher = createDecipheriv('aes-128-cbc', key, iv);
  decipher.setAutoPadding(false);
  return Buffer.concat([decipher.update(data), decipher.final()]);
}

export function xor(a: Buffer, b: Buffer): Buffer {
  if (a.length !== b.length) throw new RangeError('xor of buffers of different lengths');
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ^ (b[i] as number);
  return out;
}

/** ISO/IEC 9797-1 padding method 2: always 0x80, then zeros up to a whole block. */
export function padM2(data: Buffer): Buffer {
  const out = Buffer.alloc((Math.floor(data.length / BLOCK) + 1) * BLOCK);
  data.copy(out);
  out[data.length] = 0x80;
  return out;
}

/** Undoes padM2; null when the padding is not exactly 0x80 then zeros within the last block. */
export function unpadM2(data: Buffer): Buffer | null {
  let i = data.length - 1;
  while (i >= 0 && data[i] === 0x00) i--;
  if (i < 0 || data[i] !== 0x80 || data.length - i > BLOCK) return null;
  return data.subarray(0, i);
}
