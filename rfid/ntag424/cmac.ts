import { BLOCK, cbcEncrypt, encryptBlock, xor, ZERO_IV } from './aes.js';

/** AES-CMAC (RFC 4493) on node:crypto's AES-128. */

// RFC 4493 2.3: doubling in GF(2^128), R_b = 0x87.
function double(block: Buffer): Buffer {
  const out = Buffer.alloc(BLOCK);
  for (let i = 0; i < BLOCK; i++) {
    const next = i + 1 < BLOCK ? (block[i + 1] as number) >> 7 : 0;
    out[i] = (((block[i] as number) << 1) | next) & 0xff;
  }
  if (((block[0] as number) & 0x80) !== 0) out[BLOCK - 1] = (out[BLOCK - 1] as number) ^ 0x87;
  return out;
}

export function cmacSubkeys(key: Buffer): { k1: Buffer; k2: Buffer } {
  const l = encryptBlock(key, Buffer.alloc(BLOCK));
  const k1 = double(l);
  return { k1, k2: double(k1) };
}

/**
 * The CMAC core over data already laid out in whole blocks: the last block is XORed with K1 when
 * the message filled it, with K2 when it was padded. AN10922 pads to its own length, hence the split.
 */
export function cmacBlocks(key: Buffer, blocks: Buffer, padded: boolean): Buffer {
  if (blocks.length === 0 || blocks.length % BLOCK !== 0) throw new RangeError('CMAC input must be whole blocks');
  const { k1, k2 } = cmacSubkeys(key);
  const lastAt = blocks.length - BLOCK;
  const last = xor(blocks.subarray(lastAt), padded ? k2 : k1);
  const chain = cbcEncrypt(key, ZERO_IV, Buffer.concat([blocks.subarray(0, lastAt), last]));
  return chain.subarray(chain.length - BLOCK);
}

export function aesCmac(key: Buffer, message: Buffer): Buffer {
  const complete = message.length > 0 && message.length % BLOCK === 0;
  if (complete) return cmacBlocks(key, message, false);
  // RFC 4493 padding: 0x80 then zeros up to the next block boundary (one block for the empty message).
  const blocks = Buffer.alloc((Math.floor(message.length / BLOCK) + 1) * BLOCK);
  message.copy(blocks);
  blocks[message.length] = 0x80;
  return cmacBlocks(key, blocks, true);
}
