import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { CcguardError, DaemonUnreachableError, type ErrorCode } from '../common/errors.js';
import { LineFramer } from './line-framer.js';
import { PROTOCOL_VERSION, type Method, type ParamsIn, type ResultOf } from './protocol.js';

/** An error the daemon answered with, carrying its code so the CLI can pick the exit code. */
export class DaemonError extends CcguardError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly body: Record<string, unknown>,
  ) {
    super(message);
  }
}

const KNOWN_CODES: readonly ErrorCode[] = ['refused', 'invalid', 'mustChange', 'throttled', 'unavailable', 'internal'];
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

function open(path: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new DaemonUnreachableError(`no answer from the ccguard daemon at ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new DaemonUnreachableError(
          `cannot reach the ccguard daemon at ${path} (${err.code ?? err.message}); is it running? ` + 'Give the socket with --socket or CCGUARD_SOCKET',
        ),
      );
    });
  });
}

/** True when something answers on the socket path (a running daemon). */
export async function daemonAnswers(path: string, timeoutMs = 500): Promise<boolean> {
  try {
    const socket = await open(path, timeoutMs);
    socket.destroy();
    return true;
  } catch {
    return false;
  }
}

export interface CallOptions<M extends Method = Method> {
  timeoutMs?: number;
  /** Called for each pushed event of a following request; the call then resolves only when the socket closes. */
  onEvent?: (event: unknown) => void;
  /** With onEvent: called with the first answer, before any pushed event. */
  onResult?: (result: ResultOf<M>) => void;
  origin?: string;
  /** For a front end (the console): the client it acts for, e.g. the browser's address (envelope `client`). */
  client?: string;
  /** Aborts the call (the socket is closed; the daemon drops work for a client that has gone). */
  signal?: AbortSignal;
  /**
   * Called for each data frame of a streamed answer, in order; while a returned promise is
   * pending the socket is not read (the daemon then waits too). The timeout counts from the last frame.
   */
  onData?: (data: Buffer, progress: { done: number; total: number }) => Promise<void> | void;
}

/**
 * Sends one request and resolves with its result, or rejects with the daemon's error. The result
 * is the method's contract type as the daemon's handlers are checked against it; it is not parsed
 * here, so that a newer daemon's added fields reach the caller (and `--json`) unchanged.
 */
export async function call<M extends Method>(socketPath: string, method: M, params: ParamsIn<M>, options: CallOptions<M> = {}): Promise<ResultOf<M>> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const socket = await open(socketPath, Math.min(timeoutMs, 5000));
  const id = randomUUID();
  return new Promise((resolve, reject) => {
    let settled = false;
    let result: ResultOf<M> | undefined;
    const finish = (err: Error | null, value?: ResultOf<M>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value as ResultOf<M>);
    };
    const expire = (): void => finish(new DaemonUnreachableError(`the daemon did not answer ${method} within ${timeoutMs} ms`));
    let timer = setTimeout(expire, timeoutMs);
    let pending = 0;
    let progress = { done: 0, total: 0 };
    let rawIsOurs = false;
    const framer = new LineFramer(
      MAX_RESPONSE_BYTES,
      (line) => {
        let message: Record<string, unknown>;
        try {
          message = JSON.parse(line) as Record<string, unknown>;
        } catch {
          finish(new DaemonError('internal', 'the daemon sent a line that is not JSON', {}));
          return;
        }
        if (typeof message.bytes === 'number') {
          // A data frame's raw bytes follow its line whoever it is for: the framer must skip them either way.
          clearTimeout(timer);
          timer = setTimeout(expire, timeoutMs);
          progress = { done: Number(message.done ?? 0), total: Number(message.total ?? 0) };
          rawIsOurs = message.id === id;
          return message.bytes;
        }
        if (message.id !== id) return;
        if ('event' in message) {
          options.onEvent?.(message.event);
          return;
        }
        if (message.ok === true) {
          const answer = message.result as ResultOf<M>;
          result = answer;
          if (options.onEvent) {
            clearTimeout(timer); // following: stay until the daemon goes away
            options.onResult?.(answer);
            return;
          }
          finish(null, answer);
          return;
        }
        const error = (message.error ?? {}) as Record<string, unknown>;
        const code = KNOWN_CODES.includes(error.code as ErrorCode) ? (error.code as ErrorCode) : 'internal';
        finish(new DaemonError(code, String(error.message ?? 'request failed'), error));
      },
      () => finish(new DaemonError('internal', 'the daemon sent an oversized response', {})),
      (piece) => {
        const written = rawIsOurs ? options.onData?.(piece, progress) : undefined;
        if (written) {
          if (pending++ === 0) socket.pause();
          written.then(
            () => {
              if (--pending === 0 && !settled) socket.resume();
            },
            (err: Error) => finish(err),
          );
        }
      },
    );
    socket.on('data', (data: Buffer) => framer.push(data));
    socket.on('error', (err) => finish(new DaemonUnreachableError(`connection to the daemon failed: ${err.message}`)));
    socket.on('close', () => {
      if (options.onEvent && result !== undefined) finish(null, result);
      else finish(new DaemonUnreachableError('the daemon closed the connection before answering'));
    });
    if (options.signal) {
      const abort = (): void => finish(new DaemonError('unavailable', `${method} was abandoned by its caller`, {}));
      if (options.signal.aborted) abort();
      else options.signal.addEventListener('abort', abort, { once: true });
    }
    const envelope = {
      v: PROTOCOL_VERSION,
      id,
      method,
      params,
      origin: options.origin ?? 'cli',
      ...(options.client === undefined ? {} : { client: options.client }),
    };
    socket.write(`${JSON.stringify(envelope)}\n`);
  });
}
