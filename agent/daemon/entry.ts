import { builtInConfig, loadConfig } from '../common/config.js';
import { CcguardError, exitCodeFor } from '../common/errors.js';
import type { CodeCacheHook } from './daemon.js';

/**
 * Loads the config (or the built-in one) and runs the daemon; start-up errors exit with the
 * contract's code. `codeCache`: the launcher's (agent/launch/code-cache.ts), told when the daemon serves.
 */
export async function startDaemonProcess(configPath: string | null, codeCache?: CodeCacheHook): Promise<void> {
  try {
    const config = configPath === null ? builtInConfig() : await loadConfig(configPath);
    const { runDaemon } = await import('./daemon.js');
    await runDaemon(config, configPath, codeCache);
  } catch (err) {
    const code = err instanceof CcguardError ? exitCodeFor(err.code) : 1;
    const message = err instanceof CcguardError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`ccguard: ${message}\n`);
    process.exit(code);
  }
}
