/**
 * Secure master cards (NTAG 424 DNA): the card's own keys, recognition by AES mutual
 * authentication, and moving a card's keys between factory values and this station's, in the
 * order that lets a card pulled at any point be finished or undone the next time it is presented.
 */
import { timingSafeEqual } from 'node:crypto';
import {
  authenticateEV2First,
  CardAuthenticationError,
  CardError,
  diversifyCardKey,
  NDEF_DF_NAME,
  selectNdefApplication,
  type Session,
  type Transport,
} from '../../../rfid/ntag424/index.js';
import { CardGoneError, CardNoAnswerError, type CardChannel } from '../../../rfid/reader-watch.js';
import { CcguardError } from '../../common/errors.js';

/** Key 0: the application master key (needed to change keys); key 2: the key recognition uses. */
export const MASTER_KEY_NO = 0;
export const AUTH_KEY_NO = 2;
/**
 * Key 4: the key a double station's slave recognises the card with, so that a slave (root on it)
 * holds nothing that answers as key 2 to the master. Key 4 because no file's default access
 * rights name it (key 3 may write file 03, key 2 read it): it opens nothing on the card.
 */
export const SLAVE_KEY_NO = 4;
/** Written with the station's keys; factory keys have version 0. */
export const KEY_VERSION = 1;
const FACTORY_KEY = Buffer.alloc(16);
const TAG = Buffer.from('ccguard', 'ascii');
/** The slave key's own label: derived apart from the station's keys, not merely by its number. */
const SLAVE_TAG = Buffer.from('ccguard-slave', 'ascii');

export interface CardKeys {
  /** Key 0, the application master key. */
  master: Buffer;
  /** Key 2, the recognition key. */
  auth: Buffer;
  /** Key 4, the slaves' recognition key. */
  slave: Buffer;
}

/**
 * AN10922 diversification: identifier = label || NDEF AID || key number, so no two keys are equal;
 * the slave key's label is "ccguard-slave" (21 bytes with the AID and number: fits a 10-byte UID).
 */
export function cardKeys(cardMasterKey: Buffer, uid: Buffer): CardKeys {
  const key = (tag: Buffer, keyNo: number): Buffer => diversifyCardKey(cardMasterKey, uid, Buffer.concat([tag, NDEF_DF_NAME, Buffer.from([keyNo])]));
  return { master: key(TAG, MASTER_KEY_NO), auth: key(TAG, AUTH_KEY_NO), slave: key(SLAVE_TAG, SLAVE_KEY_NO) };
}

/** Wipes a card's keys from memory. */
export function wipeKeys(keys: CardKeys): void {
  keys.master.fill(0);
  keys.auth.fill(0);
  keys.slave.fill(0);
}

/** The card is not an NTAG 424 DNA (it refused the SELECT of the NDEF application). */
export class NotSecureCardError extends CcguardError {
  readonly code = 'refused' as const;
  constructor() {
    super(
      'this card is not an NTAG 424 DNA (it has no NDEF application with AES keys); nothing enrolled. To enrol a plain card by its UID (copyable), add --uid-only',
    );
  }
}

/** Neither factory keys nor this station's: personalised elsewhere. */
export class ForeignCardError extends CcguardError {
  readonly code = 'refused' as const;
  constructor() {
    super("this card's keys are neither factory keys nor this station's: it was personalised elsewhere; nothing enrolled");
  }
}

/** The card answered GetCardUID with another UID than it showed the reader (a relay or a forged card). */
export class UidMismatchError extends CcguardError {
  readonly code = 'refused' as const;
  constructor() {
    super('the card proved the key but its UID over the secure channel differs from the one it showed the reader');
  }
}

/** The error's kind for events: no key bytes, no UID, no card answer. */
export function failureKind(err: unknown): string {
  if (err instanceof CardAuthenticationError) return err.reason;
  if (err instanceof CardError) return err.kind;
  if (err instanceof CardGoneError) return 'cardRemoved';
  if (err instanceof CardNoAnswerError) return 'timeout';
  if (err instanceof UidMismatchError) return 'uidMismatch';
  if (err instanceof NotSecureCardError) return 'notNtag424';
  if (err instanceof ForeignCardError) return 'foreignKeys';
  return 'unexpected';
}

const transportOf =
  (channel: CardChannel): Transport =>
  (apdu) =>
    channel.transmit(apdu);

/** SELECT of the NDEF application; a card without it (a plain card, a UID clone) is no NTAG 424 DNA. */
async function select(transport: Transport): Promise<void> {
  try {
    await selectNdefApplication(transport);
  } catch (err) {
    if (err instanceof CardError && err.kind === 'unexpectedStatus') throw new NotSecureCardError();
    throw err;
  }
}

async function authenticate(transport: Transport, keyNo: number, key: Buffer): Promise<Session> {
  // A failed authentication ends the card's session; a new SELECT starts every attempt from a known state.
  await select(transport);
  return authenticateEV2First(transport, keyNo, key);
}

