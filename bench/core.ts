// Benchmark of the core (issues 2 and 23), the daemon run as shipped (bin/ccguard.js and its
// flags). Prints figures and ratios against references measured in the same run: raw
// argon2.verify in this default node process for logins, `node -e 0` for start-up; and what each
// of the launcher's choices buys or costs on this machine (the daemon started without it).
//   npm run bench
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import argon2 from 'argon2';
import unix from 'unix-dgram';
import { call } from '../agent/wire/client.js';
import { GenerationStore } from '../agent/store/generation-store.js';
import { stateSchema } from '../agent/store/state.js';
import { BIN, cleanup, DEFAULTS, makeEnv, provisionWithDefaults, ROOT, startDaemon, type Env } from '../test/support/harness.js';
import { launcher, printRuntime, runNode } from './shipped-runtime.js';

const LOGINS = Number(process.env.BENCH_LOGINS ?? 200);
const BURST = 100;
const STARTS = Number(process.env.BENCH_STARTS ?? 10);
const PASSWORD = 'Tr4v3l-K1te-Moss';
// The agent's defaults: OWASP's argon2id minimum.
const ARGON2 = { memoryKiB: 19 * 1024, timeCost: 2, parallelism: 1 };

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
};
const ms = (x: number): string => `${x.toFixed(1)} ms`;
const mib = (kb: number): string => `${(kb / 1024).toFixed(1)} MiB`;

async function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(text)?.[1] ?? NaN);
}

async function loginLatency(env: Env): Promise<void> {
  const loaded = await new GenerationStore(env.stateDir, stateSchema).load();
  const hash = loaded.state?.roles.operator.hash as string;
  const viaSocket: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < 10; i++) {
    await call(env.socket, 'login', { role: 'operator', password: PASSWORD });
    await argon2.verify(hash, PASSWORD);
  }
  // Interleaved, so that machine noise hits both alike.
  for (let i = 0; i < LOGINS; i++) {
    let t0 = performance.now();
    await call(env.socket, 'login', { role: 'operator', password: PASSWORD });
    viaSocket.push(performance.now() - t0);
    t0 = performance.now();
    if (!(await argon2.verify(hash, PASSWORD))) throw new Error('raw verify failed');
    raw.push(performance.now() - t0);
  }
  const [m1, m2, p1, p2] = [quantile(viaSocket, 0.5), quantile(raw, 0.5), quantile(viaSocket, 0.99), quantile(raw, 0.99)];
  console.log(
    `\n## login over the socket vs argon2.verify alone (m=${ARGON2.memoryKiB} KiB, t=${ARGON2.timeCost}, p=${ARGON2.parallelism}; ${LOGINS} each, interleaved)`,
  );
  console.log(`  socket login   median ${ms(m1)}  p99 ${ms(p1)}`);
  console.log(`  argon2.verify  median ${ms(m2)}  p99 ${ms(p2)}`);
  console.log(`  ratio          median ${(m1 / m2).toFixed(3)}  p99 ${(p1 / p2).toFixed(3)}   (goal ≤ 1.15)`);
  // Why the daemon keeps argon2's memory mapped between hashes (native/argon2-pool): the argon2
  // package under the launcher's malloc settings maps and faults in its 19 MiB for every hash.
  const { env: tunables, nodeFlags } = launcher();
  const script = `
    import argon2 from 'argon2';
    const xs = [];
    for (let i = 0; i < 60; i++) { const t = performance.now(); await argon2.verify(${JSON.stringify(hash)}, ${JSON.stringify(PASSWORD)}); xs.push(performance.now() - t); }
    console.log(xs.sort((a, b) => a - b)[30]);`;
  const mapped = Number(await runNode(script, nodeFlags, tunables, ROOT));
  console.log(
    `  the argon2 package under the launcher's malloc settings (memory mapped per hash): median ${ms(mapped)} = ${(mapped / m2).toFixed(2)}× raw — what the pool saves here`,
  );
}

async function burst(env: Env, pid: number): Promise<void> {
  const before = await procStatus(pid, 'VmRSS');
  let peak = before;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await procStatus(pid, 'VmRSS'));
      await sleep(5);
    }
  })();
  const statusTimes: number[] = [];
  let running = true;
  const prober = (async () => {
    while (running) {
      const t0 = performance.now();
      await call(env.socket, 'status', {});
      statusTimes.push(performance.now() - t0);
      await sleep(10);
    }
  })();
  const t0 = performance.now();
  const results = await Promise.allSettled(Array.from({ length: BURST }, () => call(env.socket, 'login', { role: 'operator', password: PASSWORD })));
  const burstMs = performance.now() - t0;
  running = false;
  await prober;
  sampling = false;
  await sampler;
  const failed = results.filter((r) => r.status === 'rejected').length;
  const hwm = await procStatus(pid, 'VmHWM');
  console.log(`\n## ${BURST} concurrent logins (maxConcurrentHashes 2)`);
  console.log(`  all answered in ${ms(burstMs)}, ${failed} failed`);
  console.log(`  daemon RSS before ${mib(before)}, sampled peak ${mib(peak)}, VmHWM ${mib(hwm)}   (goal ≤ 120 MB = ${mib(120_000_000 / 1024)})`);
  console.log(
    `  status during the burst: ${statusTimes.length} answered, median ${ms(quantile(statusTimes, 0.5))}, max ${ms(Math.max(...statusTimes))}   (goal ≤ 50 ms)`,
  );
}

