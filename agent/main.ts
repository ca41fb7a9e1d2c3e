// Entry point of the CLI, the daemon and the console (agent/route.ts says which a command line starts).
import { routeOf } from './launch/route.js';

const route = routeOf(process.argv.slice(2));

if (route.kind === 'daemon') {
  const { startDaemonProcess } = await import('./daemon/entry.js');
  await startDaemonProcess(route.config);
} else if (route.kind === 'console') {
  const { startConsoleProcess } = await import('../console/entry.js');
  await startConsoleProcess(route.config);
} else {
  const { main } = await import('./cli/cli.js');
  await main(
    process.argv,
    async (path) => (await import('./daemon/entry.js')).startDaemonProcess(path),
    async (path) => (await import('../console/entry.js')).startConsoleProcess(path),
  );
}
