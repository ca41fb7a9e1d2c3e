// Benchmark of the log export (issues 5, 23): `ccguard logs export` (daemon + CLI as shipped, AES-256)
// against 7-Zip on the same files in the same run (`7z a -tzip -mem=AES256 -mx=1`, one thread and
// two), and the same export run in one process with the JIT and with --jitless, so the interpreter's
// share shows beside it: wall time, peak RSS and output size. The export deflates each entry in
// blocks on all cores (agent/logs/parallel-deflate.ts), so its goal is ≤ 0.6 of 7-Zip's time on
// one thread (≤ 1.0 was the goal on one core), output no larger than 7-Zip's.
//   npm run bench:logs        (BENCH_SIZES_MB=5,200,600 by default; BENCH_7Z_MX5=1 adds 7z -mx=5)
import { spawn } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { launcher, printRuntime } from './shipped-runtime.js';
import { BIN, cleanup, cli, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon } from '../test/support/harness.js';
import { writeLogCorpus } from './log-corpus.js';
import { builtInConfig } from '../agent/common/config.js';

const LEVEL = process.env.BENCH_LEVEL ? Number(process.env.BENCH_LEVEL) : undefined;
const SIZES = (process.env.BENCH_SIZES_MB ?? '5,200,600').split(',').map(Number);
const MFR = 'Quartz-Fjord-91-Lantern';
const OPERATOR = 'Harbor-Violet-46-Quill';
const LOG_PASSWORD = 'Support-Zip-Key-2026!';
/** The agent's default compression level. */
const DEFAULT_LEVEL = builtInConfig().logs.exportCompressionLevel;
const EXPORT_ONCE = new URL('./export-once.js', import.meta.url).pathname;

interface Run {
  seconds: number;
  peakKiB: number;
  bytes: number;
}

/** Runs a command, timing it and reading its peak RSS from the kernel's rusage (python3's resource module). */
function measured(argv: string[], input: string, env: NodeJS.ProcessEnv = process.env): Promise<{ seconds: number; peakKiB: number }> {
  const wrapper =
    'import resource,subprocess,sys,time\nt=time.monotonic()\nr=subprocess.run(sys.argv[1:])\nd=time.monotonic()-t\nprint(d, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\nsys.exit(r.returncode)';
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', ['-c', wrapper, ...argv], { env, stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdin.end(input);
    child.on('exit', (code) => {
      const last = err.trim().split('\n').at(-1) ?? '';
      const [seconds, peak] = last.split(' ').map(Number);
      if (code !== 0 || seconds === undefined || peak === undefined) reject(new Error(`${argv.join(' ')} failed (${code}): ${err}`));
      else resolve({ seconds, peakKiB: peak });
    });
  });
}

async function vm(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
}

const mib = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

