'use strict';
// The compiled N-API binding (built by `npm ci` through node-gyp).
module.exports = require('./build/Release/sd_notify.node');
