import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { OutputFile } from '../../../agent/cli/export-file.js';

const dir = await mkdtemp(join(tmpdir(), 'ccguard-output-file-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));

/** Counts fdatasync(2) calls made through any FileHandle while `run` goes. */
async function countingDatasyncs<T>(run: () => Promise<T>): Promise<{ result: T; syncs: number }> {
  const probe = await open(join(dir, 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
  await probe.close();
  const original = proto.datasync;
  let syncs = 0;
  proto.datasync = function (this: unknown) {
    syncs++;
    return original.call(this);
  };
  try {
    return { result: await run(), syncs };
  } finally {
    proto.datasync = original;
  }
}

async function writeAll(out: OutputFile, data: Buffer, chunk = 64 * 1024): Promise<void> {
  for (let at = 0; at < data.length; at += chunk) await out.write(data.subarray(at, at + chunk));
}

t.test('a 20 MiB download: synced as it is written, the same bytes under its name, mode 0600, no partial file left', async (t) => {
  const data = randomBytes(20 * 1024 * 1024);
  const target = join(dir, 'logs.zip');
  const { syncs } = await countingDatasyncs(async () => {
    const out = await OutputFile.create(target, false);
    await writeAll(out, data);
    await out.commit();
  });
  t.ok(syncs >= 2, `${syncs} background syncs while 20 MiB were written (one per 8 MiB)`);
  t.ok((await readFile(target)).equals(data), 'the same bytes');
  t.equal((await stat(target)).mode & 0o777, 0o600);
  t.same(
    (await readdir(dir)).filter((f) => f.includes('partial')),
    [],
    'no partial file',
  );
});

t.test('discarded while a background sync is in flight: the partial file goes, nothing throws, the name stays free', async (t) => {
  const target = join(dir, 'cut.zip');
  const out = await OutputFile.create(target, false);
  await writeAll(out, randomBytes(9 * 1024 * 1024)); // past the first sync
  await out.discard();
  await out.discard(); // a second Ctrl-C
  t.same(
    (await readdir(dir)).filter((f) => f.startsWith('.cut.zip')),
    [],
    'the partial file is gone',
  );
  await t.rejects(stat(target), { code: 'ENOENT' });
});

t.test('a name that appeared during the download is not replaced without --force; with it, it is', async (t) => {
  const target = join(dir, 'raced.zip');
  const first = await OutputFile.create(target, false);
  await writeAll(first, Buffer.from('ours'));
  await writeFile(target, 'theirs');
  await t.rejects(first.commit(), /appeared during the export; give --force/);
  t.equal(await readFile(target, 'utf8'), 'theirs');
  const forced = await OutputFile.create(target, true);
  await writeAll(forced, Buffer.from('ours'));
  await forced.commit();
  t.equal(await readFile(target, 'utf8'), 'ours');
  t.same(
    (await readdir(dir)).filter((f) => f.startsWith('.raced.zip')),
    [],
    'no partial file',
  );
});

t.test('bad targets are named: a missing directory, a directory, an existing file', async (t) => {
  await t.rejects(OutputFile.create(join(dir, 'nowhere', 'a.zip'), false), /the directory .*nowhere does not exist/);
  await t.rejects(OutputFile.create(dir, false), /is a directory; give a file name/);
  await writeFile(join(dir, 'there.zip'), 'x');
  await t.rejects(OutputFile.create(join(dir, 'there.zip'), false), /already exists; give --force/);
});
