import { randomBytes } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { mkdtemp, open, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import { inflateRawSync } from 'node:zlib';
import t from 'tap';
import { FilePump } from '../../../agent/logs/file-pump.js';
import { BLOCK_BYTES, DeflatePool, ParallelDeflate, deflateBlock, type DeflateJob } from '../../../agent/logs/parallel-deflate.js';

const dir = await mkdtemp(join(tmpdir(), 'ccguard-pdeflate-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));

/** Log lines like the agent's: compressible, but not one repeated line. */
function logText(bytes: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `{"level":30,"time":${1764892800000 + i * 137},"msg":"MeterValues","connector":${i % 2},"energyWh":${(i * 7919) % 100000},"tx":"${randomBytes(4).toString('hex')}"}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

let files = 0;
async function deflateFile(data: Buffer, pool: DeflatePool, run?: DeflateJob): Promise<{ out: Buffer; blocks: Buffer[]; pump: FilePump }> {
  const path = join(dir, `f${files++}`);
  await writeFile(path, data);
  const blocks: Buffer[] = [];
  const pump = new FilePump(await open(path), data.length);
  const deflate = new ParallelDeflate(pump, {
    level: 4,
    pool,
    ...(run ? { run } : {}),
    onBlock: (b) => blocks.push(Buffer.from(b)),
  });
  const out = await buffer(deflate);
  await new Promise((resolve) => setImmediate(resolve)); // destroyed (autoDestroy) after 'end'
  return { out, blocks, pump };
}

/** A job runner that counts jobs between their start and their callback, and holds results back `delay(k)` ms. */
function countingRunner(delay: (job: number) => number = () => 0): { run: DeflateJob; started: () => number; maxInFlight: () => number; finished: number[] } {
  let started = 0;
  let inFlight = 0;
  let max = 0;
  const finished: number[] = [];
  const run: DeflateJob = (input, options, done) => {
    const k = started++;
    max = Math.max(max, ++inFlight);
    deflateBlock(input, options, (err, output) => {
      const report = (): void => {
        inFlight--;
        finished.push(k);
        done(err, output);
      };
      const ms = delay(k);
      if (ms > 0) setTimeout(report, ms);
      else report();
    });
  };
  return { run, started: () => started, maxInFlight: () => max, finished };
}

t.test('one valid raw deflate stream for every size around the block boundaries; onBlock sees the input in order', async (t) => {
  const block = 64 * 1024;
  const pool = new DeflatePool(2, block);
  const text = logText(5 * block + 1);
  const cases: Array<[string, Buffer]> = [
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from('x')],
    ['less than a block', text.subarray(0, 1000)],
    ['exactly one block', text.subarray(0, block)],
    ['exactly 3 blocks', text.subarray(0, 3 * block)],
    ['3 blocks + 1 byte', text.subarray(0, 3 * block + 1)],
    ['5 blocks + 1 byte of random bytes', randomBytes(5 * block + 1)],
  ];
  for (const [name, data] of cases) {
    const { out, blocks, pump } = await deflateFile(data, pool);
    t.ok(inflateRawSync(out).equals(data), `${name}: inflates to the input`);
    // The export keeps every pump to its end (progress): a finished stream must not stay reachable from it.
    t.equal(getEventListeners(pump.signal, 'abort').length, 0, `${name}: the finished stream no longer listens to its source`);
    t.ok(Buffer.concat(blocks).equals(data), `${name}: the blocks, in order, are the input`);
    t.equal(blocks.length, Math.max(1, Math.ceil(data.length / block)), `${name}: ${blocks.length} block(s)`);
  }
});

t.test('blocks smaller than the 32 KiB window: the dictionary spans several blocks', async (t) => {
  const data = logText(300_001);
  const { out } = await deflateFile(data, new DeflatePool(3, 20_000));
  t.ok(inflateRawSync(out).equals(data));
});

t.test('tens of MB of log text and of random bytes with the default blocks; the dictionary keeps the size near one stream', async (t) => {
  const pool = new DeflatePool();
  const text = logText(24 * 1024 * 1024 + 12345);
  const { out } = await deflateFile(text, pool);
  t.ok(inflateRawSync(out).equals(text), 'log text');
  const oneStream = (
    await buffer(new ParallelDeflate(new FilePump(await open(join(dir, `f${files - 1}`)), text.length), { level: 4, pool: new DeflatePool(1, text.length) }))
  ).length;
  t.ok(out.length < oneStream * 1.01, `${out.length} bytes in ${BLOCK_BYTES}-byte blocks, ${oneStream} in one: within 1 %`);
  const random = randomBytes(10 * 1024 * 1024 + 1);
  t.ok(inflateRawSync((await deflateFile(random, pool)).out).equals(random), 'random bytes');
});

t.test('jobs in flight never exceed the pool’s slots, and reach them', async (t) => {
  for (const jobs of [2, 3]) {
    const runner = countingRunner(() => 2); // jobs that take a while, as 1 MiB ones do
    const data = logText(40 * 16 * 1024);
    const { out } = await deflateFile(data, new DeflatePool(jobs, 16 * 1024), runner.run);
    t.ok(inflateRawSync(out).equals(data));
    t.equal(runner.started(), 40);
    t.equal(runner.maxInFlight(), jobs, `at most ${jobs} jobs at once, and ${jobs} were`);
  }
});

t.test('output in order when a later block finishes first', async (t) => {
  const runner = countingRunner((k) => (k === 0 ? 150 : 0));
  const data = logText(6 * 16 * 1024 + 7);
  const { out } = await deflateFile(data, new DeflatePool(3, 16 * 1024), runner.run);
  t.not(runner.finished[0], 0, `job 0 finished late: ${runner.finished.join(',')}`);
  t.ok(inflateRawSync(out).equals(data), 'the stream is whole and in order');
});

t.test('entries sharing a pool: the next starts while the last jobs of the one before run; both correct', async (t) => {
  const pool = new DeflatePool(2, 16 * 1024);
  const a = logText(10 * 16 * 1024 + 3);
  const b = randomBytes(7 * 16 * 1024);
  await writeFile(join(dir, 'a'), a);
  await writeFile(join(dir, 'b'), b);
  let second: Promise<Buffer> | null = null;
  const first = new ParallelDeflate(new FilePump(await open(join(dir, 'a')), a.length), {
    level: 4,
    pool,
    onLastSubmitted: () => {
      second = open(join(dir, 'b')).then((handle) => buffer(new ParallelDeflate(new FilePump(handle, b.length), { level: 4, pool })));
    },
  });
  t.ok(inflateRawSync(await buffer(first)).equals(a));
  t.ok(second, 'the second entry was started by the first');
  t.ok(inflateRawSync(await (second as unknown as Promise<Buffer>)).equals(b));
});

t.test('a file truncated while it is read yields the bytes that were there, on a block boundary or not', async (t) => {
  const block = 16 * 1024;
  for (const left of [2 * block + 100, 2 * block, 0]) {
    const data = logText(5 * block);
    const path = join(dir, `truncated-${left}`);
    await writeFile(path, data);
    const handle = await open(path);
    const pump = new FilePump(handle, data.length);
    await truncate(path, left); // after the export opened it and took its size
    const out = await buffer(new ParallelDeflate(pump, { level: 4, pool: new DeflatePool(2, block) }));
    t.ok(inflateRawSync(out).equals(data.subarray(0, left)), `truncated to ${left}: the first ${left} bytes`);
    t.equal(pump.bytesRead, left);
    await t.rejects(handle.stat(), 'the handle is closed');
  }
});

async function openFds(): Promise<number> {
  return (await readdir('/proc/self/fd')).length;
}

t.test('destroyed mid-entry (the client went away): no further job starts, the handle is closed, the stream fails with the reason', async (t) => {
  const block = 16 * 1024;
  const data = randomBytes(64 * block);
  const path = join(dir, 'abort');
  await writeFile(path, data);
  const pool = new DeflatePool(2, block);
  const runner = countingRunner((k) => (k === 1 ? 100 : 0)); // job 1 keeps its slot: the entry stalls there
  const fds = await openFds();
  const handle = await open(path);
  const deflate = new ParallelDeflate(new FilePump(handle, data.length), { level: 4, pool, run: runner.run });
  const failed = new Promise<Error>((resolve) => deflate.once('error', resolve));
  deflate.resume();
  while (runner.started() < 3) await sleep(5);
  const reason = new Error('the client closed the connection during the transfer');
  deflate.destroy(reason);
  t.equal(await failed, reason, 'the stream fails with the reason');
  const started = runner.started();
  await sleep(250);
  t.equal(runner.started(), started, `no job started after the abort (${started} before)`);
  t.ok(started < 64);
  await t.rejects(handle.stat(), 'the handle is closed');
  t.equal(await openFds(), fds, 'no descriptor left open');
  // Every slot and buffer went back to the pool: another entry runs through it.
  const again = randomBytes(5 * block);
  t.ok(inflateRawSync((await deflateFile(again, pool)).out).equals(again), 'the pool serves the next entry');
});

t.test('the export’s abort (FilePump.destroy) fails the stream and closes the handle', async (t) => {
  const block = 16 * 1024;
  const data = randomBytes(64 * block);
  const path = join(dir, 'abort-pump');
  await writeFile(path, data);
  const handle = await open(path);
  const pump = new FilePump(handle, data.length);
  const runner = countingRunner((k) => (k === 1 ? 100 : 0));
  const deflate = new ParallelDeflate(pump, { level: 4, pool: new DeflatePool(2, block), run: runner.run });
  const failed = new Promise<Error>((resolve) => deflate.once('error', resolve));
  deflate.resume();
  while (runner.started() < 2) await sleep(5);
  pump.destroy();
  t.match((await failed).message, /aborted/);
  const started = runner.started();
  await sleep(200);
  t.equal(runner.started(), started, 'no job started after the abort');
  await t.rejects(handle.stat(), 'the handle is closed');
  await t.rejects(pump.read(Buffer.alloc(block)), /aborted/, 'a read after the abort fails');
});
