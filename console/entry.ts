import { existsSync } from 'node:fs';
import pino from 'pino';
import { builtInConfig, loadConfig, SYSTEM_CONFIG_PATH } from '../agent/common/config.js';
import { CcguardError, EXIT } from '../agent/common/errors.js';
import { startConsole } from './server.js';

/** Stopping: requests in progress get this long, then the process ends anyway. */
const STOP_GRACE_MS = 3000;

/** `ccguard console [--config FILE]`: runs the HTTPS console in the foreground until SIGTERM. */
export async function startConsoleProcess(configPath: string | null): Promise<void> {
  // Cookies and form fields never reach a log line: the request logger is off and these paths are redacted anyway.
  const log = pino({ name: 'ccguard-console', redact: ['req.headers.cookie', 'req.body', 'res.headers["set-cookie"]'] });
  let config;
  try {
    config = configPath !== null ? await loadConfig(configPath) : existsSync(SYSTEM_CONFIG_PATH) ? await loadConfig(SYSTEM_CONFIG_PATH) : builtInConfig();
  } catch (err) {
    process.stderr.write(`ccguard console: ${(err as Error).message}\n`);
    process.exit(err instanceof CcguardError ? EXIT.usage : 1);
  }
  const stopping = new AbortController();
  let running: Awaited<ReturnType<typeof startConsole>> | null = null;
  const stop = (signal: string): void => {
    log.info({ signal }, 'stopping');
    stopping.abort();
    setTimeout(() => process.exit(0), STOP_GRACE_MS).unref();
    void (running?.close() ?? Promise.resolve()).finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    running = await startConsole({ config, log, signal: stopping.signal });
  } catch (err) {
    if (stopping.signal.aborted) return;
    log.fatal({ err: (err as Error).message }, 'the console could not start');
    process.exit(1);
  }
}
