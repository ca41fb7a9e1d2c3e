// What pino/lib/tools.js takes from node:worker_threads, for the daemon's CommonJS bundle only:
// daemon.cjs runs only on the launcher's main thread (bin/ccguard.js), and pino asks only to
// register an exit flush for destinations of its own, which the daemon does not use. Loading
// node:worker_threads costs the daemon's start ~3 ms under --jitless.
'use strict';
module.exports = { isMainThread: true };
