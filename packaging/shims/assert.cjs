// node:assert as sonic-boom and thread-stream call it (assert(value, message)), for the daemon's
// CommonJS bundle only: loading node:assert builds process.stderr's stream (its colour check), ~5 ms
// of the daemon's start under --jitless, for checks that never fail in the daemon's use of pino.
'use strict';
function assert(value, message) {
  if (!value) {
    const err = new Error(message ?? 'assertion failed');
    err.code = 'ERR_ASSERTION';
    throw err;
  }
}
assert.ok = assert;
module.exports = assert;
