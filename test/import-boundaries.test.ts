// The CLI and the daemon meet only at the wire contract: no module under agent/cli imports one
// under agent/daemon, and no module outside agent/cli imports one under it.
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import t from 'tap';
import { ROOT } from './support/harness.js';

const AGENT = join(ROOT, 'agent');

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => join(e.parentPath, e.name));
}

/** Each relative import of a file (static, dynamic or type-only), resolved to a path under the repository. */
async function importsOf(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.{1,2}\/[^']+)'/g)].map((m) => m[1] as string);
  return specifiers.map((s) => relative(ROOT, resolve(dirname(file), s)));
}

async function crossings(from: (path: string) => boolean, into: string): Promise<string[]> {
  const found: string[] = [];
  for (const file of (await sources(AGENT)).filter((f) => from(relative(ROOT, f)))) {
    for (const target of await importsOf(file)) if (target.startsWith(into)) found.push(`${relative(ROOT, file)} -> ${target}`);
  }
  return found;
}

t.test('agent/cli imports nothing from agent/daemon', async (t) => {
  t.same(await crossings((p) => p.startsWith('agent/cli/'), 'agent/daemon/'), []);
});

t.test('nothing outside agent/cli imports from it', async (t) => {
  t.same(await crossings((p) => !p.startsWith('agent/cli/') && p !== 'agent/main.ts', 'agent/cli/'), []);
});

t.test('the check sees an import when there is one', async (t) => {
  // main.ts picks the process: it loads both sides.
  t.match(await importsOf(join(AGENT, 'main.ts')), ['agent/cli/cli.js', 'agent/daemon/entry.js']);
});
