// One log export in this process, to a file: what bench/logs-export.ts runs with the JIT and
// with --jitless side by side, so the interpreter's share of the daemon's export shows in the
// same run. The Log Password comes on stdin (one line), never in argv.
//   node [--jitless] dist/bench/export-once.js LOG_DIR OUT_FILE LEVEL < password
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { text } from 'node:stream/consumers';
import { Secret } from '../agent/common/secret.js';
import { exportLogs } from '../agent/logs/log-export.js';

const [logDir, out, level] = process.argv.slice(2);
if (!logDir || !out || !level) {
  console.error('usage: export-once.js LOG_DIR OUT_FILE LEVEL < password');
  process.exit(2);
}
const password = (await text(process.stdin)).split('\n')[0] ?? '';
const t0 = performance.now();
const zip = await exportLogs(logDir, password ? new Secret(password) : null, Number(level));
await pipeline(zip.archive, createWriteStream(out));
console.log(JSON.stringify({ seconds: (performance.now() - t0) / 1000 }));
