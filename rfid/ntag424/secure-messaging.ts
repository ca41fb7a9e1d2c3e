import { BLOCK, cbcDecrypt, cbcEncrypt, encryptBlock, padM2, unpadM2 } from './aes.js';
import { aesCmac } from './cmac.js';

/**
 * Secure messaging after AuthenticateEV2First (NTAG 424 DNA datasheet NT4H2421Gx 9.1.4-9.1.10,
 * AN12196 section 4): IVs from TI and the command counter, MACs truncated to their odd bytes.
 */

export const MACT_LENGTH = 8;
/** The counter is 16 bits; at its end only a new authentication continues. */
export const MAX_COMMAND_COUNTER = 0xffff;

const IV_COMMAND = Buffer.from([0xa5, 0x5a]);
const IV_RESPONSE = Buffer.from([0x5a, 0xa5]);

/** MACt: the bytes at odd positions (1, 3, ... 15) of the 16-byte CMAC. */
export function truncateMac(cmac: Buffer): Buffer {
  const out = Buffer.alloc(MACT_LENGTH);
  for (let i = 0; i < MACT_LENGTH; i++) out[i] = cmac[2 * i + 1] as number;
  return out;
}

/** CmdCtr travels little-endian in IVs and MAC inputs. */
export function counterBytes(counter: number): Buffer {
  if (!Number.isInteger(counter) || counter < 0 || counter > MAX_COMMAND_COUNTER) throw new RangeError(`command counter out of range: ${counter}`);
  const out = Buffer.alloc(2);
  out.writeUInt16LE(counter);
  return out;
}

function iv(label: Buffer, encKey: Buffer, ti: Buffer, counter: number): Buffer {
  return encryptBlock(encKey, Buffer.concat([label, ti, counterBytes(counter), Buffer.alloc(BLOCK - 8)]));
}

/** IV for command data: E(SesAuthENCKey, A5 5A || TI || CmdCtr || 00*8). */
export function commandIv(encKey: Buffer, ti: Buffer, counter: number): Buffer {
  return iv(IV_COMMAND, encKey, ti, counter);
}

/** IV for response data: E(SesAuthENCKey, 5A A5 || TI || CmdCtr || 00*8), CmdCtr already incremented. */
export function responseIv(encKey: Buffer, ti: Buffer, counter: number): Buffer {
  return iv(IV_RESPONSE, encKey, ti, counter);
}

/** MACt over Cmd || CmdCtr || TI || CmdHeader || CmdData (the data as sent, i.e. encrypted in Full mode). */
export function commandMac(macKey: Buffer, ins: number, counter: number, ti: Buffer, header: Buffer, data: Buffer): Buffer {
  return truncateMac(aesCmac(macKey, Buffer.concat([Buffer.from([ins]), counterBytes(counter), ti, header, data])));
}

/** MACt over RC || CmdCtr || TI || RespData, CmdCtr already incremented; RC is the second status byte. */
export function responseMac(macKey: Buffer, rc: number, counter: number, ti: Buffer, data: Buffer): Buffer {
  return truncateMac(aesCmac(macKey, Buffer.concat([Buffer.from([rc]), counterBytes(counter), ti, data])));
}

/** CommMode.Full command data: padded (0x80, zeros; always at least one byte) and AES-CBC encrypted. */
export function encryptCommandData(encKey: Buffer, ti: Buffer, counter: number, data: Buffer): Buffer {
  return cbcEncrypt(encKey, commandIv(encKey, ti, counter), padM2(data));
}

/** CommMode.Full response data, decrypted and unpadded; null when length or padding is wrong. */
export function decryptResponseData(encKey: Buffer, ti: Buffer, counter: number, data: Buffer): Buffer | null {
  if (data.length === 0 || data.length % BLOCK !== 0) return null;
  return unpadM2(cbcDecrypt(encKey, responseIv(encKey, ti, counter), data));
}
