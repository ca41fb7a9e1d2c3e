import { timingSafeEqual } from 'node:crypto';
import { checkKey } from './aes.js';
import { changeKeyData } from './change-key.js';
import { MalformedAnswerError, ResponseMacError, SessionClosedError, TruncatedAnswerError, OverlongAnswerError } from './errors.js';
import { commandMac, decryptResponseData, encryptCommandData, MACT_LENGTH, MAX_COMMAND_COUNTER, responseMac } from './secure-messaging.js';
import { exchange, expectStatus, SW, type Transport } from './transport.js';

/** How a command's data travels: in clear with a MAC, or encrypted and MACed. */
export type CommandMode = 'mac' | 'full';
/**
 * How the answer comes back: data in clear with a MAC, encrypted data with a MAC, or a bare status
 * word (only ChangeKey of the key that opened the session, which ends the session).
 */
export type ResponseMode = 'mac' | 'full' | 'bare';

export interface SecureCommand {
  /** For messages. */
  name: string;
  ins: number;
  /** Sent in clear in both modes (e.g. the key or file number), but covered by the MAC. */
  header?: Buffer;
  data?: Buffer;
  mode: CommandMode;
  response: ResponseMode;
}

export interface SessionParams {
  keyNo: number;
  ti: Buffer;
  encKey: Buffer;
  macKey: Buffer;
  /** 0 after AuthenticateEV2First; other values only to resume a known session (tests, vectors). */
  commandCounter?: number;
  pdCap2?: Buffer;
  pcdCap2?: Buffer;
}

export interface ChangeKeyOptions {
  /** Key version stored with the key (0 if not given). */
  version?: number;
  /** The key's current value; required for any key other than the one that opened the session. */
  oldKey?: Buffer;
}

const UID_LENGTH = 7;
const AUTH_HINT = 'the session is not authenticated with a key that allows this command; authenticate again';

/**
 * An authenticated session with one card: session keys, transaction identifier and the command
 * counter. Any failed exchange closes it (the card drops its side too), as does changing the key
 * that opened it.
 */
export class Session {
  readonly keyNo: number;
  readonly ti: Buffer;
  readonly pdCap2: Buffer;
  readonly pcdCap2: Buffer;
  readonly #transport: Transport;
  readonly #encKey: Buffer;
  readonly #macKey: Buffer;
  #counter: number;
  #closedBecause: string | null = null;

  constructor(transport: Transport, params: SessionParams) {
    checkKey(params.encKey, 'session encryption key');
    checkKey(params.macKey, 'session MAC key');
    if (params.ti.length !== 4) throw new RangeError('TI must be 4 bytes');
    const counter = params.commandCounter ?? 0;
    if (!Number.isInteger(counter) || counter < 0 || counter > MAX_COMMAND_COUNTER) throw new RangeError(`command counter out of range: ${counter}`);
    this.#transport = transport;
    this.keyNo = params.keyNo;
    this.ti = Buffer.from(params.ti);
    this.#encKey = Buffer.from(params.encKey);
    this.#macKey = Buffer.from(params.macKey);
    this.#counter = counter;
    this.pdCap2 = Buffer.from(params.pdCap2 ?? Buffer.alloc(6));
    this.pcdCap2 = Buffer.from(params.pcdCap2 ?? Buffer.alloc(6));
  }

  get commandCounter(): number {
    return this.#counter;
  }

  get closed(): boolean {
    return this.#closedBecause !== null;
  }

