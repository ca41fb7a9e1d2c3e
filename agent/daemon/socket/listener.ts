import { chmod, mkdir, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { StateError } from '../../common/errors.js';
import { daemonAnswers } from '../../wire/client.js';

/** The listening Unix socket; every accepted connection goes to `accept`. */
export function createListener(accept: (socket: Socket) => void, log: Logger): Server {
  // No server.maxConnections: the kernel would refuse newcomers while idle connections and
  // followers hold every slot. Connections are admitted (and evicted) by policy/socket-admission.
  const server = createServer({ pauseOnConnect: false }, accept);
  server.on('error', (err) => log.error({ err }, 'control socket error'));
  return server;
}

/** Listens on `path` (group-writable, 0660), refusing to take it over from a daemon still serving it. */
export async function listenOn(server: Server, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  if (await daemonAnswers(path)) throw new StateError(`another daemon is already serving ${path}`);
  await unlink(path).catch(() => undefined); // a stale socket left by a crash
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(path, 0o660);
}

/** Stops accepting; resolves once the server has closed (after its connections are gone). */
export function closeListener(server: Server): Promise<void> {
  return new Promise<void>((resolve) => server.close(() => resolve()));
}
