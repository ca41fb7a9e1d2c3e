import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import t from 'tap';
import { FilePump } from '../../../agent/logs/file-pump.js';

const dir = await mkdtemp(join(tmpdir(), 'ccguard-pump-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const data = randomBytes(1_000_003);
await writeFile(join(dir, 'log'), data);

t.test('the file arrives whole and in order, read into two reused buffers; the handle is closed', async (t) => {
  const handle = await open(join(dir, 'log'));
  const got: Buffer[] = [];
  const seen = new Set<ArrayBufferLike>();
  // A slow consumer: a chunk's buffer must not be read into before its write was consumed.
  const sink = new Writable({
    highWaterMark: 1,
    write: (chunk: Buffer, _encoding, done) => {
      got.push(Buffer.from(chunk));
      seen.add(chunk.buffer);
      setTimeout(done, 2);
    },
  });
  let counted = 0;
  const pump = new FilePump(handle, data.length, 64 * 1024);
  await pump.run(sink, (chunk) => (counted += chunk.length));
  t.ok(Buffer.concat(got).equals(data), 'same bytes');
  t.equal(counted, data.length);
  t.equal(pump.bytesRead, data.length);
  t.equal(seen.size, 2, 'two buffers for 16 chunks');
  await t.rejects(handle.stat(), 'the handle is closed');
});

t.test('destroyed mid-file (the export aborted): run rejects, the stream is destroyed, nothing is left unhandled', async (t) => {
  const unhandled: unknown[] = [];
  const note = (err: unknown): number => unhandled.push(err);
  process.on('unhandledRejection', note);
  t.teardown(() => void process.off('unhandledRejection', note));
  const handle = await open(join(dir, 'log'));
  const sink = new Writable({ write: (_chunk, _encoding, done) => setTimeout(done, 5) });
  const errors: Error[] = [];
  sink.on('error', (err) => errors.push(err)); // in the export, the entry's pipeline takes it
  const pump = new FilePump(handle, data.length, 64 * 1024);
  const running = pump.run(sink, () => undefined);
  setTimeout(() => pump.destroy(), 12);
  await t.rejects(running);
  t.ok(sink.destroyed, 'the deflate it fed is destroyed');
  t.match(errors[0]?.message, /aborted/);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.same(unhandled, [], 'no unhandled rejection (the daemon would exit on one)');
  await t.rejects(handle.stat(), 'the handle is closed');
});