async function benchSize(sizeMb: number): Promise<void> {
  const env = await makeEnv(LEVEL ? { logs: { exportCompressionLevel: LEVEL } } : {});
  try {
    await provisionWithDefaults(env);
    await mkdir(env.logDir, { recursive: true });
    const corpus = join(env.dir, 'corpus');
    await mkdir(corpus);
    await writeLogCorpus(corpus, sizeMb * 1e6);
    // The same files in the daemon's log directory (its own two logs are a few hundred bytes).
    await writeLogCorpus(env.logDir, sizeMb * 1e6);
    const daemon = await startDaemon(env);
    try {
      for (const [role, password] of [
        ['manufacturer', MFR],
        ['operator', OPERATOR],
      ] as const) {
        await cli(env, ['passwd', role, '--stdin'], `${DEFAULTS[role]}\n${password}\n`);
      }
      await cli(env, ['log-password', 'set', '--stdin'], `${MFR}\n${LOG_PASSWORD}\n`);
      // The password blocklist (~2 MB) is dropped after 10 s idle.
      await sleep(11_000);
      const pid = daemon.proc.pid as number;
      const idle = await vm(pid, 'VmRSS');
      // Reset the peak to the current RSS (Linux's clear_refs "5"), so the peak read after is the export's.
      await writeFile(`/proc/${pid}/clear_refs`, '5');
      const ours = join(env.dir, 'ccguard.zip');
      const run = await measured([BIN, 'logs', 'export', '--output', ours, '--stdin'], `${OPERATOR}\n`, { ...process.env, CCGUARD_SOCKET: env.socket });
      const daemonPeak = await vm(pid, 'VmHWM');
      const result: Run = { seconds: run.seconds, peakKiB: daemonPeak, bytes: (await stat(ours)).size };
      const sevenZip: Record<string, Run> = {};
      const variants = [['-mx=1', '-mmt=1'], ['-mx=1', '-mmt=2'], ...(process.env.BENCH_7Z_MX5 ? [['-mx=5', '-mmt=1']] : [])];
      for (const flags of variants) {
        const out = join(env.dir, `7z${flags.join('')}.zip`);
        const r = await measured(['7z', 'a', '-tzip', '-mem=AES256', ...flags, `-p${LOG_PASSWORD}`, out, `${corpus}/.`], '');
        sevenZip[flags.join(' ')] = { seconds: r.seconds, peakKiB: r.peakKiB, bytes: (await stat(out)).size };
      }
      // The same export in one process (no socket, no CLI), as launched but with and without the JIT.
      const { nodeFlags, env: launcherEnv } = launcher();
      const inProcess: Record<string, Run> = {};
      for (const [label, flags] of [
        ['jitless (as shipped)', nodeFlags],
        ['with the JIT', nodeFlags.filter((f) => f !== '--jitless')],
      ] as const) {
        const out = join(env.dir, `in-process-${Object.keys(inProcess).length}.zip`);
        const r = await measured([process.execPath, ...flags, EXPORT_ONCE, corpus, out, String(LEVEL ?? DEFAULT_LEVEL)], `${LOG_PASSWORD}\n`, {
          ...process.env,
          ...launcherEnv,
        });
        inProcess[label] = { seconds: r.seconds, peakKiB: r.peakKiB, bytes: (await stat(out)).size };
      }
      const one = sevenZip['-mx=1 -mmt=1'] as Run;
      const two = sevenZip['-mx=1 -mmt=2'] as Run;
      const jitless = inProcess['jitless (as shipped)'] as Run;
      const jit = inProcess['with the JIT'] as Run;
      console.log(`\n## ${sizeMb} MB of logs (${Math.ceil(sizeMb / 10)} files)`);
      console.log(
        `  ccguard logs export   ${result.seconds.toFixed(2)} s  daemon peak ${mib(result.peakKiB)} (idle before ${mib(idle)}), CLI peak ${mib(run.peakKiB)}  ${mb(result.bytes)}`,
      );
      for (const [flags, r] of Object.entries(sevenZip))
        console.log(`  7z ${flags.padEnd(18)} ${r.seconds.toFixed(2)} s  peak ${mib(r.peakKiB)}  ${mb(r.bytes)}`);
      for (const [label, r] of Object.entries(inProcess))
        console.log(`  in process, ${label.padEnd(21)} ${r.seconds.toFixed(2)} s  peak ${mib(r.peakKiB)}  ${mb(r.bytes)}`);
      console.log(
        `  ratio to 7z -mx=1 -mmt=1: time ${(result.seconds / one.seconds).toFixed(2)} (goal ≤ 0.6, using every core), size ${(result.bytes / one.bytes).toFixed(3)} (goal ≤ 1)`,
      );
      console.log(`  ratio to 7z -mx=1 -mmt=2: time ${(result.seconds / two.seconds).toFixed(2)} (both sides on both cores)`);
      console.log(
        `  interpreter's share: jitless / JIT in process ${(jitless.seconds / jit.seconds).toFixed(2)} (${(jitless.seconds - jit.seconds).toFixed(2)} s); ` +
          `daemon peak ${(result.peakKiB / 1024).toFixed(1)} MiB (goal < 100 MB = 95.4 MiB)`,
      );
    } finally {
      await daemon.stop();
    }
  } finally {
    await cleanup(env);
  }
}

await printRuntime('ccguard log-export benchmark');
for (const size of SIZES) await benchSize(size);
