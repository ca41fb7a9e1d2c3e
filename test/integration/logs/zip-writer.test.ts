// The export's zips, deflated in parallel blocks (agent/logs/parallel-deflate.ts), through the real
// tool: 7-Zip tests and extracts them, plain and AES-256, and refuses a wrong password; Node's zlib
// inflates each entry's raw deflate stream on its own.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { inflateRawSync } from 'node:zlib';
import t, { type Test } from 'tap';
import { Secret } from '../../../agent/common/secret.js';
import { exportLogs } from '../../../agent/logs/log-export.js';
import { BLOCK_BYTES } from '../../../agent/logs/parallel-deflate.js';
import { sevenZip } from '../../support/seven-zip.js';

const PASSWORD = 'Support-Zip-Key-2026!';

/** Log lines like the agent's: compressible, not one repeated line. */
function logText(bytes: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `{"level":30,"time":${1764892800000 + i * 137},"msg":"StatusNotification","evse":${i % 4},"status":"${i % 3 ? 'Charging' : 'Available'}","id":"${randomBytes(6).toString('hex')}"}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

/** Each entry of a zip by its central directory: name, method and its stored (compressed) data. */
function entries(zip: Buffer): Array<{ name: string; method: number; data: Buffer }> {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const found: Array<{ name: string; method: number; data: Buffer }> = [];
  for (let k = 0; k < count; k++) {
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const [nameLength, extraLength, commentLength] = [zip.readUInt16LE(at + 28), zip.readUInt16LE(at + 30), zip.readUInt16LE(at + 32)];
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    found.push({ name, method, data: zip.subarray(start, start + compressed) });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return found;
}

const dir = await mkdtemp(join(tmpdir(), 'ccguard-zip-writer-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const logs = join(dir, 'logs');
await mkdir(logs);
const text = logText(24 * 1024 * 1024 + 4321);
const files: Record<string, Buffer> = {
  empty: Buffer.alloc(0),
  'small.log': text.subarray(0, 1000),
  'three-blocks.log': text.subarray(0, 3 * BLOCK_BYTES),
  'three-blocks-and-a-byte.log': text.subarray(0, 3 * BLOCK_BYTES + 1),
  'charging.log': text,
  'random.bin': randomBytes(12 * 1024 * 1024 + 17),
};
for (const [name, data] of Object.entries(files)) await writeFile(join(logs, name), data);

async function exported(name: string, password: string | null): Promise<string> {
  const zip = join(dir, name);
  await pipeline((await exportLogs(logs, password === null ? null : new Secret(password), 4)).archive, createWriteStream(zip));
  return zip;
}

async function extractedEqual(t: Test, zip: string, args: string[], out: string): Promise<void> {
  const x = await sevenZip(['x', ...args, `-o${out}`, zip]);
  t.equal(x.code, 0, x.stderr);
  for (const [name, data] of Object.entries(files)) t.ok((await readFile(join(out, name))).equals(data), `${name}: the extracted bytes are the file's`);
}

t.test('plain: 7z tests and extracts every entry; each entry is one raw deflate stream zlib inflates', async (t) => {
  const zip = await exported('plain.zip', null);
  const tested = await sevenZip(['t', zip]);
  t.equal(tested.code, 0, `7z t: ${tested.stdout}${tested.stderr}`);
  t.match(tested.stdout, /Everything is Ok/);
  await extractedEqual(t, zip, [], join(dir, 'plain'));
  const inZip = entries(await readFile(zip));
  t.same(inZip.map((e) => e.name).sort(), Object.keys(files).sort());
  for (const entry of inZip) {
    t.equal(entry.method, 8, `${entry.name}: deflated`);
    t.ok(inflateRawSync(entry.data).equals(files[entry.name] as Buffer), `${entry.name}: zlib inflates its data to the file`);
  }
});

t.test('with the Log Password: 7z tests and extracts with it, refuses a wrong one', async (t) => {
  const zip = await exported('aes.zip', PASSWORD);
  const tested = await sevenZip(['t', `-p${PASSWORD}`, zip]);
  t.equal(tested.code, 0, `7z t: ${tested.stdout}${tested.stderr}`);
  t.not((await sevenZip(['t', '-pWrong-Password-2026!', zip])).code, 0, 'a wrong password fails');
  await extractedEqual(t, zip, [`-p${PASSWORD}`], join(dir, 'aes'));
  const listing = await sevenZip(['l', '-slt', `-p${PASSWORD}`, zip]);
  t.match(listing.stdout, /Method = AES-256 Deflate/);
});

t.test('no larger than 7-Zip at its fastest (-mx=1) on the same files', async (t) => {
  const ours = (await readFile(await exported('size.zip', PASSWORD))).length;
  const reference = join(dir, '7z.zip');
  const made = await sevenZip(['a', '-tzip', '-mem=AES256', '-mx=1', `-p${PASSWORD}`, reference, `${logs}/.`]);
  t.equal(made.code, 0, made.stderr);
  const theirs = (await readFile(reference)).length;
  t.ok(ours <= theirs, `${ours} bytes, 7-Zip ${theirs}`);
});
