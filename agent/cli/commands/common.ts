import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Argument, type Command, CommanderError, Option } from 'commander';
import { ROLES, SETTINGS_ROLES } from '../../../policy/roles.js';
import { builtInConfig, loadConfig, SYSTEM_CONFIG_PATH, type Config } from '../../common/config.js';
import { EXIT } from '../../common/errors.js';
import { terminalSafeJson, visibleDeep } from '../../common/visible.js';
import { readSecrets } from '../secret-input.js';

/** What every command that talks to the daemon takes, and what a reading command adds. */
export interface ClientOptions {
  socket?: string;
  stdin?: boolean;
  json?: boolean;
}

export async function configFrom(path: string | undefined): Promise<Config> {
  return path ? loadConfig(path) : builtInConfig();
}

/** --socket, else CCGUARD_SOCKET, else the installed config's socket, else the built-in default. */
export async function socketPath(options: ClientOptions): Promise<string> {
  if (options.socket) return options.socket;
  if (process.env.CCGUARD_SOCKET) return process.env.CCGUARD_SOCKET;
  if (existsSync(SYSTEM_CONFIG_PATH)) return (await loadConfig(SYSTEM_CONFIG_PATH)).socket;
  return builtInConfig().socket;
}

/**
 * One answer on stdout: as one JSON line with --json (with nothing a terminal acts on), else in
 * words from visible text only (`visibleDeep` keeps the shape, escaping what strings hold).
 */
export function print<T>(value: T, json: boolean | undefined, human: (v: T) => string): void {
  process.stdout.write(`${json ? terminalSafeJson(value) : human(visibleDeep(value) as T)}\n`);
}

export function clientCommand(cmd: Command): Command {
  return cmd
    .addOption(new Option('--socket <path>', 'control socket of the daemon (else $CCGUARD_SOCKET, else the configured one)'))
    .addOption(new Option('--stdin', 'read secrets from standard input, one per line, instead of prompting'));
}

export const manufacturerPassword = async (opts: ClientOptions): Promise<string> =>
  (await readSecrets([{ label: 'Password for manufacturer' }], opts.stdin === true))[0] as string;

export const roleArgument = (): Argument => new Argument('<role>', 'manufacturer, installer, operator or user').choices(ROLES);

/** A commander parser for a whole number in [min, max]; anything else is a usage error. */
export const wholeNumber =
  (flag: string, min: number, max: number) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new CommanderError(EXIT.usage, 'ccguard.usage', `${flag} takes a whole number from ${min} to ${max}`);
    }
    return n;
  };

export const settingsRoleOption = (): Option => new Option('--as <role>', 'the role acting').choices(SETTINGS_ROLES).default('operator');
export const onOffOption = (flag: string, what: string): Option => new Option(`${flag} <on|off>`, what).choices(['on', 'off']);

/**
 * ssh2 needs WebAssembly (its poly1305), which node without its JIT lacks: a command that uses it
 * runs again in a plain node (only client-side commands; the daemon uses a helper process).
 */
export async function rerunWithJitForSsh2(): Promise<void> {
  if (!process.execArgv.includes('--jitless')) return;
  // Loaded here: node:child_process costs every other command's start ~5 ms.
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [fileURLToPath(new URL('../../main.js', import.meta.url)), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(await new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? EXIT.refused))));
}
