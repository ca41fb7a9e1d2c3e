import { createRequire } from 'node:module';
import type { Logger } from 'pino';

type Binding = { notify(path: Buffer, message: Buffer): void };

/**
 * systemd's notify protocol (READY=1, STATUS=…, WATCHDOG=1, STOPPING=1) over $NOTIFY_SOCKET. Core Node
 * cannot send Unix datagrams: the project's N-API module native/sd-notify sends each one (loaded
 * only under systemd; a generic datagram binding cost the daemon's start ~2.5 ms).
 */
export class SystemdNotifier {
  #watchdog: NodeJS.Timeout | null = null;

  private constructor(
    private readonly path: Buffer,
    private readonly binding: Binding,
    private readonly log: Logger,
  ) {}

  /** Null when the daemon was not started by systemd with Type=notify. */
  static fromEnvironment(log: Logger): SystemdNotifier | null {
    const raw = process.env.NOTIFY_SOCKET;
    if (!raw) return null;
    const binding = createRequire(import.meta.url)('ccguard-sd-notify') as Binding;
    // A leading "@" names a socket in the abstract namespace.
    const path = Buffer.from(raw.startsWith('@') ? `\0${raw.slice(1)}` : raw);
    return new SystemdNotifier(path, binding, log);
  }

  send(state: string): void {
    try {
      this.binding.notify(this.path, Buffer.from(state));
    } catch (err) {
      this.log.warn({ err, state }, 'sd_notify failed');
    }
  }

  /** The one line `systemctl status` shows under the unit: what the daemon is doing. */
  status(text: string): void {
    this.send(`STATUS=${text.replaceAll('\n', ' ')}`);
  }

  /** READY=1 and the status text, then WATCHDOG=1 at half the interval systemd asks for in $WATCHDOG_USEC. */
  ready(status: string): void {
    // Two datagrams: a reader of the protocol (a test, a bench) sees READY=1 as the whole message.
    this.send('READY=1');
    this.status(status);
    const usec = Number(process.env.WATCHDOG_USEC);
    const pid = process.env.WATCHDOG_PID;
    if (Number.isFinite(usec) && usec > 0 && (!pid || Number(pid) === process.pid)) {
      this.#watchdog = setInterval(() => this.send('WATCHDOG=1'), Math.max(usec / 2000, 100));
    }
  }

  stopping(): void {
    if (this.#watchdog) clearInterval(this.#watchdog);
    this.send('STOPPING=1');
    this.status('stopping: finishing the requests in progress');
  }
}