interface Variant {
  name: string;
  /** Spawns the daemon; undefined: bin/ccguard.js exactly as shipped. */
  argv?: string[];
  env?: Record<string, string>;
}

/**
 * The daemon as shipped, and without each of the launcher's choices (same node, same state). The
 * flag variants run the launcher itself (its CommonJS bundle and code cache), each with a code
 * cache directory of its own: the cache is made for one set of flags, and variants sharing one
 * would replace each other's at every start.
 */
function variants(cacheRoot: string): Variant[] {
  const { nodeFlags, env } = launcher();
  const bundle = join(ROOT, 'dist', 'bundle', 'main.js');
  const modules = join(ROOT, 'dist', 'agent', 'main.js');
  // The daemon's CommonJS bundle required as Node requires any file: no code cache (the launcher's agent/launch/code-cache.ts).
  const noCache = `require(${JSON.stringify(join(ROOT, 'dist', 'bundle', 'daemon.cjs'))}).startDaemonProcess(process.argv.at(-1))`;
  const without = (flag: string): string[] => nodeFlags.filter((f) => f !== flag);
  const jitFlags = nodeFlags.filter((f) => f !== '--jitless' && f !== '--lite-mode');
  const own = (name: string, extra: Record<string, string> = {}): Record<string, string> => ({ ...env, ...extra, CACHE_DIRECTORY: join(cacheRoot, name) });
  return [
    { name: 'as shipped' },
    { name: 'without the code cache', argv: [...nodeFlags, '-e', noCache], env },
    { name: "ES module bundle (the CLI's)", argv: [...nodeFlags, bundle], env },
    { name: 'modules unbundled', argv: [...nodeFlags, modules], env },
    ...(nodeFlags.includes('--lite-mode')
      ? [{ name: '--jitless instead of --lite-mode', argv: [...without('--lite-mode'), '--jitless', BIN], env: own('jitless') }]
      : []),
    ...nodeFlags
      .filter((f) => f.startsWith('--max-semi-space-size'))
      .map((f) => ({ name: "V8's default young generation", argv: [...without(f), BIN], env: own('young') })),
    { name: 'with the JIT', argv: [...jitFlags, BIN], env: own('jit') },
    { name: 'default malloc settings', argv: [...nodeFlags, BIN], env: own('malloc', { GLIBC_TUNABLES: '' }) },
  ];
}

function spawnVariant(v: Variant, configPath: string, notify: string): ChildProcess {
  const argv = v.argv ? [...v.argv, 'daemon', '--config', configPath] : [BIN, 'daemon', '--config', configPath];
  const command = v.argv ? process.execPath : BIN;
  return spawn(command, v.argv ? argv : argv.slice(1), { env: { ...process.env, ...(v.env ?? {}), NOTIFY_SOCKET: notify }, stdio: 'ignore' });
}

/** Requests of the flood each variant answers: status, pipelined on 32 connections (each answer is built afresh). */
const FLOOD_CONNECTIONS = 32;
const FLOOD_PER_CONNECTION = 300;
const FLOOD_ROUNDS = 3;

/** Time to answer the flood, and the daemon's peak RSS (VmHWM) after it. */
async function flood(socket: string, pid: number): Promise<{ ms: number; peakKiB: number }> {
  const line = `${JSON.stringify({ v: 1, id: 1, method: 'status', params: {} })}\n`;
  const t0 = performance.now();
  await Promise.all(
    Array.from(
      { length: FLOOD_CONNECTIONS },
      () =>
        new Promise<void>((resolve, reject) => {
          const s = connect(socket, () => s.write(line.repeat(FLOOD_PER_CONNECTION)));
          let answered = 0;
          s.on('data', (d: Buffer) => {
            for (let i = d.indexOf(0x0a); i !== -1; i = d.indexOf(0x0a, i + 1)) answered++;
            if (answered >= FLOOD_PER_CONNECTION) {
              s.destroy();
              resolve();
            }
          });
          s.on('error', reject);
        }),
    ),
  );
  return { ms: performance.now() - t0, peakKiB: await procStatus(pid, 'VmHWM') };
}

