// Entry point. The daemon runs for months on a small controller, so its exact command lines
// (`daemon`, `daemon --config FILE`) skip loading the CLI parser (~5 MiB); every other command
// line, `daemon --help` included, goes through the full CLI.
const args = process.argv.slice(2);
const configPath =
  args[0] !== 'daemon'
    ? undefined
    : args.length === 1
      ? null
      : args.length === 3 && args[1] === '--config'
        ? args[2]
        : args.length === 2 && args[1]?.startsWith('--config=')
          ? args[1].slice('--config='.length)
          : undefined;

// `ccguard console [--config FILE]`: the HTTPS console, its own process; it loads none of the daemon.
const consoleConfig =
  args[0] !== 'console'
    ? undefined
    : args.length === 1
      ? null
      : args.length === 3 && args[1] === '--config'
        ? args[2]
        : args.length === 2 && args[1]?.startsWith('--config=')
          ? args[1].slice('--config='.length)
          : undefined;

if (consoleConfig !== undefined && consoleConfig !== '') {
  const { startConsoleProcess } = await import('../console/entry.js');
  await startConsoleProcess(consoleConfig);
} else if (configPath === undefined || configPath === '') {
  const { main } = await import('./cli/cli.js');
  await main(
    process.argv,
    async (path) => (await import('./daemon/entry.js')).startDaemonProcess(path),
    async (path) => (await import('../console/entry.js')).startConsoleProcess(path),
  );
} else {
  const { startDaemonProcess } = await import('./daemon/entry.js');
  await startDaemonProcess(configPath);
}
