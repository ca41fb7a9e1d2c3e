import type { Logger } from 'pino';
import { PcscUnavailableError, ReaderWatch, type ReaderEvent, type ReaderSnapshot, type ReaderWatchOptions } from '../../../rfid/reader-watch.js';
import type { Config } from '../../common/config.js';
import type { RfidStatus } from '../../wire/status-report.js';

/** What the service uses of a reader watch: rfid/reader-watch.ts's, or a scripted one in tests. */
export interface Watch {
  start(): Promise<void>;
  stop(): void;
  readers(): ReaderSnapshot[];
}

export type OpenWatch = (options: ReaderWatchOptions, onEvent: (event: ReaderEvent) => void) => Promise<Watch>;

/** The reader events about cards: what the service passes on. */
export type CardEvent = Extract<ReaderEvent, { type: 'cardPresent' | 'cardUnreadable' | 'cardRemoved' }>;

export type ServiceStatus = Pick<RfidStatus, 'service' | 'serviceError' | 'enableCommand'>;

/** The PC/SC readers through pcscd (the binding itself is loaded by the watch's start). */
const openReaderWatch: OpenWatch = async (options, onEvent) => new ReaderWatch(options, onEvent);

/**
 * The PC/SC service: starts watching the readers (the watch itself restarts with backoff after a
 * service error), keeps the service's state for `status` and `readers`, and passes card events on.
 */
export class ReaderService {
  #watch: Watch | null = null;
  #service: RfidStatus['service'] = 'down';
  #serviceError: string | null = null;
  #enableCommand: string | null = null;

  constructor(private readonly deps: { rfid: Config['rfid']; log: Logger; openWatch?: OpenWatch }) {}

  async start(onCard: (event: CardEvent) => void): Promise<void> {
    const { rfid, log } = this.deps;
    if (!rfid.enabled) {
      this.#service = 'off';
      return;
    }
    const options = { uidTimeoutMs: rfid.uidTimeoutMs, apduTimeoutMs: rfid.apduTimeoutMs, firstRetryMs: 250, maxRetryMs: rfid.maxRetryMs };
    try {
      const watch = await (this.deps.openWatch ?? openReaderWatch)(options, (event) => this.#onEvent(event, onCard));
      await watch.start();
      this.#watch = watch;
    } catch (err) {
      this.#service = 'unavailable';
      const unavailable = err instanceof PcscUnavailableError ? err : null;
      this.#serviceError = unavailable?.reason ?? (err as Error).message;
      this.#enableCommand = unavailable?.enableCommand ?? null;
      log.error({ err: this.#serviceError, enableCommand: this.#enableCommand }, 'the PC/SC library cannot be loaded: no master card recovery');
    }
  }

  stop(): void {
    this.#watch?.stop();
  }

  status(): ServiceStatus {
    return { service: this.#service, serviceError: this.#serviceError, enableCommand: this.#enableCommand };
  }

  /** A reader can be used now or once pcscd is back; not with the service off or its library missing. */
  usable(): boolean {
    return this.#service !== 'off' && this.#service !== 'unavailable';
  }

  readers(): ReaderSnapshot[] {
    return this.#watch?.readers() ?? [];
  }

  #onEvent(event: ReaderEvent, onCard: (event: CardEvent) => void): void {
    const { log } = this.deps;
    switch (event.type) {
      case 'serviceUp':
        this.#service = 'up';
        this.#serviceError = null;
        log.info('pcscd reachable: watching the card readers');
        return;
      case 'serviceDown':
        this.#service = 'down';
        this.#serviceError = event.reason;
        log.warn({ reason: event.reason, retryInMs: event.retryInMs }, 'pcscd not reachable; every card counts as removed; retrying with backoff');
        return;
      case 'readerAttached':
      case 'readerDetached':
        log.info({ reader: event.reader }, event.type === 'readerAttached' ? 'card reader attached' : 'card reader detached');
        return;
      default:
        onCard(event);
    }
  }
}
