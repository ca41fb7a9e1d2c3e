// What the launcher (bin/ccguard.js) loads first, as CommonJS: which process to start, and the daemon's bundle with its code cache.
export { routeOf, type Route } from './route.js';
export { codeCacheDir, requireWithCodeCache } from './code-cache.js';
