// Bundles the compiled agent (OUT/agent/main.js and everything of ours it imports) into
// OUT/bundle/: Node's ES module loader runs in the interpreter under the launcher's --jitless,
// and resolving, reading and linking ~110 files cost more than the daemon's own start-up
// (bench: spawn → READY). npm packages stay external (loaded from node_modules as before);
// lazily imported parts become chunks loaded when first used.
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

await build({
  entryPoints: { main: join(out, 'agent', 'main.js') },
  outdir: bundleDir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  chunkNames: 'chunk-[hash]',
  plugins: [ownUrls],
  logLevel: 'warning',
});
