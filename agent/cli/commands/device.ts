import type { Command } from 'commander';
import { ROLES } from '../../../policy/roles.js';
import { configFrom, print } from './common.js';

/** Starts the daemon process in the foreground: given by the entry point, so that the CLI holds no daemon code. */
export type StartDaemon = (configPath: string | null) => Promise<void>;

export function daemonCommand(program: Command, startDaemon: StartDaemon): void {
  program
    .command('daemon')
    .description('run the agent in the foreground (without --config: the built-in default config)')
    .option('--config <file>', 'JSON config file')
    .action(async (opts: { config?: string }) => {
      await startDaemon(opts.config ?? null);
    });
}

/** Starts the HTTPS console in the foreground: given by the entry point, like the daemon (the CLI holds none of it). */
export type StartConsole = (configPath: string | null) => Promise<void>;

export function consoleCommand(program: Command, startConsole: StartConsole): void {
  program
    .command('console')
    .description('run the HTTPS security console in the foreground (its own process and unit: ccguard-console.service)')
    .option('--config <file>', 'JSON config file (its "console" section: address, port, timeouts)')
    .action(async (opts: { config?: string }) => {
      await startConsole(opts.config ?? null);
    });
}

export function provisionCommand(program: Command): void {
  program
    .command('provision')
    .description("create a new device's state with per-role default passwords")
    .option('--config <file>', 'JSON config file (else the built-in default config)')
    .option('--defaults <file>', 'JSON {"manufacturer": …, "installer": …, "operator": …, "user": …}; else random defaults are generated and printed once')
    .option('--force', 'replace an existing state (every password goes back to a new default)')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { config?: string; defaults?: string; force?: boolean; json?: boolean }) => {
      const { provision, readDefaultsFile } = await import('../provision.js');
      const config = await configFrom(opts.config);
      const defaults = opts.defaults ? await readDefaultsFile(opts.defaults) : null;
      const result = await provision(config, { defaults, force: opts.force === true });
      const out = { stateDir: result.stateDir, generation: result.generation, defaults: result.generated };
      print(out, opts.json, () => {
        const lines = [`provisioned ${result.stateDir} (generation ${result.generation})`];
        if (result.generated) {
          lines.push('default passwords for the device label (shown only this once):');
          for (const role of ROLES) lines.push(`  ${role.padEnd(13)}${result.generated[role]}`);
        }
        lines.push('every role must change its default password at its first login');
        return lines.join('\n');
      });
    });
}