/** Spawn → READY=1 of a fresh daemon per variant, interleaved, beside spawn → exit of `node -e 0`; RSS 1 s after READY; then a flood of requests. */
async function startup(): Promise<void> {
  const cacheRoot = await mkdtemp(join(tmpdir(), 'ccguard-bench-cache-'));
  const vs = variants(cacheRoot);
  for (const v of vs) if (v.env?.CACHE_DIRECTORY) await mkdir(v.env.CACHE_DIRECTORY, { mode: 0o700 });
  const ready = new Map<string, number[]>(vs.map((v) => [v.name, []]));
  const rss = new Map<string, number[]>(vs.map((v) => [v.name, []]));
  const floods = new Map<string, { ms: number; peakKiB: number }[]>(vs.map((v) => [v.name, []]));
  const bare: number[] = [];
  const env = await makeEnv({ argon2: ARGON2 });
  await provisionWithDefaults(env);
  for (let i = 0; i < STARTS; i++) {
    for (const v of vs) {
      const notify = join(env.dir, `notify-${i}-${vs.indexOf(v)}.sock`);
      let readyAt = 0;
      const listener = unix.createSocket('unix_dgram', (msg: Buffer) => {
        if (msg.toString() === 'READY=1') readyAt = performance.now();
      });
      listener.bind(notify);
      const t0 = performance.now();
      const daemon = spawnVariant(v, env.configPath, notify);
      for (let waited = 0; readyAt === 0 && waited < 15_000; waited++) await sleep(1);
      if (readyAt === 0) throw new Error(`${v.name}: no READY=1 within 15 s`);
      ready.get(v.name)?.push(readyAt - t0);
      await sleep(1000);
      rss.get(v.name)?.push(await procStatus(daemon.pid as number, 'VmRSS'));
      if (i < FLOOD_ROUNDS) floods.get(v.name)?.push(await flood(env.socket, daemon.pid as number));
      daemon.kill('SIGTERM');
      await new Promise((resolve) => daemon.once('exit', resolve));
      listener.close();
    }
    const b0 = performance.now();
    await new Promise((resolve) => spawn(process.execPath, ['-e', '0']).on('exit', resolve));
    bare.push(performance.now() - b0);
  }
  await cleanup(env);
  await rm(cacheRoot, { recursive: true, force: true });
  const bareRss = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 1500)']);
    setTimeout(() => void procStatus(child.pid as number, 'VmRSS').then((kb) => (child.kill(), resolve(kb))), 1000);
  });
  const bareMedian = quantile(bare, 0.5);
  console.log(`\n## idle daemon (${STARTS} starts of each, interleaved; provisioned state, default argon2 parameters)`);
  console.log(`  node -e 0: spawn → exit median ${ms(bareMedian)}; a bare node idles at ${mib(bareRss)}`);
  console.log(`  then ${FLOOD_CONNECTIONS} × ${FLOOD_PER_CONNECTION} status requests pipelined (${FLOOD_ROUNDS} rounds): time to answer all, peak RSS`);
  console.log('  daemon                              spawn → READY  / node -e 0  RSS 1 s after READY    flood answered in   peak RSS');
  for (const v of vs) {
    const r = quantile(ready.get(v.name) ?? [], 0.5);
    const m = quantile(rss.get(v.name) ?? [], 0.5);
    const f = floods.get(v.name) ?? [];
    const fMs = quantile(
      f.map((x) => x.ms),
      0.5,
    );
    const fPeak = quantile(
      f.map((x) => x.peakKiB),
      0.5,
    );
    const goals = v.name === 'as shipped' ? '   (goals ≤ 2×, ≤ 52.5 MiB)' : '';
    console.log(
      `  ${v.name.padEnd(34)}  ${ms(r).padStart(10)}  ${(r / bareMedian).toFixed(2).padStart(6)}×  ${mib(m).padStart(12)}  ${ms(fMs).padStart(16)}  ${mib(fPeak).padStart(10)}${goals}`,
    );
  }
}

await printRuntime('ccguard core benchmark');
const env = await makeEnv({ argon2: ARGON2 });
await provisionWithDefaults(env);
const setup = await startDaemon(env);
await call(env.socket, 'passwd', { role: 'operator', currentPassword: DEFAULTS.operator, newPassword: PASSWORD });
await setup.stop();
// A fresh daemon, so that the password blocklist loaded by the change above is not counted.
const daemon = await startDaemon(env);
try {
  await loginLatency(env);
  await burst(env, daemon.proc.pid as number);
} finally {
  await daemon.stop();
  await cleanup(env);
}
await startup();
