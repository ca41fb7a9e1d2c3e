import { MalformedAnswerError, OverlongAnswerError, TruncatedAnswerError } from './errors.js';
import { exchange, expectLength, expectStatus, SW, type Transport } from './transport.js';

/** Commands sent before authentication, in clear. */

/** The NDEF application's ISO DF name (NFC Forum Type 4 Tag), where NTAG 424 DNA keeps its keys. */
export const NDEF_DF_NAME = Buffer.from('D2760000850101', 'hex');

const NOT_AUTH = 'the card wants an authentication first, which this command never needs';

/** ISO SELECT by DF name, P2 = 0C (no FCI): `00 A4 04 0C 07 D2 76 00 00 85 01 01 00`. */
export async function selectNdefApplication(transport: Transport): Promise<void> {
  const name = 'ISO SELECT of the NDEF application';
  const answer = await exchange(
    transport,
    Buffer.concat([Buffer.from([0x00, 0xa4, 0x04, 0x0c, NDEF_DF_NAME.length]), NDEF_DF_NAME, Buffer.from([0x00])]),
    name,
  );
  expectStatus(answer, SW.isoOk, name, NOT_AUTH);
  expectLength(answer.data, 0, name);
}

/** DESFire SelectApplication (90 5A) by its 3-byte AID, as sent on the wire (least significant byte first). */
export async function selectDesfireApplication(transport: Transport, aid: Buffer): Promise<void> {
  if (aid.length !== 3) throw new RangeError(`DESFire AID must be 3 bytes, got ${aid.length}`);
  const name = 'SelectApplication';
  const answer = await exchange(transport, Buffer.concat([Buffer.from([0x90, 0x5a, 0x00, 0x00, 0x03]), aid, Buffer.from([0x00])]), name);
  expectStatus(answer, SW.ok, name, NOT_AUTH);
  expectLength(answer.data, 0, name);
}

export interface VersionPart {
  vendorId: number;
  type: number;
  subtype: number;
  majorVersion: number;
  minorVersion: number;
  storageSize: number;
  protocol: number;
}

export interface CardVersion {
  hardware: VersionPart;
  software: VersionPart;
  /** The UID as GetVersion reports it (zeros on a card with random ID enabled: use GetCardUID). */
  uid: Buffer;
  /** Production details after the UID (batch number, fab key, week, year), as sent. */
  production: Buffer;
  /** NXP hardware type: 0x01 MIFARE DESFire, 0x04 NTAG. */
  family: 'desfire' | 'ntag' | 'other';
}

function versionPart(data: Buffer): VersionPart {
  return {
    vendorId: data[0] as number,
    type: data[1] as number,
    subtype: data[2] as number,
    majorVersion: data[3] as number,
    minorVersion: data[4] as number,
    storageSize: data[5] as number,
    protocol: data[6] as number,
  };
}

const NXP = 0x04;

/** GetVersion (90 60, then 90 AF twice), unauthenticated: tells an NTAG 424 DNA from a DESFire. */
export async function getVersion(transport: Transport): Promise<CardVersion> {
  const name = 'GetVersion';
  const more = Buffer.from([0x90, 0xaf, 0x00, 0x00, 0x00]);
  const hw = await exchange(transport, Buffer.from([0x90, 0x60, 0x00, 0x00, 0x00]), name);
  expectStatus(hw, SW.more, name, NOT_AUTH);
  expectLength(hw.data, 7, name);
  const sw = await exchange(transport, more, name);
  expectStatus(sw, SW.more, name, NOT_AUTH);
  expectLength(sw.data, 7, name);
  const prod = await exchange(transport, more, name);
  expectStatus(prod, SW.ok, name, NOT_AUTH);
  // 14 bytes, or 15 when the card adds its FabKey identifier.
  if (prod.data.length < 14) throw new TruncatedAnswerError(name, prod.data.length + 2, 16);
  if (prod.data.length > 15) throw new OverlongAnswerError(name, prod.data.length + 2, 17);
  const hardware = versionPart(hw.data);
  if (hardware.vendorId !== NXP) throw new MalformedAnswerError(name, `vendor ${hardware.vendorId} is not NXP`);
  return {
    hardware,
    software: versionPart(sw.data),
    uid: prod.data.subarray(0, 7),
    production: prod.data.subarray(7),
    family: hardware.type === 0x01 ? 'desfire' : hardware.type === 0x04 ? 'ntag' : 'other',
  };
}
