// pino's transports run in a worker (thread-stream); the daemon's logs use none, so its CommonJS
// bundle loads thread-stream (and node:worker_threads) only if a transport is ever built.
'use strict';
module.exports = function ThreadStream(options) {
  const Real = require('thread-stream');
  return new Real(options);
};
