import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../agent/common/config.js';
import { buildApp, type ConsoleContext } from './app.js';
import type { DaemonLink } from './daemon-link.js';
import { authRoutes } from './routes/auth.js';
import { logRoutes } from './routes/logs.js';
import { manufacturerRoutes } from './routes/manufacturer.js';
import { operatorRoutes } from './routes/operator.js';
import { overviewRoutes } from './routes/overview.js';
import { readTls, tlsStamp, type TlsMaterial } from './tls.js';

export interface RunningConsole {
  app: FastifyInstance;
  ctx: ConsoleContext;
  /** The port it listens on (the configured one, or the one the system chose for port 0). */
  port: number;
  close(): Promise<void>;
}

export const ROUTES = [authRoutes, overviewRoutes, manufacturerRoutes, operatorRoutes, logRoutes];

/**
 * Starts the console: waits for the device certificate (the daemon makes it when HTTPS is first
 * switched on), listens, and serves each new certificate (`https rotate`) without a restart.
 */
export async function startConsole(options: { config: Config; log: Logger; daemon?: DaemonLink; signal?: AbortSignal }): Promise<RunningConsole> {
  const { config, log } = options;
  const { certFile, keyFile } = config.https;
  const every = config.console.certificateCheckMs;
  let tls = await readTls(certFile, keyFile);
  if (!tls) log.warn({ certFile, keyFile }, 'no device certificate yet: waiting for it (switch HTTPS on: "ccguard https enable", or on the Operator page)');
  while (!tls) {
    if (options.signal?.aborted) throw new Error('stopped before the certificate appeared');
    await new Promise((resolve) => setTimeout(resolve, every));
    tls = await readTls(certFile, keyFile);
  }
  const { app, ctx } = await buildApp({ config, tls, log, ...(options.daemon ? { daemon: options.daemon } : {}) }, ROUTES);
  await app.listen({ host: config.console.host, port: config.console.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.console.port;
  log.info({ host: config.console.host, port, sha256: tls.sha256 }, 'ccguard console serving (HTTPS)');

  let served: TlsMaterial = tls;
  let checking = false;
  const timer = setInterval(() => {
    if (checking) return;
    checking = true;
    void (async () => {
      try {
        if ((await tlsStamp(certFile, keyFile)) === served.stamp) return;
        const next = await readTls(certFile, keyFile);
        // A pair being written (key first, then certificate) does not match yet: the next look takes it.
        if (!next || next.sha256 === served.sha256) return;
        (app as unknown as { replaceTls(t: TlsMaterial): void }).replaceTls(next);
        served = next;
        log.info({ sha256: next.sha256 }, 'new device certificate served');
      } finally {
        checking = false;
      }
    })();
  }, every);
  timer.unref();
  return {
    app,
    ctx,
    port,
    close: async () => {
      clearInterval(timer);
      await app.close();
    },
  };
}