/**
 * Recognition: the card proves key `keyNo` (2 on the station that enrolled it, 4 on its slaves)
 * with a fresh challenge, then sends its real UID over CommMode.Full, which must equal the UID the
 * reader read. Resolves only for the real card.
 */
export async function verifySecureCard(channel: CardChannel, authKey: Buffer, uid: Buffer, keyNo: number = AUTH_KEY_NO): Promise<void> {
  const transport = transportOf(channel);
  const session = await authenticate(transport, keyNo, authKey);
  try {
    const real = await session.getCardUid();
    if (real.length !== uid.length || !timingSafeEqual(real, uid)) throw new UidMismatchError();
  } finally {
    session.close();
  }
}

/** Which value a key holds: this station's, the factory's, or one we do not know. */
export type KeyHolder = 'ours' | 'factory' | 'unknown';

/** Tries the station's key first, then the factory key; a card error other than a refusal is thrown. */
async function probeKey(transport: Transport, keyNo: number, ours: Buffer): Promise<KeyHolder> {
  for (const [holder, key] of [
    ['ours', ours],
    ['factory', FACTORY_KEY],
  ] as const) {
    try {
      (await authenticate(transport, keyNo, key)).close();
      return holder;
    } catch (err) {
      if (!(err instanceof CardAuthenticationError)) throw err;
    }
  }
  return 'unknown';
}

export interface CardKeyState {
  master: KeyHolder;
  auth: KeyHolder;
  slave: KeyHolder;
}

/** Which keys the card holds now (SELECT refused → NotSecureCardError). */
export async function probeCard(channel: CardChannel, keys: CardKeys): Promise<CardKeyState> {
  const transport = transportOf(channel);
  await select(transport);
  const master = await probeKey(transport, MASTER_KEY_NO, keys.master);
  const auth = await probeKey(transport, AUTH_KEY_NO, keys.auth);
  const slave = await probeKey(transport, SLAVE_KEY_NO, keys.slave);
  return { master, auth, slave };
}

/**
 * Sets keys 2, 4 and 0 to `target` (this station's keys, or factory zero), key 0 last: until key 0
 * changes, the factory key 0 can still put keys 2 and 4 back. `beforeChange` runs once, before the first
 * ChangeKey (the caller's durable "pending" record). Then checks the result by authenticating.
 */
export async function moveKeys(
  channel: CardChannel,
  uid: Buffer,
  keys: CardKeys,
  from: CardKeyState,
  target: 'ours' | 'factory',
  beforeChange: () => Promise<void>,
): Promise<void> {
  if (from.master === 'unknown' || from.auth === 'unknown' || from.slave === 'unknown') throw new ForeignCardError();
  const transport = transportOf(channel);
  const value = (holder: 'ours' | 'factory', ours: Buffer): Buffer => (holder === 'ours' ? ours : FACTORY_KEY);
  if (from.master !== target || from.auth !== target || from.slave !== target) {
    await beforeChange();
    const session = await authenticate(transport, MASTER_KEY_NO, value(from.master, keys.master));
    const version = target === 'ours' ? KEY_VERSION : 0;
    try {
      if (from.auth !== target) await session.changeKey(AUTH_KEY_NO, value(target, keys.auth), { version, oldKey: value(from.auth, keys.auth) });
      if (from.slave !== target) await session.changeKey(SLAVE_KEY_NO, value(target, keys.slave), { version, oldKey: value(from.slave, keys.slave) });
      // The point of no return: the next authentication tells which key 0 the card kept.
      if (from.master !== target) await session.changeKey(MASTER_KEY_NO, value(target, keys.master), { version });
    } finally {
      session.close();
    }
  }
  (await authenticate(transport, MASTER_KEY_NO, value(target, keys.master))).close();
  (await authenticate(transport, SLAVE_KEY_NO, value(target, keys.slave))).close();
  await verifySecureCard(channel, value(target, keys.auth), uid);
}

/**
 * A card enrolled before slave keys existed gets its key 4, after it proved key 2 at this station:
 * key 0 (this station's) authorises the one ChangeKey, keys 0 and 2 are not touched, so a card
 * pulled at any point stays a working master card; the next presentation finds key 4 either still
 * factory (written then) or already this station's (only the record is missing).
 */
export async function addSlaveKey(channel: CardChannel, keys: CardKeys): Promise<void> {
  const transport = transportOf(channel);
  await select(transport);
  const held = await probeKey(transport, SLAVE_KEY_NO, keys.slave);
  if (held === 'unknown') throw new ForeignCardError();
  if (held === 'factory') {
    const session = await authenticate(transport, MASTER_KEY_NO, keys.master);
    try {
      await session.changeKey(SLAVE_KEY_NO, keys.slave, { version: KEY_VERSION, oldKey: FACTORY_KEY });
    } finally {
      session.close();
    }
  }
  (await authenticate(transport, SLAVE_KEY_NO, keys.slave)).close();
}
