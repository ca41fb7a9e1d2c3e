// Benchmark of the password check (issues 17, 24): a refused password change through the daemon's
// socket, warm and cold (right after start, and after the blocklist was dropped for idling),
// beside a login measured in the same run; a refused Log Password; the blocklist's size on disk
// (and gzip-compressed, as in the .deb) and the daemon's memory with it loaded.
//   npm run bench:password        (BENCH_CHANGES=… for more rounds)
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { call, DaemonError } from '../agent/wire/client.js';
import { BLOCKLIST_FILE, BLOCKLIST_IDLE_MS, loadBlocklist } from '../agent/daemon/credentials/strength.js';
import { checkPassword, contextWords } from '../policy/strength.js';
import { printRuntime } from './shipped-runtime.js';
import { cleanup, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon, type Env } from '../test/support/harness.js';

const ROUNDS = Number(process.env.BENCH_CHANGES ?? 60);
const STARTS = 5;
const IDLES = 3;
/** The daemon drops the blocklist after this long without checks (StrengthService's default). */
const IDLE_MS = BLOCKLIST_IDLE_MS;
const PASSWORD = 'Tr4v3l-K1te-Moss';
// All pass the composition rules (upper, lower, digit, special), so each reaches the blocklist.
const REFUSED = [
  'Rafiki@2025',
  'Pedro2024!',
  'Eminem@2025',
  'Obsession@2025',
  'Lester@2025',
  'P@ssw0rd123',
  'Ccguard2025!',
  '!Autostrom24',
  'Emoclew2025!',
  'Anna-15.09.2009',
];
const REFUSED_LOG = ['Summer2025!!', 'Password1234', 'Log-Password-2024!', 'BlueTree-2024!'];
const MFR = 'Quartz-Fjord-91-Lantern';
// The agent's defaults: OWASP's argon2id minimum.
const ARGON2 = { memoryKiB: 19 * 1024, timeCost: 2, parallelism: 1 };

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const ms = (x: number): string => `${x.toFixed(1)} ms`;
const mib = (kb: number): string => `${(kb / 1024).toFixed(1)} MiB`;

async function rssKb(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(text)?.[1] ?? NaN);
}

async function login(env: Env): Promise<number> {
  const t0 = performance.now();
  await call(env.socket, 'login', { role: 'operator', password: PASSWORD });
  return performance.now() - t0;
}

/** Starts the daemon once with `dir` as its cache directory and waits until it has written its code cache there. */
async function primeCodeCache(dir: string): Promise<void> {
  await mkdir(dir, { mode: 0o700 }); // systemd makes it so
  const daemon = await startDaemon(env, { CACHE_DIRECTORY: dir });
  try {
    for (let waited = 0; !(await stat(join(dir, 'daemon.cjs.cache')).catch(() => null)); waited += 50) {
      if (waited > 10_000) throw new Error(`the daemon wrote no code cache into ${dir} within 10 s`);
      await sleep(50);
    }
  } finally {
    await daemon.stop();
  }
}

/** A change to a password the blocklist refuses: the current password is checked (one argon2 verify), the new one is not hashed. */
/** A Log Password the blocklist or the strength bar refuses (the manufacturer password is checked first). */
async function refusedLogPassword(env: Env, i: number): Promise<number> {
  const t0 = performance.now();
  try {
    await call(env.socket, 'logPassword.set', { password: MFR, logPassword: REFUSED_LOG[i % REFUSED_LOG.length] as string });
  } catch (err) {
    if (!(err instanceof DaemonError) || err.code !== 'refused') throw err;
    return performance.now() - t0;
  }
  throw new Error('a weak Log Password was accepted');
}

async function refusedChange(env: Env, i: number): Promise<number> {
  const newPassword = REFUSED[i % REFUSED.length] as string;
  const t0 = performance.now();
  try {
    await call(env.socket, 'passwd', { role: 'operator', currentPassword: PASSWORD, newPassword });
  } catch (err) {
    const elapsed = performance.now() - t0;
    const rules = err instanceof DaemonError ? (err.body.rules as string[] | undefined) : undefined;
    if (!rules?.some((r) => r === 'commonBase' || r === 'context')) throw err;
    return elapsed;
  }
  throw new Error('a blocklisted password was accepted');
}