  /** Ends the session and wipes its keys. */
  close(reason = 'closed by the caller'): void {
    if (this.#closedBecause === null) this.#closedBecause = reason;
    this.#encKey.fill(0);
    this.#macKey.fill(0);
  }

  /** GetCardUID (90 51), CommMode.Full: the card's real 7-byte UID, even when it shows a random ID. */
  async getCardUid(): Promise<Buffer> {
    const name = 'GetCardUID';
    const uid = await this.send({ name, ins: 0x51, mode: 'full', response: 'full' });
    if (uid.length !== UID_LENGTH) {
      // The MAC was right, so the card holds the session keys and still sent nonsense: trust nothing more.
      this.close(`the exchange for ${name} failed`);
      throw new MalformedAnswerError(name, `a UID of ${uid.length} bytes where ${UID_LENGTH} were expected`);
    }
    return uid;
  }

  /**
   * ChangeKey (90 C4), CommMode.Full. Changing the key that opened the session ends the session:
   * the card then expects a new authentication (with the new key).
   */
  async changeKey(keyNo: number, newKey: Buffer, options: ChangeKeyOptions = {}): Promise<void> {
    if (!Number.isInteger(keyNo) || keyNo < 0 || keyNo > 0xff) throw new RangeError(`key number must be 0 to 255, got ${keyNo}`);
    const same = keyNo === this.keyNo;
    if (!same && options.oldKey === undefined) throw new TypeError(`changing key ${keyNo} needs its current value (oldKey)`);
    const data = changeKeyData(newKey, options.version ?? 0, same ? null : (options.oldKey as Buffer));
    try {
      await this.send({ name: 'ChangeKey', ins: 0xc4, header: Buffer.from([keyNo]), data, mode: 'full', response: same ? 'bare' : 'mac' });
    } finally {
      data.fill(0);
    }
    if (same) this.close('the key that opened it was changed');
  }

  /** One command in secure messaging; resolves with the answer's data (decrypted in Full mode). */
  async send(command: SecureCommand): Promise<Buffer> {
    const { name } = command;
    if (this.#closedBecause !== null) throw new SessionClosedError(name, this.#closedBecause);
    if (this.#counter >= MAX_COMMAND_COUNTER) {
      this.close('its command counter is used up');
      throw new SessionClosedError(name, 'its command counter is used up');
    }
    try {
      return await this.#send(command);
    } catch (err) {
      // The card aborts its session on any error; a timeout leaves its state unknown.
      this.close(`the exchange for ${name} failed`);
      throw err;
    }
  }

  async #send({ name, ins, header = Buffer.alloc(0), data = Buffer.alloc(0), mode, response }: SecureCommand): Promise<Buffer> {
    const counter = this.#counter;
    const sent = mode === 'full' && data.length > 0 ? encryptCommandData(this.#encKey, this.ti, counter, data) : data;
    const mac = commandMac(this.#macKey, ins, counter, this.ti, header, sent);
    const lc = header.length + sent.length + mac.length;
    if (lc > 0xff) throw new RangeError(`${name}: ${lc} bytes of command data do not fit a short APDU`);
    const apdu = Buffer.concat([Buffer.from([0x90, ins, 0x00, 0x00, lc]), header, sent, mac, Buffer.from([0x00])]);

    const answer = await exchange(this.#transport, apdu, name);
    expectStatus(answer, SW.ok, name, AUTH_HINT);
    // The card counted the command once it answered 91 00; the answer's IV and MAC use the new value.
    this.#counter = counter + 1;
    if (response === 'bare') {
      if (answer.data.length > 0) throw new OverlongAnswerError(name, answer.data.length + 2, 2);
      return answer.data;
    }
    if (answer.data.length < MACT_LENGTH) throw new TruncatedAnswerError(name, answer.data.length + 2, MACT_LENGTH + 2);
    const body = answer.data.subarray(0, answer.data.length - MACT_LENGTH);
    const expected = responseMac(this.#macKey, answer.sw & 0xff, this.#counter, this.ti, body);
    if (!timingSafeEqual(expected, answer.data.subarray(body.length))) throw new ResponseMacError(name);
    if (response === 'mac' || body.length === 0) return body;
    const plain = decryptResponseData(this.#encKey, this.ti, this.#counter, body);
    if (plain === null) throw new MalformedAnswerError(name, 'the decrypted data has no valid padding');
    return plain;
  }
}
