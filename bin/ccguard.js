#!/usr/bin/env node
// Entry point of the CLI and the daemon; the TypeScript build (npm ci runs it) emits dist/.
let cli;
try {
  cli = await import('../dist/agent/cli.js');
} catch (err) {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/agent/cli.js')) {
    process.stderr.write('ccguard: not built yet; run "npm ci" (or "npm run build") in the checkout first\n');
    process.exit(70);
  }
  throw err;
}
await cli.main(process.argv);