function inProcess(blocklistLoads: number[], checks: number[]): void {
  console.log(`\n## in process (no socket)`);
  console.log(
    `  blocklist                      ${blocklist.size} words, ${mib(diskBytes / 1024)} on disk, ${mib(gzipBytes / 1024)} gzip-compressed (in the .deb; goal: the whole .deb ≤ 4 MB)`,
  );
  console.log(`  blocklist load (read + views)  median ${ms(median(blocklistLoads))} of ${blocklistLoads.length}`);
  console.log(
    `  one check                      median ${(median(checks) * 1000).toFixed(0)} µs, max ${(Math.max(...checks) * 1000).toFixed(0)} µs over ${checks.length} passwords`,
  );
}

const loads: number[] = [];
for (let i = 0; i < 20; i++) {
  const t0 = performance.now();
  await loadBlocklist();
  loads.push(performance.now() - t0);
}
const blocklist = await loadBlocklist();
const diskBytes = (await stat(BLOCKLIST_FILE)).size;
const gzipBytes = gzipSync(await readFile(BLOCKLIST_FILE), { level: 9 }).length;
const context = contextWords(['cc612-station', 'SN-0042']);
const checks: number[] = [];
const longPassphrase = 'cobalt meadow sparrow willow ember glacier lantern harbor quill';
const hostile = ['Aa1!'.repeat(32), '1!|'.repeat(42) + 'a1', `${'a.'.repeat(63)}b`];
for (const p of [...REFUSED, ...REFUSED_LOG, PASSWORD, 'correct horse battery staple', longPassphrase, 'qz7#Lk2!vR9@xW4$mN8p', ...hostile]) {
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    checkPassword(p, blocklist, context);
    checks.push(performance.now() - t0);
  }
}

const env = await makeEnv({ argon2: ARGON2, device: { name: 'cc612-station', serial: 'SN-0042' } });
await provisionWithDefaults(env);
const setup = await startDaemon(env);
await call(env.socket, 'passwd', { role: 'operator', currentPassword: DEFAULTS.operator, newPassword: PASSWORD });
await call(env.socket, 'passwd', { role: 'manufacturer', currentPassword: DEFAULTS.manufacturer, newPassword: MFR });
await setup.stop();
await printRuntime('ccguard password-check benchmark');
console.log(
  `# argon2id m=${ARGON2.memoryKiB} KiB t=${ARGON2.timeCost}; every refused candidate passes the composition rules, so the blocklist and mangling run`,
);
inProcess(loads, checks);

