// Master card benchmark: tap latency (card placed → password reset durable) beside a bare
// smartcard script seeing the same card, and the daemon's idle CPU with a reader and no card.
// Real parts: a private pcscd, the vpcd reader and a virtual card (test/helpers/pcsc.ts).
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { call } from '../agent/wire/client.js';
import type { StatusReport } from '../agent/wire/status-report.js';
import { BIN, cleanup, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon, type Env } from '../test/helpers/harness.js';
import { PcscPeer } from '../test/helpers/pcsc.js';

const TAPS = Number(process.env.BENCH_TAPS ?? 20);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
const UID = '04A1B2C3D4E5F6';
const MFR = 'Quartz-Fjord-91-Lantern';
const CLK_TCK = 100; // USER_HZ on Linux

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};
const ms = (x: number): string => `${x.toFixed(0)} ms`;

/** utime + stime of a process, in seconds. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

async function waitFor(env: Env, test: (s: StatusReport) => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (test((await call(env.socket, 'status', {})) as StatusReport)) return;
    await sleep(25);
  }
  throw new Error('timed out waiting for the daemon');
}

async function main(): Promise<void> {
  const env = await makeEnv((dir) => ({ rfid: { holdSeconds: 3600 }, webUi: { styleFile: join(dir, 'WebUIStyle_web') } }));
  await provisionWithDefaults(env);
  const peer = await PcscPeer.start(env.dir);
  const daemon = await startDaemon(env, peer.env);
  try {
    await waitFor(env, (s) => s.rfid.readers.length === 2);
    await run(env, ['passwd', 'manufacturer', '--stdin'], `${DEFAULTS.manufacturer}\n${MFR}\n`);
    const enrol = spawn(BIN, ['master-card', 'enroll', '--timeout', '30', '--stdin'], { env: { ...process.env, CCGUARD_SOCKET: env.socket }, stdio: ['pipe', 'ignore', 'ignore'] });
    enrol.stdin.end(`${MFR}\n`);
    await waitFor(env, (s) => s.rfid.enrolling);
    const first = await peer.placeCard(UID);
    await new Promise((resolve) => enrol.on('close', resolve));
    await first.remove();
    await waitFor(env, (s) => s.masterCards === 1 && !s.rfid.readers.some((r) => r.cardPresent));

    // The reference: a bare binding script on the same pcscd.
    const probe = spawn(process.execPath, [fileURLToPath(new URL('./pcsc-probe.js', import.meta.url))], { env: { ...process.env, ...peer.env }, stdio: ['ignore', 'pipe', 'inherit'] });
    const probeLines: Array<(line: Record<string, unknown>) => void> = [];
    let buffered = '';
    probe.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
        buffered = buffered.slice(nl + 1);
        for (const waiter of probeLines.splice(0)) waiter(line);
      }
    });
    const probeSees = (event: string): Promise<number> =>
      new Promise((resolve) => {
        const wait = (line: Record<string, unknown>): void => {
          if (line.event === event) resolve(performance.now());
          else probeLines.push(wait);
        };
        probeLines.push(wait);
      });
    await sleep(1000);

    // The daemon's side: the security event recorded after the reset is durable.
    let resetSeen: (() => void) | null = null;
    const follow = call(env.socket, 'events', { follow: true, limit: 1 }, {
      onEvent: (e) => {
        if ((e as { change?: string }).change === 'passwordReset') resetSeen?.();
      },
    }).catch(() => undefined);

    const daemonMs: number[] = [];
    const probeMs: number[] = [];
    for (let i = 0; i < TAPS; i++) {
      const reset = new Promise<number>((resolve) => (resetSeen = () => resolve(performance.now())));
      const seen = probeSees('present');
      const placed = performance.now();
      const card = await peer.placeCard(UID);
      const [d, p] = await Promise.all([reset, seen]);
      daemonMs.push(d - placed);
      probeMs.push(p - placed);
      const gone = probeSees('removed');
      await card.remove();
      await gone;
      await waitFor(env, (s) => !s.rfid.readers.some((r) => r.cardPresent) && s.rfid.hold === null);
    }
    const deltas = daemonMs.map((d, i) => d - (probeMs[i] ?? 0));
    console.log(`tap latency over ${TAPS} placements, from starting the virtual card (pcscd polls vpcd every ~400 ms):`);
    console.log(`  bare smartcard script reads the UID:   median ${ms(quantile(probeMs, 0.5))}, max ${ms(Math.max(...probeMs))}`);
    console.log(`  daemon: password reset durable:        median ${ms(quantile(daemonMs, 0.5))}, max ${ms(Math.max(...daemonMs))}`);
    console.log(`  daemon minus bare script, same card:   median ${ms(quantile(deltas, 0.5))}, max ${ms(Math.max(...deltas))}`);
    console.log(`  ratio of medians: ${(quantile(daemonMs, 0.5) / quantile(probeMs, 0.5)).toFixed(2)}`);

    probe.kill('SIGTERM');
    const pid = daemon.proc.pid as number;
    const before = await cpuSeconds(pid);
    const started = performance.now();
    await sleep(IDLE_SECONDS * 1000);
    const used = (await cpuSeconds(pid)) - before;
    const elapsed = (performance.now() - started) / 1000;
    console.log(`idle CPU with two readers, no card, over ${elapsed.toFixed(0)} s: ${used.toFixed(2)} s = ${((100 * used) / elapsed).toFixed(3)} % of a core (goal < 0.5 %)`);

    // pcscd gone: the watcher retries with backoff (up to rfid.maxRetryMs) instead of spinning.
    await peer.killPcscd();
    await waitFor(env, (s) => s.rfid.service === 'down');
    const downBefore = await cpuSeconds(pid);
    const downStarted = performance.now();
    await sleep(IDLE_SECONDS * 500);
    const downUsed = (await cpuSeconds(pid)) - downBefore;
    const downElapsed = (performance.now() - downStarted) / 1000;
    console.log(`idle CPU with pcscd down (retrying), over ${downElapsed.toFixed(0)} s: ${downUsed.toFixed(2)} s = ${((100 * downUsed) / downElapsed).toFixed(3)} % of a core`);
    void follow;
  } finally {
    await daemon.stop();
    await peer.stop();
    await cleanup(env);
  }
  process.exit(0);
}

async function run(env: Env, args: string[], stdin: string): Promise<void> {
  const child = spawn(BIN, args, { env: { ...process.env, CCGUARD_SOCKET: env.socket }, stdio: ['pipe', 'ignore', 'inherit'] });
  child.stdin.end(stdin);
  const code = await new Promise((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`ccguard ${args.join(' ')} exited with ${String(code)}`);
}

await main();
