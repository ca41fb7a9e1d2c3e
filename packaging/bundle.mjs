// Bundles the compiled agent (OUT/agent/main.js and everything of ours it imports) into
// OUT/bundle/: Node's ES module loader runs in the interpreter under the launcher's --jitless,
// and resolving, reading and linking ~110 files cost more than the daemon's own start-up
// (bench: spawn → READY). The pure-JavaScript packages every start loads go in too (pino and the
// dozen CommonJS files it requires, valibot, p-limit); the rest stay external (native modules,
// and what loads lazily or finds its own files). Lazily imported parts become chunks.
//   node packaging/bundle.mjs OUT      (npm run build and build-deb.sh run it)
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { build } from 'esbuild';

const out = resolve(process.argv[2] ?? 'dist');
const bundleDir = join(out, 'bundle');

// import.meta.url in a bundled module would name the bundle; each module's own URL is what its
// paths are relative to (the blocklist, the sync helper, package.json).
const ownUrls = {
  name: 'own-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      const fromBundle = relative(bundleDir, args.path).split('\\').join('/');
      return {
        contents: source.replaceAll('import.meta.url', `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`),
        loader: 'js',
        resolveDir: dirname(args.path),
      };
    });
  },
};

/** Bundled with the agent: loaded at every start, plain JavaScript, no files of their own found at run time. */
const BUNDLED = new Set(['pino', 'valibot', 'p-limit']);
const external = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:')) return { path: args.path, external: true };
      // Inside a bundled package, its own dependencies are bundled with it.
      if (/[\\/]node_modules[\\/]/.test(args.importer)) return undefined;
      const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
      return BUNDLED.has(name) ? undefined : { path: args.path, external: true };
    });
  },
};

await build({
  entryPoints: { main: join(out, 'agent', 'main.js') },
  outdir: bundleDir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunk-[hash]',
  plugins: [external, ownUrls],
  // CommonJS packages bundled into ES modules still call require() for Node's own modules.
  banner: { js: "import { createRequire as __ccguardRequire } from 'node:module'; const require = __ccguardRequire(import.meta.url);" },
  logLevel: 'warning',
});
