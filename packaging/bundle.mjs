// Bundles the compiled agent (OUT/agent/main.js and everything of ours it imports) into
// OUT/bundle/: Node's ES module loader runs in the interpreter under the launcher's --jitless,
// and resolving, reading and linking ~110 files cost more than the daemon's own start-up
// (bench: spawn → READY). The pure-JavaScript packages every start loads go in too (pino and the
// dozen CommonJS files it requires, valibot, p-limit); the rest stay external (native modules,
// and what loads lazily or finds its own files). Lazily imported parts become chunks.
// The daemon also gets a CommonJS bundle of its own (OUT/bundle/daemon.cjs, beside launch.cjs,
// what the launcher loads first): its start then needs no ES module loader, and the launcher can
// give V8 a code cache for it (bench: spawn → READY, with and without each).
//   node packaging/bundle.mjs OUT      (npm run build and build-deb.sh run it)
import { readFile, rm } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const out = resolve(process.argv[2] ?? 'dist');
const bundleDir = join(out, 'bundle');

// import.meta.url in a bundled module would name the bundle; each module's own URL is what its
// paths are relative to (the blocklist, the sync helper, package.json). In the CommonJS bundle the
// bundle's own URL comes from __filename, and import() of a package becomes require(): functions
// V8 takes from a code cache lose the dynamic import callback (agent/launch/code-cache.ts); every
// package the daemon imports lazily is CommonJS, and the namespace is the one Node's import() gives
// a CommonJS module (its exports, and the exports object as default).
const ownModules = ({ bundleUrl, requireImports }) => ({
  name: 'own-modules',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, async (args) => {
      if (/[\\/]node_modules[\\/]/.test(args.path)) return undefined;
      let source = await readFile(args.path, 'utf8');
      const fromBundle = relative(bundleDir, args.path).split('\\').join('/');
      source = source.replaceAll('import.meta.url', `new URL(${JSON.stringify(fromBundle)}, ${bundleUrl}).href`);
      if (requireImports) {
        source = source.replace(
          /\bimport\((['"])([^'"./][^'"]*)\1\)/g,
          (_, quote, name) => `Promise.resolve().then(() => { const m = require(${quote}${name}${quote}); return { ...m, default: m }; })`,
        );
      }
      return { contents: source, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
});

// The daemon's start loads no node:assert and no node:worker_threads for pino (packaging/shims/ say why).
const shimsDir = join(dirname(fileURLToPath(import.meta.url)), 'shims');
const SHIMS = [
  { importer: /[\\/]node_modules[\\/](sonic-boom|thread-stream)[\\/]/, path: 'assert', shim: 'assert.cjs' },
  { importer: /[\\/]node_modules[\\/]pino[\\/]lib[\\/]tools\.js$/, path: 'worker_threads', shim: 'pino-worker-threads.cjs' },
  { importer: /[\\/]node_modules[\\/]pino[\\/]lib[\\/]transport\.js$/, path: 'thread-stream', shim: 'thread-stream.cjs' },
];
const startupShims = {
  name: 'startup-shims',
  setup(b) {
    b.onResolve({ filter: /^(assert|worker_threads|thread-stream)$/ }, (args) => {
      const shim = SHIMS.find((s) => s.path === args.path && s.importer.test(args.importer));
      if (shim) return { path: join(shimsDir, shim.shim) };
      // The shim's own require of the real package stays a require at run time.
      if (args.path === 'thread-stream' && args.importer.startsWith(shimsDir)) return { path: args.path, external: true };
      return undefined;
    });
  },
};

/** Bundled with the agent: loaded at every start, plain JavaScript, no files of their own found at run time. */
const BUNDLED = new Set(['pino', 'valibot', 'p-limit']);
// The daemon's ES-module-only packages (Node 20.11, armhf's, cannot require() them), for log exports
// only: each in a CommonJS bundle of its own (OUT/bundle/vendor/), required at the first export, so
// the daemon's bundle, read and kept at every start, stays half the size.
// module.exports as Node's import() of the package would give the daemon: the namespace, and
// zip-stream's default export (the daemon imports it as default; esbuild's require() of it, in
// Node's mode, takes module.exports as the default).
const VENDOR = { archiver: 'module.exports = require("archiver");', 'zip-stream': 'module.exports = require("zip-stream").default;' };
const vendored = {
  name: 'vendored-packages',
  setup(b) {
    b.onResolve({ filter: /^(archiver|zip-stream)$/ }, (args) =>
      /[\\/]node_modules[\\/]/.test(args.importer) ? undefined : { path: `./vendor/${args.path}.cjs`, external: true },
    );
  },
};
const external = (bundled) => ({
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:')) return { path: args.path, external: true };
      // Inside a bundled package, its own dependencies are bundled with it.
      if (/[\\/]node_modules[\\/]/.test(args.importer)) return undefined;
      const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
      return bundled.has(name) ? undefined : { path: args.path, external: true };
    });
  },
});

// Chunks of an earlier build would otherwise stay beside the new ones (and go into a package).
await rm(bundleDir, { recursive: true, force: true });
await build({
  entryPoints: { main: join(out, 'agent', 'main.js') },
  outdir: bundleDir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunk-[hash]',
  plugins: [external(BUNDLED), ownModules({ bundleUrl: 'import.meta.url', requireImports: false })],
  // CommonJS packages bundled into ES modules still call require() for Node's own modules.
  banner: { js: "import { createRequire as __ccguardRequire } from 'node:module'; const require = __ccguardRequire(import.meta.url);" },
  logLevel: 'warning',
});
await build({
  entryPoints: { daemon: join(out, 'agent', 'daemon', 'entry.js'), launch: join(out, 'agent', 'launch', 'index.js') },
  outdir: bundleDir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  plugins: [startupShims, vendored, external(BUNDLED), ownModules({ bundleUrl: "require('node:url').pathToFileURL(__filename)", requireImports: true })],
  logLevel: 'warning',
});
for (const [name, contents] of Object.entries(VENDOR)) {
  await build({
    stdin: { contents, resolveDir: dirname(fileURLToPath(import.meta.url)), loader: 'js' },
    outfile: join(bundleDir, 'vendor', `${name}.cjs`),
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
  });
}
