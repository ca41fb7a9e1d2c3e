#!/usr/bin/env -S node --jitless --no-expose-wasm
// Entry point of the CLI and the daemon; the TypeScript build (npm ci runs it) emits dist/.
// Without the JIT the daemon idles at ~49 MiB instead of ~54 MiB and needs no writable and
// executable memory; its heavy work (argon2) is native code either way.
try {
  await import('../dist/agent/main.js');
} catch (err) {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/agent/main.js')) {
    process.stderr.write('ccguard: not built yet; run "npm ci" (or "npm run build") in the checkout first\n');
    process.exit(70);
  }
  throw err;
}
