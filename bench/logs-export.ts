// Benchmark of the log export (issue 5): `ccguard logs export` (daemon + CLI, AES-256) against
// 7-Zip on the same files in the same run (`7z a -tzip -mem=AES256 -mmt=1` at -mx=1 and -mx=5):
// wall time, peak RSS and output size.
//   npm run build && node dist/bench/logs-export.js        (BENCH_SIZES_MB=5,200,600 by default)
import { spawn } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BIN, cleanup, cli, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon } from '../test/support/harness.js';
import { writeLogCorpus } from './log-corpus.js';

const LEVEL = process.env.BENCH_LEVEL ? Number(process.env.BENCH_LEVEL) : undefined;
const SIZES = (process.env.BENCH_SIZES_MB ?? '5,200,600').split(',').map(Number);
const MFR = 'Quartz-Fjord-91-Lantern';
const OPERATOR = 'Harbor-Violet-46-Quill';
const LOG_PASSWORD = 'Support-Zip-Key-2026!';

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
      for (const level of [1, 5]) {
        const out = join(env.dir, `7z-mx${level}.zip`);
        const r = await measured(['7z', 'a', '-tzip', '-mem=AES256', '-mmt=1', `-mx=${level}`, `-p${LOG_PASSWORD}`, out, `${corpus}/.`], '');
        sevenZip[level] = { seconds: r.seconds, peakKiB: r.peakKiB, bytes: (await stat(out)).size };
      }
      const ref1 = sevenZip[1] as Run;
      const ref5 = sevenZip[5] as Run;
      console.log(`\n## ${sizeMb} MB of logs (${Math.ceil(sizeMb / 10)} files)`);
      console.log(
        `  ccguard logs export  ${result.seconds.toFixed(2)} s  daemon peak ${mib(result.peakKiB)} (idle before ${mib(idle)}), CLI peak ${mib(run.peakKiB)}  ${mb(result.bytes)}`,
      );
      console.log(`  7z -mx=1 -mmt=1      ${ref1.seconds.toFixed(2)} s  peak ${mib(ref1.peakKiB)}  ${mb(ref1.bytes)}`);
      console.log(`  7z -mx=5 -mmt=1      ${ref5.seconds.toFixed(2)} s  peak ${mib(ref5.peakKiB)}  ${mb(ref5.bytes)}`);
      console.log(
        `  ratios vs 7z -mx=1: time ${(result.seconds / ref1.seconds).toFixed(2)} (goal < 1), size ${(result.bytes / ref1.bytes).toFixed(3)} (goal ≤ 1); ` +
          `daemon peak ${(result.peakKiB / 1024).toFixed(1)} MiB (goal < 100 MB = 95.4 MiB)`,
      );
    } finally {
      await daemon.stop();
    }
  } finally {
    await cleanup(env);
  }
}

for (const size of SIZES) await benchSize(size);
