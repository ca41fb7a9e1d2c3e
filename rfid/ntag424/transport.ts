import { CardAuthenticationError, CardLengthError, CardTimeoutError, OverlongAnswerError, TruncatedAnswerError, UnexpectedStatusError } from './errors.js';

/** Sends one command APDU to the card and resolves with its answer, status word included. */
export type Transport = (apdu: Buffer) => Promise<Buffer>;

export const SW = {
  ok: 0x9100,
  more: 0x91af,
  isoOk: 0x9000,
  authenticationError: 0x91ae,
  lengthError: 0x917e,
} as const;

/** Short APDUs: at most 256 data bytes and the status word; anything longer is refused unread. */
export const MAX_ANSWER = 256 + 2;

export interface Answer {
  data: Buffer;
  sw: number;
}

const NATIVE_NAMES: ReadonlyMap<number, string> = new Map([
  [0x71, 'AuthenticateEV2First'],
  [0x77, 'AuthenticateEV2NonFirst'],
  [0xaf, 'AuthenticateEV2First part 2 / additional frame'],
  [0x51, 'GetCardUID'],
  [0xc4, 'ChangeKey'],
  [0x60, 'GetVersion'],
  [0x5a, 'SelectApplication'],
  [0x5f, 'ChangeFileSettings'],
  [0xf5, 'GetFileSettings'],
  [0x8d, 'WriteData'],
  [0xad, 'ReadData'],
]);

/** A name for messages, from the APDU header alone (never its data). */
export function commandName(apdu: Buffer): string {
  const cla = apdu[0];
  const ins = apdu[1];
  if (cla === 0x90 && ins !== undefined) return NATIVE_NAMES.get(ins) ?? `native command ${ins.toString(16).padStart(2, '0').toUpperCase()}`;
  if (cla === 0x00 && ins === 0xa4) return 'ISO SELECT';
  return 'APDU';
}

/** One exchange: bounds the answer's size and splits off the status word. */
export async function exchange(transport: Transport, apdu: Buffer, command: string): Promise<Answer> {
  const raw = await transport(apdu);
  if (!Buffer.isBuffer(raw)) throw new TypeError('transport must resolve with a Buffer');
  if (raw.length < 2) throw new TruncatedAnswerError(command, raw.length, 2);
  if (raw.length > MAX_ANSWER) throw new OverlongAnswerError(command, raw.length, MAX_ANSWER);
  // A copy: the transport may reuse its buffer for the next answer.
  const data = Buffer.from(raw.subarray(0, raw.length - 2));
  return { data, sw: raw.readUInt16BE(raw.length - 2) };
}

/**
 * Throws the typed error for any status but `expected`. `authHint` completes the message of an
 * authentication error with what it means for this command.
 */
export function expectStatus(answer: Answer, expected: number, command: string, authHint: string): void {
  if (answer.sw === expected) return;
  if (answer.sw === SW.authenticationError) throw new CardAuthenticationError(command, 'refusedByCard', authHint);
  if (answer.sw === SW.lengthError) throw new CardLengthError(command);
  throw new UnexpectedStatusError(command, answer.sw, expected);
}

export function expectLength(data: Buffer, length: number, command: string): void {
  // Counted with the status word, as the transport saw it.
  if (data.length < length) throw new TruncatedAnswerError(command, data.length + 2, length + 2);
  if (data.length > length) throw new OverlongAnswerError(command, data.length + 2, length + 2);
}

/**
 * Puts a deadline on every exchange: a mute card or an emulator that never answers rejects with
 * CardTimeoutError instead of hanging the reader. A late answer is dropped.
 */
export function withTimeout(transport: Transport, ms: number): Transport {
  if (!Number.isInteger(ms) || ms <= 0) throw new RangeError(`APDU timeout must be a positive whole number of ms, got ${ms}`);
  return (apdu) =>
    new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new CardTimeoutError(commandName(apdu), ms)), ms);
      transport(apdu).then(
        (answer) => {
          clearTimeout(timer);
          resolve(answer);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
}
