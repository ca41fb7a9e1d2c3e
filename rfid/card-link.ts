import type { CardInterface as Card, ContextInterface as Context } from 'smartcard';
import { CardNoAnswerError } from './reader-watch-errors.js';

/** What a card link needs of the `smartcard` binding: its context class and the share and protocol flags. */
export interface PcscBinding {
  Context: new () => Context;
  SCARD_SHARE_SHARED: number;
  SCARD_PROTOCOL_T0: number;
  SCARD_PROTOCOL_T1: number;
  SCARD_LEAVE_CARD: number;
}

/**
 * Per reader: the native PC/SC call in flight, if any. A native call cannot be cancelled (the binding
 * has no way to abort SCardTransmit, pcsc-lite's SCardCancel only wakes SCardGetStatusChange, and
 * SCardDisconnect waits for the context's lock the pending call holds, on the event loop's thread),
 * and it holds one of libuv's pool threads until the card or reader gives up. So a reader gets at most
 * one at a time, whatever its card does: a new call while one is stuck is refused unsent.
 */
export class ReaderGate {
  readonly #busy = new Map<string, Promise<unknown>>();

  busy(reader: string): boolean {
    return this.#busy.has(reader);
  }

  /** Resolves once `reader` has no native call in flight (immediately if none). */
  idle(reader: string): Promise<void> {
    const pending = this.#busy.get(reader);
    return pending ? pending.then(noop, noop) : Promise.resolve();
  }

  /**
   * Runs `call` (one native call) unless one is in flight on `reader`; rejects with CardNoAnswerError
   * after `ms`, leaving the call to finish in the background with the reader still counted busy.
   */
  async run<T>(reader: string, ms: number, call: () => Promise<T>): Promise<T> {
    if (this.#busy.has(reader)) throw new CardNoAnswerError(reader, ms);
    const native = call();
    this.#busy.set(reader, native);
    const settle = (): void => {
      if (this.#busy.get(reader) === native) this.#busy.delete(reader);
    };
    native.then(settle, settle);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CardNoAnswerError(reader, ms)), ms);
    });
    try {
      return await Promise.race([native, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function noop(): void {}

/**
 * One placement's card over its own PC/SC context. The binding's shared context (the one its
 * `Devices` connects every card with) is locked by pcsc-lite for as long as any transmit on it runs,
 * and `Devices` lists the readers on it synchronously when a card is placed: a card that stops
 * answering on one reader then froze the event loop at the next placement on any reader (measured).
 * A context of its own per placement confines a stalled card to its own reader.
 */
export class CardLink {
  #closed = false;

  private constructor(
    private readonly reader: string,
    private readonly gate: ReaderGate,
    private readonly context: Context,
    private readonly card: Card,
  ) {}

  /** Opens a context and connects (shared) to the card on `reader`; rejects after `ms`. */
  static async open(binding: PcscBinding, reader: string, gate: ReaderGate, ms: number): Promise<CardLink> {
    const context = new binding.Context();
    try {
      const target = context.listReaders().find((r) => r.name === reader);
      if (!target) throw new Error(`reader ${reader} is no longer listed`);
      const card = await gate.run(reader, ms, () => target.connect(binding.SCARD_SHARE_SHARED, binding.SCARD_PROTOCOL_T0 | binding.SCARD_PROTOCOL_T1));
      return new CardLink(reader, gate, context, card);
    } catch (err) {
      // A connect still in flight holds the context: it is released once that call has ended.
      void gate.idle(reader).then(() => closeQuietly(context));
      throw err;
    }
  }

  get atr(): Buffer | null {
    return this.card.atr;
  }

  transmit(apdu: Buffer, ms: number): Promise<Buffer> {
    if (this.#closed) return Promise.reject(new CardNoAnswerError(this.reader, ms));
    return this.gate.run(this.reader, ms, () => this.card.transmit(apdu));
  }

  /** Disconnects and releases the context, once no native call of this reader is in flight (never blocking the event loop). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    void this.gate.idle(this.reader).then(() => {
      try {
        this.card.disconnect();
      } catch {
        // The card left or the service went away: nothing to disconnect.
      }
      closeQuietly(this.context);
    });
  }
}

function closeQuietly(context: Context): void {
  try {
    context.close();
  } catch {
    // Already released (pcscd went away).
  }
}
