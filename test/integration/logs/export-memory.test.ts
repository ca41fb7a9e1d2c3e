// The export's working memory under the runtime as shipped (bin/ccguard.js's flags and
// environment): a 200 MB log file, of text and of random bytes (whose deflated blocks are as large
// as their input), exported in a process of its own; its peak RSS above what it held before the
// export stays a few blocks' worth, whatever the size of the file.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { BIN } from '../../support/harness.js';

/** Peak RSS growth allowed (measured 27 MiB with 2 MiB blocks and 3 jobs; random parts deflate to blocks as large as their input): the pool's blocks in and out, zlib's state per job, spent chunks until the next collection (agent/logs/collect.ts), V8's own heap. */
const BOUND_MIB = 40;
const FILE_BYTES = 200 * 1000 * 1000;

/** The launcher's `#!/usr/bin/env -S A=1 … node --flag …`: its environment and node's flags. */
async function launcher(): Promise<{ env: Record<string, string>; flags: string[] }> {
  const words = ((await readFile(BIN, 'utf8')).split('\n')[0] as string).replace(/^#!\S+\s+-S\s+/, '').split(/\s+/);
  const nodeAt = words.indexOf('node');
  const env = Object.fromEntries(words.slice(0, nodeAt).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
  return { env, flags: words.slice(nodeAt + 1) };
}

const SCRIPT = `
import { readFileSync, writeFileSync } from 'node:fs';
import { text } from 'node:stream/consumers';
const { exportLogs } = await import(process.env.EXPORT_MODULE);
const { Secret } = await import(process.env.SECRET_MODULE);
const kib = (field) => Number(new RegExp(field + ':\\\\s+(\\\\d+) kB').exec(readFileSync('/proc/self/status', 'utf8'))[1]);
const password = (await text(process.stdin)).trim();
const before = kib('VmRSS');
writeFileSync('/proc/self/clear_refs', '5'); // the peak from here on
const zip = await exportLogs(process.env.LOG_DIR, new Secret(password), 4);
let bytes = 0;
for await (const chunk of zip.archive) bytes += chunk.length;
console.log(JSON.stringify({ before, peak: kib('VmHWM'), bytes }));
`;

t.test(`exporting a 200 MB file grows the process's peak RSS by less than ${BOUND_MIB} MiB`, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ccguard-export-memory-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const line = (i: number): string => `{"level":30,"time":${1764892800000 + i * 211},"msg":"MeterValues","energyWh":${(i * 7919) % 100000}}\n`;
  const textChunk = Buffer.from(Array.from({ length: 120_000 }, (_, i) => line(i)).join(''));
  const file = await open(join(dir, 'charging.log'), 'w');
  for (let written = 0; written < FILE_BYTES;) {
    const piece = written % (4 * textChunk.length) === 0 ? randomBytes(textChunk.length) : textChunk;
    const n = Math.min(piece.length, FILE_BYTES - written);
    await file.write(piece, 0, n);
    written += n;
  }
  await file.close();
  const { env, flags } = await launcher();
  const child = spawn(process.execPath, [...flags, '--input-type=module', '-e', SCRIPT], {
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      ...env,
      LOG_DIR: dir,
      EXPORT_MODULE: new URL('../../../agent/logs/log-export.js', import.meta.url).href,
      SECRET_MODULE: new URL('../../../agent/common/secret.js', import.meta.url).href,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end('Support-Zip-Key-2026!\n');
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.equal(code, 0, err);
  const { before, peak, bytes } = JSON.parse(out) as { before: number; peak: number; bytes: number };
  t.ok(bytes > FILE_BYTES / 5, `a zip of ${(bytes / 1e6).toFixed(1)} MB was streamed`);
  const growth = (peak - before) / 1024;
  t.ok(growth < BOUND_MIB, `peak RSS ${(peak / 1024).toFixed(1)} MiB, ${growth.toFixed(1)} MiB above the ${(before / 1024).toFixed(1)} MiB before the export`);
});
