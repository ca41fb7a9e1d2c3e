import { randomBytes, timingSafeEqual } from 'node:crypto';
import { cbcDecrypt, cbcEncrypt, checkKey, xor, ZERO_IV } from './aes.js';
import { aesCmac } from './cmac.js';
import { CardAuthenticationError } from './errors.js';
import { Session } from './session.js';
import { exchange, expectLength, expectStatus, SW, type Transport } from './transport.js';

/** Source of RndA; crypto.randomBytes unless a test injects a worked example's value. */
export type RandomSource = (size: number) => Buffer;

export interface AuthenticateOptions {
  random?: RandomSource;
}

const RND = 16;
const COMMAND = 'AuthenticateEV2First';
/** NTAG 424 DNA has keys 0-4; DESFire EV2/EV3 application keys go up to 13. */
export const MAX_KEY_NO = 0x0d;

function rotateLeft(b: Buffer): Buffer {
  return Buffer.concat([b.subarray(1), b.subarray(0, 1)]);
}

/**
 * SV1 and SV2 (NT4H2421Gx 9.1.7, AN12196 "AuthenticateEV2First"), with RndA[15] the first byte:
 * label || 00 01 00 80 || RndA[15..14] || (RndA[13..8] XOR RndB[15..10]) || RndB[9..0] || RndA[7..0].
 */
export function sessionVectors(rndA: Buffer, rndB: Buffer): { sv1: Buffer; sv2: Buffer } {
  const context = Buffer.concat([rndA.subarray(0, 2), xor(rndA.subarray(2, 8), rndB.subarray(0, 6)), rndB.subarray(6, 16), rndA.subarray(8, 16)]);
  const fixed = Buffer.from([0x00, 0x01, 0x00, 0x80]);
  return {
    sv1: Buffer.concat([Buffer.from([0xa5, 0x5a]), fixed, context]),
    sv2: Buffer.concat([Buffer.from([0x5a, 0xa5]), fixed, context]),
  };
}

/** SesAuthENCKey = CMAC(Kx, SV1), SesAuthMACKey = CMAC(Kx, SV2). */
export function deriveSessionKeys(key: Buffer, rndA: Buffer, rndB: Buffer): { encKey: Buffer; macKey: Buffer } {
  const { sv1, sv2 } = sessionVectors(rndA, rndB);
  return { encKey: aesCmac(key, sv1), macKey: aesCmac(key, sv2) };
}

/**
 * AuthenticateEV2First (90 71, then 90 AF) with key `keyNo`: mutual proof of the AES key with a
 * fresh RndA every time, then the session keys. Resolves only when the card has proven the key.
 */
export async function authenticateEV2First(transport: Transport, keyNo: number, key: Buffer, options: AuthenticateOptions = {}): Promise<Session> {
  if (!Number.isInteger(keyNo) || keyNo < 0 || keyNo > MAX_KEY_NO) throw new RangeError(`key number must be 0 to ${MAX_KEY_NO}, got ${keyNo}`);
  checkKey(key);
  const hint =
    `it does not hold the key tried for key ${keyNo} (a card personalised elsewhere, or a copy), ` + 'or it delays authentication after failed attempts';

  // LenCap 00: no PCDcap2 sent, so the card answers with default capabilities.
  const first = await exchange(transport, Buffer.from([0x90, 0x71, 0x00, 0x00, 0x02, keyNo, 0x00, 0x00]), COMMAND);
  expectStatus(first, SW.more, COMMAND, hint);
  expectLength(first.data, RND, COMMAND);
  const rndB = cbcDecrypt(key, ZERO_IV, first.data);

  const rndA = (options.random ?? randomBytes)(RND);
  if (!Buffer.isBuffer(rndA) || rndA.length !== RND) throw new TypeError(`random source must give ${RND} bytes`);
  const proof = cbcEncrypt(key, ZERO_IV, Buffer.concat([rndA, rotateLeft(rndB)]));
  const second = await exchange(transport, Buffer.concat([Buffer.from([0x90, 0xaf, 0x00, 0x00, 0x20]), proof, Buffer.from([0x00])]), COMMAND);
  expectStatus(second, SW.ok, COMMAND, hint);
  expectLength(second.data, 2 * RND, COMMAND);

  const plain = cbcDecrypt(key, ZERO_IV, second.data);
  const ti = plain.subarray(0, 4);
  const rndAPrime = plain.subarray(4, 4 + RND);
  if (!timingSafeEqual(rndAPrime, rotateLeft(rndA))) {
    throw new CardAuthenticationError(COMMAND, 'cardProofWrong', 'a card with another key or an emulator; it counts as not authenticated');
  }
  const { encKey, macKey } = deriveSessionKeys(key, rndA, rndB);
  const session = new Session(transport, {
    keyNo,
    ti,
    encKey,
    macKey,
    pdCap2: plain.subarray(20, 26),
    pcdCap2: plain.subarray(26, 32),
  });
  for (const secret of [rndA, rndB, plain, encKey, macKey]) secret.fill(0);
  return session;
}
