import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import * as v from 'valibot';
import { GenerationStore } from '../../../agent/store/generation-store.js';
import { StateError } from '../../../agent/common/errors.js';

const schema = v.strictObject({ n: v.number(), text: v.string() });

async function fresh(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ccguard-store-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'state');
}

const stateFiles = async (dir: string): Promise<string[]> => (await readdir(dir)).sort();

t.test('writes generations atomically and keeps exactly the previous one', async (t) => {
  const dir = await fresh(t);
  const store = new GenerationStore(dir, schema);
  await store.prepare(true);
  t.same(await store.load(), { state: null, generation: 0, rejected: [] });
  for (let n = 1; n <= 4; n++) await store.update(() => ({ n, text: `gen ${n}` }));
  t.same(await stateFiles(dir), ['state.000000000003.json', 'state.000000000004.json']);
  const again = new GenerationStore(dir, schema);
  const loaded = await again.load();
  t.same(loaded.state, { n: 4, text: 'gen 4' });
  t.equal(loaded.generation, 4);
});

t.test('updates run one at a time, each on the result of the last', async (t) => {
  const dir = await fresh(t);
  const store = new GenerationStore(dir, schema);
  await store.prepare(true);
  await store.update(() => ({ n: 0, text: '' }));
  await Promise.all(Array.from({ length: 20 }, () => store.update((s) => ({ n: (s?.n ?? 0) + 1, text: '' }))));
  t.equal(store.current?.n, 20);
  t.equal((await new GenerationStore(dir, schema).load()).state?.n, 20);
});

const damages: Array<[string, (text: string) => string]> = [
  ['torn (truncated) payload', (text) => text.slice(0, text.length - 5)],
  ['a flipped byte in the payload', (text) => text.replace('gen 2', 'gen X')],
  ['a damaged header', (text) => `x${text}`],
  ['an empty file', () => ''],
  [
    'valid checksum, wrong schema',
    () => {
      const payload = JSON.stringify({ n: 'two' });
      const sha = createHash('sha256').update(payload).digest('hex');
      return `ccguard-state v1 generation=2 sha256=${sha}\n${payload}`;
    },
  ],
];

for (const [label, damage] of damages) {
  t.test(`a newest generation with ${label} is never used: falls back to the previous`, async (t) => {
    const dir = await fresh(t);
    const store = new GenerationStore(dir, schema);
    await store.prepare(true);
    await store.update(() => ({ n: 1, text: 'gen 1' }));
    await store.update(() => ({ n: 2, text: 'gen 2' }));
    const newest = join(dir, 'state.000000000002.json');
    await writeFile(newest, damage(await readFile(newest, 'utf8')));
    const reopened = new GenerationStore(dir, schema);
    const loaded = await reopened.load();
    t.same(loaded.state, { n: 1, text: 'gen 1' });
    t.equal(loaded.rejected.length, 1);
    t.match(loaded.rejected[0]?.file, /state\.000000000002\.json$/);
    t.ok(await stateFiles(dir).then((f) => f.includes('state.000000000002.json.corrupt')), 'the bad file is set aside');
    // The next write continues from the good generation and keeps it as the previous one.
    await reopened.update(() => ({ n: 3, text: 'gen 3' }));
    t.same((await new GenerationStore(dir, schema).load()).state, { n: 3, text: 'gen 3' });
    t.ok((await stateFiles(dir)).includes('state.000000000001.json'));
  });
}

t.test('every generation bad: no state, each rejected', async (t) => {
  const dir = await fresh(t);
  const store = new GenerationStore(dir, schema);
  await store.prepare(true);
  await store.update(() => ({ n: 1, text: '' }));
  await store.update(() => ({ n: 2, text: '' }));
  for (const f of await stateFiles(dir)) await writeFile(join(dir, f), 'garbage');
  const loaded = await new GenerationStore(dir, schema).load();
  t.equal(loaded.state, null);
  t.equal(loaded.rejected.length, 2);
});

t.test('temp files left by an interrupted write are removed and never loaded', async (t) => {
  const dir = await fresh(t);
  const store = new GenerationStore(dir, schema);
  await store.prepare(true);
  await store.update(() => ({ n: 1, text: '' }));
  await writeFile(join(dir, 'state.000000000002.json.tmp-abcdef'), 'half a file', { mode: 0o600 });
  const loaded = await new GenerationStore(dir, schema).load();
  t.equal(loaded.state?.n, 1);
  t.same(await stateFiles(dir), ['state.000000000001.json']);
});

t.test('files are 0600 in a 0700 directory; looser modes are refused naming the path', async (t) => {
  const dir = await fresh(t);
  const store = new GenerationStore(dir, schema);
  await store.prepare(true);
  await store.update(() => ({ n: 1, text: '' }));
  const file = join(dir, 'state.000000000001.json');
  t.equal((await stat(dir)).mode & 0o777, 0o700);
  t.equal((await stat(file)).mode & 0o777, 0o600);
  await chmod(file, 0o644);
  await t.rejects(new GenerationStore(dir, schema).load(), { constructor: StateError, message: new RegExp(`${file}.*0644.*chmod 0600`) });
  await chmod(file, 0o600);
  await chmod(dir, 0o750);
  await t.rejects(new GenerationStore(dir, schema).prepare(false), { message: new RegExp(`${dir} .*chmod 0700`) });
});

t.test('root writing into a directory owned by the service user hands the files to that user', async (t) => {
  const dir = await fresh(t);
  const { mkdir, chown } = await import('node:fs/promises');
  await mkdir(dir, { mode: 0o700 });
  const root = process.getuid?.() === 0;
  if (root) await chown(dir, 4242, 4243);
  const store = new GenerationStore(dir, schema);
  await store.prepare(false);
  await store.update(() => ({ n: 1, text: '' }));
  const info = await stat(join(dir, 'state.000000000001.json'));
  // Without root no ownership can change hands: the files are the writer's own.
  t.same([info.uid, info.gid], root ? [4242, 4243] : [process.getuid?.(), process.getgid?.()]);
});
