import { chmod, mkdir, rename, unlink } from 'node:fs/promises';
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

/**
 * Listens on `path` (group-writable, 0660), refusing to take it over from a daemon still serving it.
 * The socket is bound under a temporary name, given its mode, then renamed into place, so no client
 * ever finds it at `path` with the umask's mode (a group member refused in that instant).
 */
export async function listenOn(server: Server, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  if (await daemonAnswers(path)) throw new StateError(`another daemon is already serving ${path}`);
  const staging = `${path}.${process.pid}.new`;
  await unlink(staging).catch(() => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(staging, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(staging, 0o660);
  await rename(staging, path); // replaces a stale socket left by a crash
}

/**
 * Stops accepting; resolves once the server has closed (after its connections are gone) and its
 * name is removed (the runtime only removes the staging name it bound).
 */
export async function closeListener(server: Server, path: string): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await unlink(path).catch(() => undefined);
}