// As the service runs: a code cache directory of its own (systemd's CacheDirectory=), which the
// first start after an install fills (agent/launch/code-cache.ts); the starts measured find it there.
const cacheRoot = await mkdtemp(join(tmpdir(), 'ccguard-bench-cache-'));
const shipped = { CACHE_DIRECTORY: join(cacheRoot, 'service') };
try {
  await primeCodeCache(shipped.CACHE_DIRECTORY);
  // Cold: the first request of a freshly started daemon, a refused change or (for comparison) a login.
  const coldStart: number[] = [];
  const coldLogin: number[] = [];
  const firstStart: number[] = [];
  const rssBefore: number[] = [];
  const rssLoaded: number[] = [];
  for (let i = 0; i < 3 * STARTS; i++) {
    // Every third start is the first after an install: no code cache yet, it writes one as it serves.
    const fresh = join(cacheRoot, `fresh-${i}`);
    if (i % 3 === 2) await mkdir(fresh, { mode: 0o700 });
    const daemon = await startDaemon(env, i % 3 === 2 ? { CACHE_DIRECTORY: fresh } : shipped);
    await sleep(500);
    if (i % 3 === 1) coldLogin.push(await login(env));
    else (i % 3 === 0 ? coldStart : firstStart).push(await refusedChange(env, i));
    await daemon.stop();
  }
  // The blocklist's memory: after a login (argon2 loaded, its memory kept for the next hash) and
  // then after the first check, which loads the blocklist; the difference is the blocklist's.
  for (let i = 0; i < STARTS; i++) {
    const daemon = await startDaemon(env, shipped);
    const pid = daemon.proc.pid as number;
    await login(env);
    await sleep(200);
    rssBefore.push(await rssKb(pid));
    await refusedChange(env, i);
    await sleep(200);
    rssLoaded.push(await rssKb(pid));
    await daemon.stop();
  }

  const daemon = await startDaemon(env, shipped);
  const pid = daemon.proc.pid as number;
  for (let i = 0; i < 5; i++) {
    await login(env);
    await refusedChange(env, i);
  }
  // Warm, interleaved so that machine noise hits both alike.
  const logins: number[] = [];
  const warm: number[] = [];
  const warmLog: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    logins.push(await login(env));
    warm.push(await refusedChange(env, i));
    warmLog.push(await refusedLogPassword(env, i));
  }
  const rssWarm = await rssKb(pid);
  // Cold again: after the blocklist was dropped for idling.
  const coldIdle: number[] = [];
  const idleLogin: number[] = [];
  const rssIdle: number[] = [];
  for (let i = 0; i < 2 * IDLES; i++) {
    await sleep(IDLE_MS + 1000);
    if (i % 2 === 1) {
      idleLogin.push(await login(env));
    } else {
      rssIdle.push(await rssKb(pid));
      coldIdle.push(await refusedChange(env, i));
    }
  }
  await daemon.stop();

  const ref = median(logins);
  const row = (label: string, xs: number[]): string =>
    `  ${label.padEnd(34)} median ${ms(median(xs)).padStart(9)}  max ${ms(Math.max(...xs)).padStart(9)}  ratio to login ${(median(xs) / ref).toFixed(2)}   (goal ≤ 2)`;
  console.log(`\n## through the socket (${ROUNDS} warm rounds interleaved, ${STARTS} starts, ${IDLES} idle drops)`);
  console.log(`  login (reference)                  median ${ms(ref).padStart(9)}  max ${ms(Math.max(...logins)).padStart(9)}`);
  console.log(row('refused change, warm', warm));
  console.log(row('refused Log Password, warm', warmLog));
  console.log(row('refused change, right after start', coldStart));
  console.log(row('login, right after start', coldLogin));
  console.log(
    `  right after start, refused change / login: ${(median(coldStart) / median(coldLogin)).toFixed(2)} (the first argon2 verify of a process is the cold cost of both)`,
  );
  console.log(
    `  refused change, right after the first start after an install (no code cache yet; that start writes it): median ${ms(median(firstStart))}, ${(median(firstStart) / ref).toFixed(2)}× a login`,
  );
  console.log(row('refused change, after idle drop', coldIdle));
  console.log(row('login, after the same idle', idleLogin));
  console.log(
    `  after the idle drop, refused change / login: ${(median(coldIdle) / median(idleLogin)).toFixed(2)} (the blocklist's reload and first check; what the idle costs any request is in both)`,
  );
  console.log(`  blocklist lookups: ${blocklist.native ? 'native (native/blocklist-scan)' : 'JavaScript fallback (native/blocklist-scan did not load)'}`);
  console.log(`\n## daemon memory (VmRSS)`);
  console.log(`  after a login, nothing checked  median ${mib(median(rssBefore))}  (argon2 loaded, one hash's memory kept for the next)`);
  console.log(
    `  after the first check           median ${mib(median(rssLoaded))}  (+${mib(median(rssLoaded) - median(rssBefore))} with the blocklist loaded; goal ≤ 10 MB)`,
  );
  console.log(`  after ${ROUNDS} rounds              ${mib(rssWarm)}`);
  console.log(`  after idling ${IDLE_MS / 1000 + 1} s           median ${mib(median(rssIdle))}  (the blocklist dropped; freed by the next GC)`);
} finally {
  await cleanup(env);
  await rm(cacheRoot, { recursive: true, force: true });
}
