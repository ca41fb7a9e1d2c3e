// Which process a command line starts. The daemon runs for months on a small controller, so its
// exact command lines (`daemon`, `daemon --config FILE`) skip loading the CLI parser (~5 MiB); so do
// the console's (`console [--config FILE]`, its own process, which loads none of the daemon). Every
// other command line, `daemon --help` included, goes through the full CLI. The launcher
// (bin/ccguard.js) asks this before it loads anything else, so the daemon starts from its
// CommonJS bundle without Node's ES module loader (packaging/bundle.mjs).

export type Route = { kind: 'daemon' | 'console'; config: string | null } | { kind: 'cli' };

/** The config path of the exact command line `COMMAND [--config FILE]` (null: none given), else undefined. */
function configOf(args: readonly string[], command: 'daemon' | 'console'): string | null | undefined {
  if (args[0] !== command) return undefined;
  if (args.length === 1) return null;
  if (args.length === 3 && args[1] === '--config') return args[2] || undefined;
  if (args.length === 2 && args[1]?.startsWith('--config=')) return args[1].slice('--config='.length) || undefined;
  return undefined;
}

/** `args`: the command line after the script (process.argv.slice(2)). */
export function routeOf(args: readonly string[]): Route {
  const daemon = configOf(args, 'daemon');
  if (daemon !== undefined) return { kind: 'daemon', config: daemon };
  const console = configOf(args, 'console');
  if (console !== undefined) return { kind: 'console', config: console };
  return { kind: 'cli' };
}
