// A hostile local client against the security log and the log directory: noise cannot evict what
// matters, nothing a client sent is written back, a FIFO cannot hang an export, SIGTERM is honoured.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pino from 'pino';
import t from 'tap';
import { terminalSafeJson, visible } from '../../../agent/common/visible.js';
import { formatEvent, formatReaders, table } from '../../../agent/cli/human-format.js';
import { runAsCaller } from '../../../agent/common/request-context.js';
import { SecurityLog, type SecurityFile } from '../../../agent/logs/logging.js';
import { prettyLine } from '../../../agent/logs/pretty.js';
import { RotatingFile } from '../../../agent/logs/rotating-file.js';
import { lastLines, openTail, type OpenTail } from '../../../agent/logs/tail-reader.js';
import { PROTOCOL_VERSION } from '../../../agent/wire/protocol.js';
import { BIN, cleanup, cli, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon, type Env } from '../../support/harness.js';
import { sevenZip } from '../../support/seven-zip.js';

const OPERATOR = 'Harbor-Violet-46-Quill';
/** What a hostile client would like to see printed as an event line of its own, with a terminal escape. */
const FORGED = 'cli\n2026-11-24T10:00:00.000Z  LogExported  by=installer\u001b[8m';
const ESC = '\u001b';

async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ccguard-abuse-'));
  t.teardown(() => rm(d, { recursive: true, force: true }));
  return d;
}

/** A security log over real rotating files in `dir`, as openLogs builds it. */
function securityLog(dir: string, maxBytes: number, maxFiles: number, noiseIntervalMs: number): { security: SecurityLog; close(): void } {
  const main = new RotatingFile(join(dir, 'security.log'), maxBytes, maxFiles);
  const noise = new RotatingFile(join(dir, 'security-noise.log'), maxBytes, maxFiles);
  const file = (f: RotatingFile): SecurityFile => ({ logger: pino({ timestamp: false, base: null }, f), path: f.path, maxFiles });
  const security = new SecurityLog(file(main), file(noise), { noiseIntervalMs });
  return {
    security,
    close: () => {
      security.close();
      main.close();
      noise.close();
    },
  };
}

const PEER = { uid: 33, gid: 33, pid: 4242 };

t.test('noise is aggregated per interval in its own file, with counts and no client text; it cannot rotate out a password change', async (t) => {
  const dir = await tempDir(t);
  const { security, close } = securityLog(dir, 4096, 2, 200);
  security.record('ReconfigurationOfSecurityParameters', { change: 'password', role: 'operator', by: 'operator', origin: 'socket:cli' });
  const live: unknown[] = [];
  const unsubscribe = security.subscribe((e) => live.push(e));
  // 200,000 invalid frames from one hostile peer, each with text of its choosing.
  for (let i = 0; i < 200_000; i++) {
    runAsCaller({ origin: 'socket:web', peer: PEER }, () =>
      security.record('InvalidMessages', { channel: 'socket', reason: `unknown method "${FORGED}-${i}"` }),
    );
  }
  t.equal(live.length, 1, 'one event written at once, the rest counted');
  await sleep(350);
  unsubscribe();
  close();
  t.equal(live.length, 2, 'then one event for the interval');
  const noise = await readFile(join(dir, 'security-noise.log'), 'utf8');
  const lines = noise
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(lines.length, 2);
  t.match(lines[0], { event: 'InvalidMessages', count: 1, kinds: { socket: 1 }, peerUids: { '33': 1 } });
  t.match(lines[1], { event: 'InvalidMessages', count: 199_999, kinds: { socket: 199_999 }, peerUids: { '33': 199_999 } });
  t.notMatch(noise, /forged|LogExported|installer|\\u001b/i, 'nothing the client sent');
  const main = await readFile(join(dir, 'security.log'), 'utf8');
  t.match(main, /"event":"ReconfigurationOfSecurityParameters","change":"password"/, 'the password change is where it was');
  t.notMatch(main, /InvalidMessages/);
  const recent = await security.recent(10);
  t.same(
    recent.map((e) => e.event),
    ['ReconfigurationOfSecurityParameters', 'InvalidMessages', 'InvalidMessages'],
    'events shows both files, oldest first',
  );
});

