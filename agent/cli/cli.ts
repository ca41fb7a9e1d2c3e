import { Argument, Command, CommanderError } from 'commander';
import { CcguardError, EXIT, exitCodeFor } from '../common/errors.js';
import { visible } from '../common/visible.js';
import { VERSION } from '../common/version.js';
import { masterCardCommand } from './commands/cards.js';
import { consoleCommand, daemonCommand, provisionCommand, type StartConsole, type StartDaemon } from './commands/device.js';
import { acknowledgeFallbackCommand, auditCommand, eventsCommand, readersCommand, statusCommand } from './commands/diagnostics.js';
import { logsCommand } from './commands/logs.js';
import { logPasswordCommand, loginCommand, passwdCommand, policyCommand, pukCommand } from './commands/passwords.js';
import { defaultsCommand, httpsCommand, webUiCommand } from './commands/settings.js';
import { syncCommand } from './commands/sync.js';
import { bashCompletion } from './completion.js';

function buildProgram(startDaemon: StartDaemon, startConsole: StartConsole): Command {
  const program = new Command('ccguard')
    .description('Security agent of an EV charge controller: credentials, recovery paths, logs')
    .version(VERSION, '-V, --version')
    .showHelpAfterError()
    .exitOverride();

  // In the order `ccguard --help` lists them.
  daemonCommand(program, startDaemon);
  consoleCommand(program, startConsole);
  provisionCommand(program);
  statusCommand(program);
  loginCommand(program);
  passwdCommand(program);
  policyCommand(program);
  webUiCommand(program);
  httpsCommand(program);
  pukCommand(program);
  masterCardCommand(program);
  defaultsCommand(program);
  readersCommand(program);
  logPasswordCommand(program);
  logsCommand(program);
  eventsCommand(program);
  syncCommand(program);
  auditCommand(program);
  acknowledgeFallbackCommand(program);

  program
    .command('completion')
    .description('print a shell completion script')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash']))
    .action(() => {
      process.stdout.write(bashCompletion(program));
    });

  return program;
}

/** Runs the CLI and exits with the contract's exit code. */
export async function main(argv: readonly string[], startDaemon: StartDaemon, startConsole: StartConsole): Promise<void> {
  const program = buildProgram(startDaemon, startConsole);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    // Exit at once: a daemon that failed to start may hold open log files or timers.
    process.exit(reportError(err));
  }
}

function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
    if (err.code === 'ccguard.usage') process.stderr.write(`ccguard: ${visible(err.message)}\n`);
    return EXIT.usage;
  }
  if (err instanceof CcguardError) {
    process.stderr.write(`ccguard: ${visible(err.message)}\n`);
    return exitCodeFor(err.code);
  }
  process.stderr.write(`ccguard: unexpected error: ${(err instanceof Error ? (err.stack ?? err.message) : String(err)).split('\n').map(visible).join('\n')}\n`);
  return EXIT.refused;
}
