// Entry point. The daemon runs for months on a small controller, so its exact command lines
// (`daemon`, `daemon --config FILE`) skip loading the CLI parser (~5 MiB); so do the console's
// (`console [--config FILE]`, its own process, which loads none of the daemon). Every other command
// line, `daemon --help` included, goes through the full CLI.
const args = process.argv.slice(2);

/** The config path of the exact command line `COMMAND [--config FILE]` (null: none given), else undefined. */
function configOf(command: 'daemon' | 'console'): string | null | undefined {
  if (args[0] !== command) return undefined;
  if (args.length === 1) return null;
  if (args.length === 3 && args[1] === '--config') return args[2] || undefined;
  if (args.length === 2 && args[1]?.startsWith('--config=')) return args[1].slice('--config='.length) || undefined;
  return undefined;
}

const daemonConfig = configOf('daemon');
const consoleConfig = configOf('console');

if (daemonConfig !== undefined) {
  const { startDaemonProcess } = await import('./daemon/entry.js');
  await startDaemonProcess(daemonConfig);
} else if (consoleConfig !== undefined) {
  const { startConsoleProcess } = await import('../console/entry.js');
  await startConsoleProcess(consoleConfig);
} else {
  const { main } = await import('./cli/cli.js');
  await main(
    process.argv,
    async (path) => (await import('./daemon/entry.js')).startDaemonProcess(path),
    async (path) => (await import('../console/entry.js')).startConsoleProcess(path),
  );
}
