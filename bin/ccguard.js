#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=131072 UV_THREADPOOL_SIZE=8 node --jitless --no-expose-wasm --expose-gc --max-semi-space-size=1
// Entry point of the CLI, the daemon and the console; the build (npm ci runs it) emits dist/, and
// bundles the agent's own modules into dist/bundle/ (packaging/bundle.mjs: module loading is slow
// without the JIT). A CommonJS script (bin/package.json): the daemon starts from its CommonJS
// bundle and never loads Node's ES module loader; the CLI and the console load the ES modules.
// Without the JIT the daemon idles at ~50 MiB instead of ~54 MiB and needs no writable and
// executable memory; its heavy work (argon2, AES, the export's XOR) is native code either way.
// One malloc arena: with glibc's default each of libuv's pool threads keeps its own (measured:
// 127 MiB after 50 logins, 71 MiB with one). A fixed mmap threshold gives every large buffer back
// when it is freed (bench:abuse peak 128 → 109 MiB). argon2's memory does not go through malloc:
// the daemon keeps one mapping per concurrent hash (native/argon2-pool) and unmaps them after
// idle, so a login does not fault in 19 MiB each time (bench prints what that costs here).
// Eight pool threads instead of libuv's 4: a card that stops answering holds one per reader (a
// native PC/SC call cannot be cancelled; rfid/card-link.ts allows one per reader), beside the 2
// hashes (maxConcurrentHashes) and file I/O. Set here: Node's ESM loader reads this very file on the
// pool, so the size must be in the environment before node starts.
// --expose-gc: a log export starts V8's collector as it goes (agent/logs/collect.ts), or its spent
// chunks would stay resident until external memory grew by 64 MB. --max-semi-space-size=1 (MiB):
// V8's young generation grows to 3 × 16 MiB under a flood of requests by default, and that is
// most of the difference under abuse (bench:abuse peak 146 → 118 MiB); it costs more frequent
// minor collections (bench: the same request flood answered with V8's default, side by side).
'use strict';

/** Exit code of the contract for a checkout whose build is missing. */
const NOT_BUILT = 70;
const notBuilt = (err, file) =>
  err && (err.code === 'MODULE_NOT_FOUND' || err.code === 'ERR_MODULE_NOT_FOUND') && String(err.message).includes(`dist/bundle/${file}`);
const stopUnbuilt = () => {
  process.stderr.write('ccguard: not built yet; run "npm ci" (or "npm run build") in the checkout first\n');
  process.exit(NOT_BUILT);
};

let launch;
try {
  launch = require('../dist/bundle/launch.cjs');
} catch (err) {
  if (notBuilt(err, 'launch.cjs')) stopUnbuilt();
  throw err;
}
const route = launch.routeOf(process.argv.slice(2));
if (route.kind === 'daemon') {
  const bundle = require('node:path').join(__dirname, '..', 'dist', 'bundle', 'daemon.cjs');
  const report = (message) => process.stderr.write(`ccguard: ${message}\n`);
  const daemon = launch.requireWithCodeCache(bundle, { dir: launch.codeCacheDir(bundle), report });
  daemon.exports.startDaemonProcess(route.config, daemon);
} else {
  import('../dist/bundle/main.js').catch((err) => {
    if (notBuilt(err, 'main.js')) stopUnbuilt();
    throw err;
  });
}
