import { DaemonError, call, type CallOptions } from '../agent/wire/client.js';
import { CLIENT_TOKEN, type Method, type ParamsIn, type ResultOf } from '../agent/wire/protocol.js';

/** How the console names itself to the daemon (the event's claimed origin). */
export const CONSOLE_ORIGIN = 'console';

/**
 * The console's only way to the daemon: the control socket, as any web server of the station.
 * Each call names the browser's address as the client it acts for (the daemon throttles and
 * records it beside the kernel's peer); the browser's own text never goes there unchecked.
 */
export class DaemonLink {
  constructor(
    private readonly socket: string,
    private readonly timeoutMs = 20_000,
  ) {}

  call<M extends Method>(method: M, params: ParamsIn<M>, client: string, options: CallOptions<M> = {}): Promise<ResultOf<M>> {
    return call(this.socket, method, params, { timeoutMs: this.timeoutMs, ...options, origin: CONSOLE_ORIGIN, ...clientOption(client) });
  }
}

/** The browser's address as the envelope's `client`, when it is one the contract accepts. */
function clientOption(address: string): { client?: string } {
  return CLIENT_TOKEN.test(address) ? { client: address } : {};
}

export { DaemonError };

/** The reason a session ended, when a daemon error says the session is gone. */
export function sessionEnded(err: unknown): string | null {
  if (!(err instanceof DaemonError)) return null;
  const reason = err.body.session;
  return typeof reason === 'string' ? reason : null;
}
