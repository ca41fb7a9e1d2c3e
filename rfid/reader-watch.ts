import { fileURLToPath } from 'node:url';
import type { Devices as DevicesType } from 'smartcard';
import { CardLink, ReaderGate, type PcscBinding } from './card-link.js';
import { CardGoneError, CardNoAnswerError } from './reader-watch-errors.js';

export { CardGoneError, CardNoAnswerError };

/**
 * APDUs to the card of one placement. `transmit` rejects with CardGoneError once that card left the
 * reader (or another was placed), and with CardNoAnswerError when the card does not answer in time.
 */
export interface CardChannel {
  transmit(apdu: Buffer): Promise<Buffer>;
}

/** What the reader edge reports. It knows cards only by UID, and nothing of master cards. */
export type ReaderEvent =
  | { type: 'readerAttached'; reader: string }
  | { type: 'readerDetached'; reader: string }
  /** `channel` talks to this placement's card only; `atr` as the reader reported it (empty if none). */
  | { type: 'cardPresent'; reader: string; uid: Buffer; atr: Buffer; channel: CardChannel }
  /** A card was placed but its UID could not be read (mute card, removed mid-read, no UID support). */
  | { type: 'cardUnreadable'; reader: string; reason: string }
  | { type: 'cardRemoved'; reader: string }
  /** pcscd is unreachable (not started yet, restarting): every card counts as removed until it is back. */
  | { type: 'serviceDown'; reason: string; retryInMs: number }
  | { type: 'serviceUp' };

export interface ReaderWatchOptions {
  /** How long the UID read (GET DATA) may take before the card counts as unreadable. */
  uidTimeoutMs: number;
  /** How long any other APDU (sent through a CardChannel) may take. */
  apduTimeoutMs: number;
  /** Backoff between attempts to reach pcscd: from `firstRetryMs`, doubling up to `maxRetryMs`. */
  firstRetryMs: number;
  maxRetryMs: number;
}

export interface ReaderSnapshot {
  name: string;
  cardPresent: boolean;
}

// PC/SC GET DATA, UID of the contactless card (PC/SC part 3, 3.2.2.1.3); Le 00 = as long as it is.
const GET_UID = Buffer.from([0xff, 0xca, 0x00, 0x00, 0x00]);
// ISO 14443 UIDs are 4, 7 or 10 bytes; some readers report 8-byte ones for other card types.
const UID_LENGTHS = new Set([4, 7, 8, 10]);

interface ReaderSlot {
  /** Counts placements, so that a UID read finishing after the card left is dropped. */
  placement: number;
  /** A card is on the reader (as PC/SC reports it). */
  cardPresent: boolean;
  /** A cardPresent or cardUnreadable was reported for the current placement: its removal is owed. */
  reported: boolean;
  /** The current placement's own connection to its card, once opened. */
  link: CardLink | null;
}

/** The PC/SC binding cannot be loaded: no reader can be watched until `enableCommand` has run. */
export class PcscUnavailableError extends Error {
  constructor(
    readonly reason: string,
    readonly enableCommand: string,
  ) {
    super(`${reason}; to use the card readers run: ${enableCommand}`);
    this.name = 'PcscUnavailableError';
  }
}

// Where npm installs the binding: the checkout or /usr/lib/ccguard (this file is dist/rfid/).
const APP_DIR = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const PCSC_PACKAGES = 'apt-get install --no-install-recommends libpcsclite-dev pcscd';

/**
 * Loads the `smartcard` binding, which links libpcsclite. It is an optional npm dependency:
 * without libpcsclite-dev its build fails and npm leaves the package out, so `npm install` brings
 * it back (`npm rebuild` would find nothing to rebuild); a binding that is there but does not load
 * (libpcsclite1 missing, built for another Node) is rebuilt.
 */
type Binding = PcscBinding & { Devices: typeof DevicesType };