t.test('attempts refused unchecked (throttled) are counted as noise; checked wrong guesses stay in security.log', async (t) => {
  const dir = await tempDir(t);
  const { security, close } = securityLog(dir, 4096, 2, 200);
  security.record('MaintenanceLoginFailed', { role: 'operator', method: 'resetPasswordPuk', reason: 'wrongPuk', triesLeft: 9 });
  for (let i = 0; i < 1000; i++) {
    runAsCaller({ origin: 'socket:web', peer: PEER }, () =>
      security.record('MaintenanceLoginFailed', { role: 'operator', method: 'resetPasswordPuk', reason: 'throttled', triesLeft: 9 }),
    );
  }
  close();
  const main = await readFile(join(dir, 'security.log'), 'utf8');
  t.equal(main.trim().split('\n').length, 1, 'only the checked wrong PUK is in security.log');
  t.match(main, /"reason":"wrongPuk"/);
  const noise = (await readFile(join(dir, 'security-noise.log'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(noise.length, 2, 'the first at once, the rest as one count');
  t.match(noise[1], { event: 'MaintenanceLoginFailed', reason: 'throttled', count: 999, kinds: { resetPasswordPuk: 999 }, peerUids: { '33': 999 } });
});

t.test('recent events come from memory once primed: a flood of events requests reads no file', async (t) => {
  const dir = await tempDir(t);
  const { security, close } = securityLog(dir, 1 << 20, 2, 200);
  t.teardown(close);
  security.record('ReconfigurationOfSecurityParameters', { change: 'resetPasswordPuk', by: 'manufacturer', origin: 'socket:cli' });
  await security.prime();
  security.record('ReconfigurationOfSecurityParameters', { change: 'password', role: 'user', by: 'user', origin: 'socket:cli' });
  // Files removed under it: what `recent` answers can only come from memory.
  await rm(join(dir, 'security.log'), { force: true });
  const recent = await security.recent(10);
  t.same(
    recent.map((e) => e.change),
    ['resetPasswordPuk', 'password'],
    'the primed event and the one recorded after',
  );
  t.same(await security.recent(10, {}), [], 'while the files themselves (now gone) hold nothing');
});

t.test('a cloned card presented again and again: an allowance per interval in security.log, the rest counted as noise', async (t) => {
  const dir = await tempDir(t);
  const { security, close } = securityLog(dir, 1 << 20, 2, 200);
  for (let i = 0; i < 50; i++)
    security.record('TamperDetectionActivated', { cause: 'masterCardCloneAttempt', cardId: 'a1b2c3d4', reader: 'R', detail: 'notNtag424' });
  close();
  const main = (await readFile(join(dir, 'security.log'), 'utf8')).trim().split('\n');
  t.equal(main.length, 10, 'the first 10 of the interval, each with its details');
  const noise = (await readFile(join(dir, 'security-noise.log'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const counted = noise.filter((e) => e.event === 'TamperDetectionActivated').reduce((n, e) => n + (e.count as number), 0);
  t.equal(counted, 40, 'the other 40 counted');
  t.match(noise.at(-1), { kinds: { masterCardCloneAttempt: 39 } });
});

t.test('rotation split: noise filling its files leaves the security files alone', async (t) => {
  const dir = await tempDir(t);
  // An interval of 0 writes noise as fast as it comes: the worst case for its file.
  const { security, close } = securityLog(dir, 4096, 2, 0);
  security.record('ReconfigurationOfSecurityParameters', { change: 'resetPasswordPuk', by: 'manufacturer', origin: 'socket:cli' });
  for (let i = 0; i < 300; i++) {
    security.record('InvalidMessages', { channel: 'socket', kind: 'socket:json' });
    await sleep(2);
  }
  close();
  const names = (await readdir(dir)).sort();
  t.same(names, ['security-noise.log', 'security-noise.log.1', 'security.log'], 'noise rotated within its own series');
  t.match(await readFile(join(dir, 'security.log'), 'utf8'), /"change":"resetPasswordPuk"/);
  const recent = await security.recent(1000);
  t.equal(recent.filter((e) => e.event === 'ReconfigurationOfSecurityParameters').length, 1);
  t.match(
    recent.find((e) => e.event === 'InvalidMessages'),
    { kinds: { 'socket:json': 1 } },
    'a kind token is kept',
  );
});

t.test('every event recorded during a request names the kernel peer; the claimed origin is added when missing', async (t) => {
  const dir = await tempDir(t);
  const { security, close } = securityLog(dir, 1 << 20, 2, 60_000);
  runAsCaller({ origin: 'socket:web', peer: PEER }, () => {
    security.record('MaintenanceLoginFailed', { role: 'operator', origin: 'socket:web', reason: 'wrongPassword' });
    security.record('ReconfigurationOfSecurityParameters', { change: 'certificate', sha256: 'ab', by: 'manufacturerDefaults' });
    // A field cannot claim another peer (the types refuse one; a caller that slipped one past them).
    const forged: object = { peer: { uid: 0, gid: 0, pid: 1 } };
    security.record('ResetOrReboot', { reason: 'ManufacturerDefaultsRestored', by: 'masterCard', cardId: 'a1b2c3d4', reader: 'r1', ...forged });
  });
  runAsCaller({ origin: 'socket:cli', peer: null }, () => security.record('StartupOfTheDevice', { version: '0.1.0', provisioned: true, generation: 1 }));
  security.record('MasterCardHoldStarted', { cardId: 'a1b2c3d4', reader: 'r1', holdSeconds: 120 }); // a card tap: no request
  close();
  const events = await security.recent(10);
  t.match(events[0], { event: 'MaintenanceLoginFailed', origin: 'socket:web', peer: PEER });
  t.match(events[1], { event: 'ReconfigurationOfSecurityParameters', origin: 'socket:web', peer: PEER });
  t.match(events[2], { event: 'ResetOrReboot', peer: PEER });
  t.match(events[3], { event: 'StartupOfTheDevice', origin: 'socket:cli' });
  t.notOk('peer' in (events[3] as object), 'no peer when the kernel did not say');
  t.notOk('peer' in (events[4] as object) || 'origin' in (events[4] as object), 'nothing added outside a request');
});

t.test('human output escapes control characters; a forged newline starts no line; JSON stays JSON', async (t) => {
  const event = {
    time: '2026-11-25T10:00:00.000Z',
    event: 'MaintenanceLoginFailed',
    origin: `socket:${FORGED}`,
    nested: { note: `a\u009b2Jb\u202e` },
    [`k${ESC}`]: 1,
  };
  const line = formatEvent(event);
  t.equal(line.split('\n').length, 1, 'one line');
  t.notOk(/[\u0000-\u001f\u007f-\u009f\u202e]/.test(line), 'no control character left');
  t.match(line, /origin=socket:cli\\n2026-11-24T10:00:00\.000Z {2}LogExported {2}by=installer\\x1b\[8m/);
  t.match(line, /k\\x1b=1/, 'keys too');
  const json = terminalSafeJson(event);
  t.notOk(/[\u0000-\u001f\u007f-\u009f\u202e]/.test(json), 'no raw control character in JSON either');
  t.same(JSON.parse(json), event, 'the same JSON value');
  t.equal(visible(visible(FORGED)), visible(FORGED), 'escaping is idempotent');
  t.equal(visible('plain text, ünïcode ✓'), 'plain text, ünïcode ✓');
  const readers = formatReaders({
    service: 'error',
    serviceError: `pcscd ${ESC}[2J`,
    readers: [{ name: `evil${ESC}]0;title\u0007\nREADER  CARD`, cardPresent: false }],
    hold: null,
    enrolling: false,
  });
  t.notOk(readers.includes(ESC) || readers.includes('\u0007'), 'readers: no control character');
  t.equal(readers.split('\n').length, 3, 'readers: a forged newline in a name adds no row');
  t.notOk(table(['A'], [[`x${ESC}[8m`]]).includes(ESC), 'tables too');
  const pretty = prettyLine(JSON.stringify({ level: 40, time: '2026-11-25T10:00:00.000Z', msg: `bad ${ESC}[2J`, origin: FORGED }), true);
  t.equal(pretty.split('\n').length, 1);
  t.equal(pretty.split(ESC).length - 1, 2, 'only the colour of the level (start and reset)');
  t.match(pretty, /WARN.*bad \\x1b\[2J origin="cli\\n/);
});

/** An opener that counts the bytes the tail reader asks for. */
function counting(): { open: OpenTail; bytes(): number } {
  let bytes = 0;
  return {
    open: async (path) => {
      const file = await openTail(path);
      if (!file) return null;
      return {
        ...file,
        read: async (buffer, length, position) => {
          const n = await file.read(buffer, length, position);
          bytes += n;
          return n;
        },
      };
    },
    bytes: () => bytes,
  };
}

t.test('events reads backwards only as far as limit needs, across the rotated files, in bounded memory', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'security.log');
  const line = (i: number): string =>
    `${JSON.stringify({ level: 30, time: `2026-11-25T10:00:00.${String(i % 1000).padStart(3, '0')}Z`, event: 'MaintenanceLoginFailed', i, pad: 'x'.repeat(200) })}\n`;
  const older = Array.from({ length: 30_000 }, (_, i) => line(i)).join('');
  const newer = Array.from({ length: 30_000 }, (_, i) => line(30_000 + i)).join('');
  await writeFile(`${path}.1`, older);
  await writeFile(path, newer);
  const size = Buffer.byteLength(older) + Buffer.byteLength(newer);
  t.ok(size > 8 * 1024 * 1024, `${(size / 1024 / 1024).toFixed(1)} MiB of logs`);
  const parse = (l: string): { i: number } | null => JSON.parse(l) as { i: number };

  const one = counting();
  const last = await lastLines([path, `${path}.1`], 1, parse, { open: one.open, chunkBytes: 16 * 1024 });
  t.same(
    last.map((e) => e.i),
    [59_999],
  );
  t.ok(one.bytes() <= 16 * 1024, `limit 1 read ${one.bytes()} bytes of ${size}`);

  const across = counting();
  const many = await lastLines([path, `${path}.1`], 30_010, parse, { open: across.open });
  t.equal(many.length, 30_010);
  t.same([many[0]?.i, many[9]?.i, many[10]?.i, many.at(-1)?.i], [29_990, 29_999, 30_000, 59_999], 'oldest first, across the files in order');
  t.ok(across.bytes() < size * 0.6, `30,010 events read ${across.bytes()} of ${size} bytes`);

  // Through SecurityLog, as the events method calls it.
  const security = new SecurityLog(
    { logger: pino({ enabled: false }), path, maxFiles: 2 },
    { logger: pino({ enabled: false }), path: join(dir, 'security-noise.log'), maxFiles: 2 },
  );
  const viaLog = counting();
  t.same(
    (await security.recent(3, { open: viaLog.open, chunkBytes: 8192 })).map((e) => e.i),
    [59_997, 59_998, 59_999],
  );
  t.ok(viaLog.bytes() <= 8192, `recent(3) read ${viaLog.bytes()} bytes`);
});

t.test('tail reader: torn and overlong lines are skipped, the first line of a file is read, a FIFO is not opened for long', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'log');
  const parse = (l: string): string | null => (l.startsWith('ok') ? l : null);
  await writeFile(path, `ok first\n${'y'.repeat(100_000)}\nok after-long\nok last\n{"torn`);
  t.same(await lastLines([path], 10, parse, { chunkBytes: 1000, maxLineBytes: 10_000 }), ['ok first', 'ok after-long', 'ok last']);
  t.same(await lastLines([path], 2, parse, { chunkBytes: 7 }), ['ok after-long', 'ok last']);
  await promisify(execFile)('mkfifo', [join(dir, 'fifo')]);
  const t0 = performance.now();
  t.same(await lastLines([join(dir, 'fifo'), path], 1, parse), ['ok last'], 'the FIFO is skipped');
  t.ok(performance.now() - t0 < 2000, 'without waiting for a writer');
});

// ---- the real daemon, through the real socket ----

function open(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path, () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves when `count` newline-terminated responses arrived or the socket closed. */
function drain(socket: Socket, count: number): Promise<number> {
  return new Promise((resolve) => {
    let lines = 0;
    socket.on('data', (d: Buffer) => {
      for (const byte of d) if (byte === 0x0a) lines++;
      if (lines >= count) resolve(lines);
    });
    socket.on('close', () => resolve(lines));
    socket.on('error', () => undefined);
  });
}

async function station(t: { teardown(fn: () => unknown): void }, overrides: Record<string, unknown> = {}): Promise<Env> {
  const env = await makeEnv(overrides);
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  const r = await cli(env, ['passwd', 'operator', '--stdin'], `${DEFAULTS.operator}\n${OPERATOR}\n`);
  if (r.code !== 0) throw new Error(r.stderr);
  return env;
}

t.test('daemon: 200,000 bad frames leave the password change in events; no client text, no escape byte in events', async (t) => {
  // The smallest rotation the config allows: per-connection events of 200 client characters would rotate the change out.
  const env = await station(t, { logs: { maxFileBytes: 64 * 1024, maxFiles: 2 } });
  const CONNECTIONS = 2000;
  const FRAMES = 100;
  const frames = (c: number): string =>
    Array.from({ length: FRAMES }, (_, i) =>
      i % 2 === 0
        ? `{"v":1,"id":${i},"method":"${FORGED.replaceAll('\n', '\\n').replaceAll(ESC, '\\u001b')}-${c}"}`
        : `not json ${FORGED.replaceAll('\n', ' ')} ${c}`,
    ).join('\n') + '\n';
  // A forged origin on a well-formed request (the socket may refuse it; either way nothing of it may reach a terminal).
  const forged = await open(env.socket);
  const forgedDone = drain(forged, 1);
  forged.write(
    `${JSON.stringify({ v: PROTOCOL_VERSION, id: 1, method: 'login', params: { role: 'operator', password: 'Wrong-Guess-1' }, origin: FORGED.slice(0, 60) })}\n`,
  );
  await forgedDone;
  forged.destroy();

  const t0 = performance.now();
  let answered = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < CONNECTIONS) {
      const c = next++;
      const s = await open(env.socket);
      const done = drain(s, FRAMES);
      s.write(frames(c));
      const lines = await done;
      answered += lines;
      s.destroy();
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  const seconds = (performance.now() - t0) / 1000;
  t.equal(answered, CONNECTIONS * FRAMES, `${CONNECTIONS * FRAMES} bad frames on ${CONNECTIONS} connections answered in ${seconds.toFixed(1)} s`);

  const json = await cli(env, ['events', '--json', '--limit', '10000']);
  t.equal(json.code, 0, json.stderr);
  const events = json.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.ok(
    events.some((e) => e.event === 'ReconfigurationOfSecurityParameters' && e.change === 'password' && e.role === 'operator'),
    'the password change is still there',
  );
  const invalid = events.filter((e) => e.event === 'InvalidMessages');
  t.ok(invalid.length >= 1 && invalid.length <= 3, `noise aggregated: ${invalid.length} InvalidMessages events`);
  t.notMatch(json.stdout, /not json|-1999"/, 'no text of the bad frames in events --json');
  t.notOk(json.stdout.includes(ESC), 'no escape byte in events --json');
  const human = await cli(env, ['events', '--limit', '10000']);
  t.equal(human.code, 0, human.stderr);
  t.notOk(human.stdout.includes(ESC), 'no escape byte in events');
  const lines = human.stdout.trim().split('\n');
  t.equal(lines.length, events.length, 'one line per event');
  t.ok(
    lines.every((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z {2}[A-Za-z]+/.test(l)),
    'every line is an event line: no forged line',
  );
  const logDir = await readdir(env.logDir);
  const noise = await readFile(join(env.logDir, 'security-noise.log'), 'utf8');
  t.notMatch(noise, /installer|-1999|not json/, 'the noise file holds counts, not what was sent');
  t.notOk(logDir.includes('security.log.1'), 'the security log did not even rotate');
  t.equal((await cli(env, ['login', 'operator', '--stdin'], `${OPERATOR}\n`)).code, 0, 'logins still work');
  const zip = join(env.dir, 'after-flood.zip');
  const exported = await cli(env, ['logs', 'export', '--output', zip, '--unencrypted', '--stdin'], `${OPERATOR}\n`);
  t.equal(exported.code, 0, exported.stderr);
  const listing = await sevenZip(['l', zip]);
  t.match(listing.stdout, /security-noise\.log/, 'the export has the noise file');
  t.match(listing.stdout, /security\.log/, 'and the security log');
});

t.test('daemon: a FIFO in logDir is skipped and reported; the export completes and opens in 7z', async (t) => {
  const env = await station(t, { logs: { encryptExports: false } });
  await promisify(execFile)('mkfifo', [join(env.logDir, 'evil.fifo')]);
  const output = join(env.dir, 'logs.zip');
  const t0 = performance.now();
  const r = await cli(env, ['logs', 'export', '--output', output, '--stdin'], `${OPERATOR}\n`);
  t.equal(r.code, 0, r.stderr);
  t.ok(performance.now() - t0 < 10_000, 'no hang');
  t.equal((await sevenZip(['t', output])).code, 0, '7z opens it');
  const listing = await sevenZip(['l', output]);
  t.match(listing.stdout, /security\.log/);
  t.notMatch(listing.stdout, /evil\.fifo/);
  t.match(await readFile(join(env.logDir, 'security.log'), 'utf8'), /"event":"LogExported".*"skipped":\[\{"name":"evil\.fifo","type":"fifo"\}\]/);
  t.match(await readFile(join(env.logDir, 'ccguard.log'), 'utf8'), /"skipped":\[\{"name":"evil\.fifo","type":"fifo"\}\].*left out/);
  t.equal((await cli(env, ['login', 'operator', '--stdin'], `${OPERATOR}\n`)).code, 0, 'logins do not hang behind it');
});

t.test('daemon: SIGTERM during an export to a reader that stops reading, with followers, stops within 5 s', async (t) => {
  const env = await makeEnv({ logs: { encryptExports: false } });
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  // Incompressible logs, far more than the socket buffers hold.
  await mkdir(env.logDir, { recursive: true });
  for (let i = 1; i <= 3; i++) await writeFile(join(env.logDir, `big.log.${i}`), randomBytes(8 * 1024 * 1024).toString('base64'));
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.kill9());
  const r = await cli(env, ['passwd', 'operator', '--stdin'], `${DEFAULTS.operator}\n${OPERATOR}\n`);
  t.equal(r.code, 0, r.stderr);

  const followers = await Promise.all(Array.from({ length: 20 }, () => open(env.socket)));
  const followersClosed = followers.map((s) => new Promise((resolve) => s.on('close', resolve)));
  for (const s of followers) s.resume(); // followers read what they get
  followers.forEach((s, i) => s.write(`${JSON.stringify({ v: PROTOCOL_VERSION, id: i, method: 'events', params: { follow: true, limit: 1 } })}\n`));
  const slow = await open(env.socket);
  const slowClosed = new Promise((resolve) => slow.on('close', resolve));
  let received = 0;
  let stalled = false;
  slow.on('data', (d: Buffer) => {
    received += d.length;
    if (received > 256 * 1024 && !stalled) {
      stalled = true;
      slow.pause(); // reads a little, then stops reading
    }
  });
  slow.write(`${JSON.stringify({ v: PROTOCOL_VERSION, id: 'x', method: 'logs.export', params: { as: 'operator', password: OPERATOR, unencrypted: true } })}\n`);
  for (let i = 0; i < 500 && received <= 256 * 1024; i++) await sleep(10);
  t.ok(received > 256 * 1024, 'the export is streaming');
  await sleep(300); // the daemon is now blocked on the reader

  const t0 = performance.now();
  const code = await daemon.stop();
  const ms = performance.now() - t0;
  t.ok(ms < 5000, `stopped in ${Math.round(ms)} ms`);
  t.equal(code, 0, 'exit code 0');
  slow.resume(); // what the daemon sent before it stopped, then the end
  const closed = await Promise.race([Promise.all([slowClosed, ...followersClosed]).then(() => true), sleep(3000).then(() => false)]);
  t.ok(closed, 'the export connection and every follower are closed');
  for (const s of followers) s.destroy();
  slow.destroy();
  const agentLog = await readFile(join(env.logDir, 'ccguard.log'), 'utf8');
  t.match(agentLog, /"msg":"stopped"|after the grace period/, 'the stop was logged');
});

/** The daemon in a pseudo-terminal (script(1)), stopped once it serves; returns what the terminal showed. */
function daemonOnTerminal(env: Env): Promise<{ code: number | null; out: string }> {
  const command = `${BIN} daemon --config ${env.configPath} & pid=$!; for i in $(seq 300); do [ -S ${env.socket} ] && break; sleep 0.05; done; sleep 0.3; kill $pid; wait $pid`;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, TERM: 'xterm-256color', NO_COLOR: '' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? new Error('script(1) is missing; install it with: apt-get install bsdutils') : err),
    );
    child.on('exit', (code) => resolve({ code, out }));
  });
}

t.test('daemon on a terminal: readable lines and the provision hint; on a pipe: nothing on stderr, JSON in the agent log', async (t) => {
  const env = await makeEnv();
  t.teardown(() => cleanup(env));
  const tty = await daemonOnTerminal(env);
  t.equal(tty.code, 0, tty.out);
  const plain = tty.out.replace(/\u001b\[[0-9;]*m/g, '');
  t.match(plain, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}ccguard daemon serving socket=\S+ stateDir=\S+ version=\S+\r?$/m, 'time, level, message, key fields');
  t.match(
    plain,
    new RegExp(`WARN {2}not provisioned yet: run "ccguard provision --config ${env.configPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`),
    'what to run next, with the config path',
  );
  t.notMatch(plain, /\{"level"/, 'no JSON on the terminal');
  t.match(tty.out, /\u001b\[\d+m(INFO|WARN)/, 'levels in colour');

  const daemon = await startDaemon(env);
  await daemon.stop();
  t.equal(daemon.output(), '', 'nothing on a pipe (the journal would only repeat the file)');
  const agentLog = await readFile(join(env.logDir, 'ccguard.log'), 'utf8');
  const lines = agentLog
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { msg?: string; next?: string });
  t.ok(
    lines.some((l) => l.msg === 'ccguard daemon serving'),
    'JSON lines in the agent log',
  );
  t.ok(
    lines.some((l) => l.next === `ccguard provision --config ${env.configPath}`),
    'the hint as a field',
  );
});
