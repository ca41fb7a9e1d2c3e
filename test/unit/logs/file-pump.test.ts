import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { FilePump } from '../../../agent/logs/file-pump.js';

const dir = await mkdtemp(join(tmpdir(), 'ccguard-pump-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const data = randomBytes(1_000_003);
await writeFile(join(dir, 'log'), data);

t.test('the file up to its size at open, block by block into the buffers given; the handle closed after the last', async (t) => {
  const handle = await open(join(dir, 'log'));
  const pump = new FilePump(handle, data.length - 3); // 3 bytes appended after the export opened it
  const into = Buffer.alloc(64 * 1024);
  const got: Buffer[] = [];
  for (let bytes = -1; bytes !== 0 && !pump.ended;) {
    bytes = await pump.read(into);
    got.push(Buffer.from(into.subarray(0, bytes)));
    t.ok(bytes === into.length || pump.ended, 'a block is full unless it is the last');
  }
  t.ok(Buffer.concat(got).equals(data.subarray(0, data.length - 3)), 'same bytes, in order, not the appended ones');
  t.equal(pump.bytesRead, data.length - 3);
  t.equal(await pump.read(into), 0, 'then nothing');
  await new Promise((resolve) => setTimeout(resolve, 20));
  await t.rejects(handle.stat(), 'the handle is closed');
});

t.test('an empty file: ended at once, its one read closes the handle', async (t) => {
  await writeFile(join(dir, 'empty'), '');
  const handle = await open(join(dir, 'empty'));
  const pump = new FilePump(handle, 0);
  t.ok(pump.ended);
  t.equal(await pump.read(Buffer.alloc(16)), 0);
  await new Promise((resolve) => setTimeout(resolve, 20));
  await t.rejects(handle.stat(), 'the handle is closed');
});

t.test('destroyed (the export aborted): the signal fires, reads fail, the handle is closed after the read in flight', async (t) => {
  const handle = await open(join(dir, 'log'));
  const pump = new FilePump(handle, data.length);
  let fired = false;
  pump.signal.addEventListener('abort', () => (fired = true));
  const reading = pump.read(Buffer.alloc(512 * 1024));
  pump.destroy();
  await t.rejects(reading, /aborted/, 'the read in flight fails');
  await t.rejects(pump.read(Buffer.alloc(16)), /aborted/);
  t.ok(fired, 'the stream reading it is told');
  await new Promise((resolve) => setTimeout(resolve, 20));
  await t.rejects(handle.stat(), 'the handle is closed');
});