async function loadBinding(): Promise<Binding> {
  try {
    return await import('smartcard');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const dir = /^[\w@%+=:,./-]+$/.test(APP_DIR) ? APP_DIR : `'${APP_DIR.replaceAll("'", `'\\''`)}'`;
    // ERR_MODULE_NOT_FOUND from import(); MODULE_NOT_FOUND where the daemon's CommonJS bundle requires it (packaging/bundle.mjs).
    if ((e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') && e.message.includes("'smartcard'")) {
      throw new PcscUnavailableError(
        'the PC/SC binding (npm package smartcard) is not installed: it is built at install time and needs libpcsclite-dev',
        `${PCSC_PACKAGES} && cd ${dir} && npm install`,
      );
    }
    throw new PcscUnavailableError(
      `the PC/SC binding (npm package smartcard) cannot be loaded: ${e.message.split('\n')[0]}`,
      `${PCSC_PACKAGES} && cd ${dir} && npm rebuild smartcard`,
    );
  }
}

/**
 * Watches the PC/SC readers through the system's pcscd. Connects in shared mode, so the
 * station's charging logic keeps using the same readers. Survives pcscd being absent at start,
 * restarting or going away: the `smartcard` binding opens its context once and then only reports
 * errors, so on any service error every card counts as removed and the watcher is rebuilt with backoff.
 */
export class ReaderWatch {
  readonly #slots = new Map<string, ReaderSlot>();
  #devices: DevicesType | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #retryMs: number;
  #up = false;
  /** serviceDown was reported and serviceUp not since: retries stay quiet. */
  #downReported = false;
  #stopped = false;
  #binding: Binding | null = null;
  /** At most one native call per reader, across placements and service restarts (a stuck one keeps its thread). */
  readonly #gate = new ReaderGate();

  constructor(
    private readonly options: ReaderWatchOptions,
    private readonly onEvent: (event: ReaderEvent) => void,
  ) {
    this.#retryMs = options.firstRetryMs;
  }

  /** Throws PcscUnavailableError when the binding cannot be loaded. */
  async start(): Promise<void> {
    // Loaded here: the native binding links libpcsclite, which a machine without readers may lack.
    this.#binding = await loadBinding();
    this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#teardown();
  }

  get serviceUp(): boolean {
    return this.#up;
  }

  readers(): ReaderSnapshot[] {
    return [...this.#slots].map(([name, slot]) => ({ name, cardPresent: slot.cardPresent })).sort((a, b) => a.name.localeCompare(b.name));
  }

  #connect(): void {
    if (this.#stopped || this.#binding === null) return;
    const devices = new this.#binding.Devices();
    this.#devices = devices;
    const current = (): boolean => this.#devices === devices;
    devices.on('error', (err) => {
      if (current()) this.#serviceError(err.message);
    });
    devices.on('reader-attached', (reader) => {
      if (!current()) return;
      this.#markUp();
      if (!this.#slots.has(reader.name)) {
        this.#slots.set(reader.name, { placement: 0, cardPresent: false, reported: false, link: null });
        this.onEvent({ type: 'readerAttached', reader: reader.name });
      }
    });
    devices.on('reader-detached', (reader) => {
      if (!current()) return;
      this.#removeCard(reader.name);
      if (this.#slots.delete(reader.name)) this.onEvent({ type: 'readerDetached', reader: reader.name });
    });
    // The binding's own card handle is left alone: every APDU goes over the placement's CardLink.
    devices.on('card-inserted', ({ reader }) => {
      if (!current()) return;
      this.#markUp();
      const slot = this.#slot(reader.name);
      this.#removeCard(reader.name);
      slot.cardPresent = true;
      slot.placement += 1;
      void this.#readUid(reader.name, slot, slot.placement);
    });
    devices.on('card-removed', ({ reader }) => {
      if (current()) this.#removeCard(reader.name);
    });
    devices.start();
    // The binding reports "service up" only through events; with pcscd up and no reader there are none.
    setImmediate(() => {
      if (current() && this.#devices !== null && !this.#up && this.#retryTimer === null) this.#markUp();
    });
  }

  #slot(name: string): ReaderSlot {
    let slot = this.#slots.get(name);
    if (!slot) {
      slot = { placement: 0, cardPresent: false, reported: false, link: null };
      this.#slots.set(name, slot);
      this.onEvent({ type: 'readerAttached', reader: name });
    }
    return slot;
  }

  async #readUid(reader: string, slot: ReaderSlot, placement: number): Promise<void> {
    const binding = this.#binding;
    const ms = this.options.uidTimeoutMs;
    const current = (): boolean => slot.placement === placement && slot.cardPresent && this.#slots.get(reader) === slot;
    let event: ReaderEvent;
    try {
      if (binding === null) throw new Error('the PC/SC binding is not loaded');
      // A card that stopped answering still holds this reader's one native call: nothing more is sent
      // until it ends (a card just swapped ends it within moments, as the reader reports the removal).
      if (this.#gate.busy(reader)) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([this.#gate.idle(reader), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
        clearTimeout(timer);
        if (this.#gate.busy(reader)) throw new Error('the reader still waits for an earlier card that stopped answering');
      }
      const link = await CardLink.open(binding, reader, this.#gate, ms);
      if (!current()) {
        link.close();
        return;
      }
      slot.link = link;
      // A mute card never answers, and the binding has no timeout of its own: the gate's applies.
      const read = parseUidResponse(await link.transmit(GET_UID, ms));
      event =
        'uid' in read
          ? { type: 'cardPresent', reader, uid: read.uid, atr: Buffer.from(link.atr ?? Buffer.alloc(0)), channel: this.#channel(reader, slot, placement, link) }
          : { type: 'cardUnreadable', reader, reason: read.unreadable };
    } catch (err) {
      const reason = err instanceof CardNoAnswerError ? `no answer to GET DATA within ${ms} ms (mute card?)` : (err as Error).message;
      event = { type: 'cardUnreadable', reader, reason };
    }
    if (!current()) return;
    slot.reported = true;
    this.onEvent(event);
  }

  /** A channel bound to one placement: after the card left, every transmit is refused unsent. */
  #channel(reader: string, slot: ReaderSlot, placement: number, link: CardLink): CardChannel {
    const ms = this.options.apduTimeoutMs;
    const current = (): boolean => slot.placement === placement && slot.cardPresent && this.#slots.get(reader) === slot;
    return {
      transmit: async (apdu) => {
        if (!current()) throw new CardGoneError(reader);
        try {
          const answer = await link.transmit(apdu, ms);
          // An answer that arrives after the card was replaced belongs to no exchange of ours.
          if (!current()) throw new CardGoneError(reader);
          return answer;
        } catch (err) {
          if (!current()) throw new CardGoneError(reader);
          throw err;
        }
      },
    };
  }

  #removeCard(reader: string): void {
    const slot = this.#slots.get(reader);
    if (!slot || !slot.cardPresent) return;
    slot.cardPresent = false;
    slot.placement += 1;
    slot.link?.close();
    slot.link = null;
    if (slot.reported) {
      slot.reported = false;
      this.onEvent({ type: 'cardRemoved', reader });
    }
  }

  #markUp(): void {
    if (this.#up) return;
    this.#up = true;
    this.#downReported = false;
    this.#retryMs = this.options.firstRetryMs;
    this.onEvent({ type: 'serviceUp' });
  }

  #serviceError(reason: string): void {
    this.#teardown();
    const retryInMs = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, this.options.maxRetryMs);
    if (!this.#downReported) {
      this.#downReported = true;
      this.onEvent({ type: 'serviceDown', reason, retryInMs });
    }
    if (this.#stopped) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#connect();
    }, retryInMs);
    this.#retryTimer.unref();
  }

  /** Drops the binding's context; every card and reader known so far is reported gone. */
  #teardown(): void {
    const devices = this.#devices;
    this.#devices = null;
    this.#up = false;
    for (const [name] of this.#slots) {
      this.#removeCard(name);
      this.onEvent({ type: 'readerDetached', reader: name });
    }
    this.#slots.clear();
    if (devices) {
      devices.removeAllListeners();
      // Errors after this point come from a context already given up.
      devices.on('error', () => {});
      devices.stop();
    }
  }
}

/** A GET DATA answer: UID then 90 00; anything else (an empty answer when the card left mid-read) is unreadable. */
export function parseUidResponse(response: Buffer): { uid: Buffer } | { unreadable: string } {
  if (response.length < 2) return { unreadable: 'empty answer to GET DATA (card removed mid-read?)' };
  const sw = response.readUInt16BE(response.length - 2);
  const uid = response.subarray(0, response.length - 2);
  if (sw !== 0x9000) return { unreadable: `GET DATA refused with status ${sw.toString(16).padStart(4, '0')}` };
  if (!UID_LENGTHS.has(uid.length)) return { unreadable: `UID of ${uid.length} bytes is not a contactless card UID` };
  return { uid: Buffer.from(uid) };
}
