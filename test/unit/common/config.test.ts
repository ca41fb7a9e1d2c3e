import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { builtInConfig, loadConfig, parseConfig } from '../../../agent/common/config.js';
import { ConfigError } from '../../../agent/common/errors.js';

t.test('built-in defaults', async (t) => {
  const c = builtInConfig();
  t.equal(c.rfid.holdSeconds, 120);
  t.equal(c.rfid.dropoutGraceMs, 1500);
  t.same(c.rfid.tapResetsRoles, ['manufacturer', 'installer', 'operator', 'user']);
  t.same(c.argon2, { memoryKiB: 19456, timeCost: 2, parallelism: 1 }, "OWASP's argon2id minimum");
  t.equal(c.maxConcurrentHashes, 2);
  t.same(c.throttle, { freeFailures: 5, baseDelayMs: 1000, maxDelayMs: 900_000, roleCeiling: 20, tapGraceMs: 900_000 });
});

t.test('partial configs keep the defaults of what they leave out', async (t) => {
  const c = parseConfig({ stateDir: '/x', argon2: { timeCost: 3 }, rfid: { holdSeconds: 5 } }, 'test');
  t.equal(c.stateDir, '/x');
  t.same(c.argon2, { memoryKiB: 19456, timeCost: 3, parallelism: 1 });
  t.equal(c.rfid.holdSeconds, 5);
  t.equal(c.rfid.dropoutGraceMs, 1500);
});

const refused: Array<[unknown, RegExp]> = [
  [{ stateDirr: '/x' }, /unknown key "stateDirr"/],
  [{ rfid: { holdSecs: 3 } }, /unknown key "rfid\.holdSecs"/],
  [{ stateDir: 42 }, /stateDir: .*string/],
  [{ argon2: { memoryKiB: '19' } }, /argon2\.memoryKiB: .*number/],
  [{ rfid: { holdSeconds: -1 } }, /rfid\.holdSeconds/],
  [{ rfid: { tapResetsRoles: ['admin'] } }, /rfid\.tapResetsRoles\.0/],
  [{ socket: `/${'s'.repeat(200)}` }, /socket: a Unix socket path is at most 107 bytes/],
  [[1, 2], /the config must be a JSON object/],
];
for (const [raw, message] of refused) {
  t.test(`refuses ${JSON.stringify(raw).slice(0, 60)}`, async (t) => {
    t.throws(() => parseConfig(raw, 'cfg.json'), { constructor: ConfigError, message });
  });
}

t.test('file errors name the file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ccguard-cfg-'));
  t.teardown(() => rm(dir, { recursive: true }));
  const bad = join(dir, 'bad.json');
  await writeFile(bad, '{"stateDir": ');
  await t.rejects(loadConfig(bad), { message: new RegExp(`${bad} is not valid JSON`) });
  await t.rejects(loadConfig(join(dir, 'missing.json')), { message: /cannot read config .*missing\.json: ENOENT/ });
});

t.test('the console section and the sessions the daemon holds: defaults, and refusals naming the key', async (t) => {
  const base = { stateDir: '/s', socket: '/s.sock', logDir: '/l' };
  const config = parseConfig(base, 'test');
  t.match(config.console, { host: '::', port: 8443, requestTimeoutMs: 30_000, bodyLimitBytes: 16 * 1024, loginAttemptsPerMinute: 10 }, 'listens on [::]:8443');
  t.same(config.sessions, { idleMs: 15 * 60_000, absoluteMs: 12 * 3_600_000, max: 64 }, '15 min idle, 12 h absolute');
  t.equal(parseConfig({ ...base, console: { host: '127.0.0.1', port: 9443 } }, 'test').console.port, 9443);
  t.throws(() => parseConfig({ ...base, console: { port: 70_000 } }, 'test'), /console\.port/);
  t.throws(() => parseConfig({ ...base, console: { host: 'not an address' } }, 'test'), /console\.host/);
  t.throws(() => parseConfig({ ...base, console: { listen: '[::]:8443' } }, 'test'), /console\.listen/, 'an unknown key is named');
  t.throws(() => parseConfig({ ...base, sessions: { idleMs: 10 } }, 'test'), /sessions\.idleMs/);
});
