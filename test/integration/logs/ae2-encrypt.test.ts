import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import t from 'tap';
import { Ae2EncryptStream, AE2_OVERHEAD } from '../../../agent/logs/ae2-encrypt.js';
import { ae2CtrUnavailable, ctrKernel, jsCtrKernel } from '../../../agent/logs/ae2-ctr.js';
import { exportLogs } from '../../../agent/logs/log-export.js';
import { Secret } from '../../../agent/common/secret.js';
import { sevenZip } from '../../support/seven-zip.js';

/** The data of the first entry of a zip whose local header carries the sizes (7-Zip writes them there). */
function firstEntry(zip: Buffer): { method: number; extra: Buffer; data: Buffer } {
  if (zip.readUInt32LE(0) !== 0x04034b50) throw new Error('not a zip local file header');
  const method = zip.readUInt16LE(8);
  const compressedSize = zip.readUInt32LE(18);
  const nameLength = zip.readUInt16LE(26);
  const extraLength = zip.readUInt16LE(28);
  const extra = zip.subarray(30 + nameLength, 30 + nameLength + extraLength);
  const start = 30 + nameLength + extraLength;
  return { method, extra, data: zip.subarray(start, start + compressedSize) };
}

t.test('byte for byte what 7-Zip writes for the same salt: AE-2, AES-256, little-endian counter', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ccguard-ae2-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const password = 'Log-Password-4-Support';
  // Several counter blocks, a tail that is not a whole block, and bytes above 0x7f.
  const plain = Buffer.concat([randomBytes(70_000), Buffer.from('tail ü€\n')]);
  await writeFile(join(dir, 'plain.bin'), plain);
  const made = await sevenZip(['a', '-tzip', '-mem=AES256', '-mx=0', `-p${password}`, join(dir, 'ref.zip'), join(dir, 'plain.bin')]);
  t.equal(made.code, 0, made.stderr);
  const ref = firstEntry(await readFile(join(dir, 'ref.zip')));
  t.equal(ref.method, 99, '7-Zip marks the entry AES (method 99)');
  t.equal(ref.data.length, plain.length + AE2_OVERHEAD);
  const salt = ref.data.subarray(0, 16);
  // Odd chunk sizes: the keystream must carry across chunk boundaries.
  const chunks = [plain.subarray(0, 5), plain.subarray(5, 4101), plain.subarray(4101, 4102), plain.subarray(4102)];
  const ours = await buffer(Readable.from(chunks).pipe(new Ae2EncryptStream(new Secret(password), salt)));
  t.equal(ours.length, ref.data.length);
  t.ok(ours.equals(ref.data), 'salt, verifier, ciphertext and authentication code identical to 7-Zip');
  const other = await buffer(Readable.from([plain]).pipe(new Ae2EncryptStream(new Secret('Another-Password-99'), salt)));
  t.notOk(other.equals(ref.data), 'another password gives other bytes');
});

t.test('the native counter mode and its JavaScript fallback give the same bytes, and 7-Zip opens both', async (t) => {
  t.equal(ae2CtrUnavailable(), null, 'native/ae2-ctr loads (build it with npm ci: it needs a C compiler and node-gyp)');
  const dir = await mkdtemp(join(tmpdir(), 'ccguard-ae2-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const password = 'Log-Password-4-Support';
  const plain = randomBytes(300_001);
  const salt = randomBytes(16);
  // Chunks of every phase against the 16-byte blocks, as deflate hands them over.
  const chunks: Buffer[] = [];
  for (let at = 0, size = 1; at < plain.length; at += size, size = (size * 7 + 3) % 20_011) chunks.push(plain.subarray(at, at + size));
  const encrypt = (kernel: typeof ctrKernel): Promise<Buffer> => buffer(Readable.from(chunks).pipe(new Ae2EncryptStream(new Secret(password), salt, kernel)));
  const fast = await encrypt(ctrKernel);
  const slow = await encrypt(jsCtrKernel);
  t.equal(fast.length, plain.length + AE2_OVERHEAD);
  t.ok(fast.equals(slow), 'byte-identical output');
  t.notOk(fast.subarray(18, 18 + 64).equals(plain.subarray(0, 64)), 'the data is encrypted');
  // Both as whole exports (two entries, deflated), opened and checked by 7-Zip.
  const logs = join(dir, 'logs');
  await mkdir(logs);
  await writeFile(join(logs, 'plain.bin'), plain);
  await writeFile(join(logs, 'charging.log'), 'a log line\n'.repeat(50_000));
  for (const [name, kernel] of [
    ['native', ctrKernel],
    ['javascript', jsCtrKernel],
  ] as const) {
    const zip = join(dir, `${name}.zip`);
    await pipeline((await exportLogs(logs, new Secret(password), 4, kernel)).archive, createWriteStream(zip));
    const tested = await sevenZip(['t', `-p${password}`, zip]);
    t.equal(tested.code, 0, `7z tests the ${name} zip: ${tested.stdout}${tested.stderr}`);
    const out = join(dir, name);
    const extracted = await sevenZip(['x', `-p${password}`, `-o${out}`, zip]);
    t.equal(extracted.code, 0, extracted.stderr);
    t.ok((await readFile(join(out, 'plain.bin'))).equals(plain), `the ${name} zip gives the data back`);
    t.equal(await readFile(join(out, 'charging.log'), 'utf8'), 'a log line\n'.repeat(50_000));
  }
});
