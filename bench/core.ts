// Benchmark of the core (issue 2). Prints figures and ratios against references measured in
// the same run: raw argon2.verify for logins, `node -e 0` for start-up.
//   npm run build && node dist/bench/core.js
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import argon2 from 'argon2';
import unix from 'unix-dgram';
import { call } from '../agent/wire/client.js';
import { GenerationStore } from '../agent/store/generation-store.js';
import { stateSchema } from '../agent/store/state.js';
import { cleanup, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon, type Env } from '../test/support/harness.js';

const LOGINS = Number(process.env.BENCH_LOGINS ?? 200);
const BURST = 100;
const STARTS = 10;
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

/** Spawn → READY=1 of a fresh daemon, beside spawn → exit of `node -e 0`; idle RSS 1 s after READY. */
async function startup(): Promise<void> {
  const ready: number[] = [];
  const rss: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < STARTS; i++) {
    const env = await makeEnv({ argon2: ARGON2 });
    await provisionWithDefaults(env);
    const notify = join(env.dir, 'notify.sock');
    let readyAt = 0;
    const listener = unix.createSocket('unix_dgram', (msg: Buffer) => {
      if (msg.toString() === 'READY=1') readyAt = performance.now();
    });
    listener.bind(notify);
    const t0 = performance.now();
    const daemon = await startDaemon(env, { NOTIFY_SOCKET: notify }, false);
    while (readyAt === 0) await sleep(1);
    ready.push(readyAt - t0);
    await sleep(1000);
    rss.push(await procStatus(daemon.proc.pid as number, 'VmRSS'));
    await daemon.stop();
    listener.close();
    await cleanup(env);

    const b0 = performance.now();
    await new Promise((resolve) => spawn(process.execPath, ['-e', '0']).on('exit', resolve));
    bare.push(performance.now() - b0);
  }
  const bareRss = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 1500)']);
    setTimeout(() => void procStatus(child.pid as number, 'VmRSS').then((kb) => (child.kill(), resolve(kb))), 1000);
  });
  console.log(`\n## idle daemon (${STARTS} starts, provisioned state, default argon2 parameters)`);
  console.log(`  spawn → READY=1   median ${ms(quantile(ready, 0.5))}, max ${ms(Math.max(...ready))}`);
  console.log(`  node -e 0         median ${ms(quantile(bare, 0.5))}  (ratio ${(quantile(ready, 0.5) / quantile(bare, 0.5)).toFixed(2)})`);
  console.log(
    `  RSS 1 s after READY  median ${mib(quantile(rss, 0.5))}, max ${mib(Math.max(...rss))}   (goal ≤ 55 MB = ${mib(55_000_000 / 1024)}); bare node idle ${mib(bareRss)}`,
  );
}

const env = await makeEnv({ argon2: ARGON2 });
await provisionWithDefaults(env);
const setup = await startDaemon(env);
await call(env.socket, 'passwd', { role: 'operator', currentPassword: DEFAULTS.operator, newPassword: PASSWORD });
await setup.stop();
// A fresh daemon, so that the password blocklist loaded by the change above is not counted.
const daemon = await startDaemon(env);
console.log(`# ccguard core benchmark — node ${process.version}, ${(await readFile('/proc/cpuinfo', 'utf8')).match(/^processor/gm)?.length} cores`);
try {
  await loginLatency(env);
  await burst(env, daemon.proc.pid as number);
} finally {
  await daemon.stop();
  await cleanup(env);
}
await startup();
