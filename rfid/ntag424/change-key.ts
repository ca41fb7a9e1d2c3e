// crc-32, not zlib.crc32: that came in Node 20.15, and the armhf build runs on 20.11.0 (issue 25).
import CRC32 from 'crc-32';
import { checkKey, xor } from './aes.js';

/**
 * ChangeKey's plain data before CommMode.Full (NT4H2421Gx 10.6.1, AN12196 "ChangeKey"):
 * - the key that opened the session: NewKey || KeyVer;
 * - any other key: (NewKey XOR OldKey) || KeyVer || CRC32NK, the CRC over NewKey only, so the card
 *   can check that the new key came through whole after undoing the XOR with the key it holds.
 */
export function changeKeyData(newKey: Buffer, version: number, oldKey: Buffer | null): Buffer {
  checkKey(newKey, 'new key');
  if (!Number.isInteger(version) || version < 0 || version > 0xff) throw new RangeError(`key version must be 0 to 255, got ${version}`);
  if (oldKey === null) return Buffer.concat([newKey, Buffer.from([version])]);
  checkKey(oldKey, 'old key');
  return Buffer.concat([xor(newKey, oldKey), Buffer.from([version]), jamCrc32(newKey)]);
}

/** JAMCRC: CRC-32 (IEEE 802.3) without the final inversion, little-endian, as DESFire/NTAG use it. */
export function jamCrc32(data: Buffer): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(~CRC32.buf(data) >>> 0);
  return out;
}
