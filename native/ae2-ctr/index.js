'use strict';
// The compiled N-API binding (built by `npm ci` through node-gyp).
module.exports = require('./build/Release/ae2ctr.node');
