import { BLOCK, checkKey } from './aes.js';
import { cmacBlocks } from './cmac.js';

/**
 * AN10922 ("Symmetric key diversifications") section 2.2: AES-128 key diversification.
 * D = 0x01 || M, padded (0x80 then zeros) to 32 bytes when shorter; CMAC of D with the master key,
 * K2 on the last block when padded, K1 when M filled it (31 bytes).
 */
const DIV_CONSTANT = 0x01;
const DIV_LENGTH = 2 * BLOCK;
export const MAX_DIVERSIFICATION_INPUT = DIV_LENGTH - 1;

export function diversifyAes128(masterKey: Buffer, input: Buffer): Buffer {
  checkKey(masterKey, 'master key');
  if (input.length < 1 || input.length > MAX_DIVERSIFICATION_INPUT) {
    throw new RangeError(`diversification input must be 1 to ${MAX_DIVERSIFICATION_INPUT} bytes, got ${input.length}`);
  }
  const d = Buffer.alloc(DIV_LENGTH);
  d[0] = DIV_CONSTANT;
  input.copy(d, 1);
  const padded = input.length < MAX_DIVERSIFICATION_INPUT;
  if (padded) d[1 + input.length] = 0x80;
  return cmacBlocks(masterKey, d, padded);
}

const UID_LENGTHS = new Set([4, 7, 10]);

/**
 * A card's own key: M = UID || identifier, where the identifier names the application and the
 * key's purpose (AN10922's "AID || system identifier"), so each key of each card differs.
 */
export function diversifyCardKey(masterKey: Buffer, uid: Buffer, identifier: Buffer): Buffer {
  if (!UID_LENGTHS.has(uid.length)) throw new RangeError(`card UID must be 4, 7 or 10 bytes, got ${uid.length}`);
  if (identifier.length === 0) throw new RangeError('diversification identifier must not be empty');
  return diversifyAes128(masterKey, Buffer.concat([uid, identifier]));
}
