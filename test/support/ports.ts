import { createServer, type Server } from 'node:net';

function listen(port: number): Promise<Server | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

const close = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = await listen(0);
  if (!server) throw new Error('no free TCP port on 127.0.0.1');
  const address = server.address();
  await close(server);
  return typeof address === 'object' && address ? address.port : 0;
}

/** A port N such that N and N + 1 were both free (vpcd listens on both). */
export async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort();
    const next = await listen(port + 1);
    if (next) {
      await close(next);
      return port;
    }
  }
  throw new Error('no two adjacent free TCP ports on 127.0.0.1 after 20 attempts');
}
