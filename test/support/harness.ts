// Stands up a real ccguard daemon process in a temporary directory and drives it through
// the real CLI (bin/ccguard.js, run as an executable like the installed command), as a
// technician or the web dashboard would.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { daemonAnswers } from '../../agent/wire/client.js';
import type { StatusReport } from '../../agent/wire/status-report.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = join(ROOT, 'bin', 'ccguard.js');

export const DEFAULTS = {
  manufacturer: 'Manu-Factory-Default-7',
  installer: 'Inst-Factory-Default-7',
  operator: 'Oper-Factory-Default-7',
  user: 'User-Factory-Default-7',
} as const;

/** Fast argon2 parameters for tests that are not about hashing cost. */
export const FAST_ARGON2 = { memoryKiB: 1024, timeCost: 1, parallelism: 1 };

export interface Env {
  dir: string;
  configPath: string;
  socket: string;
  stateDir: string;
  logDir: string;
  config: Record<string, unknown>;
}

/** A temporary directory with a config; `overrides` may name paths inside that directory. */
export async function makeEnv(overrides: Record<string, unknown> | ((dir: string) => Record<string, unknown>) = {}): Promise<Env> {
  const dir = await mkdtemp(join(tmpdir(), 'ccguard-test-'));
  const stateDir = join(dir, 'state');
  const logDir = join(dir, 'log');
  const socket = join(dir, 'ccguard.sock');
  const config = { stateDir, socket, logDir, argon2: FAST_ARGON2, ...(typeof overrides === 'function' ? overrides(dir) : overrides) };
  const configPath = join(dir, 'config.json');
  await writeFile(configPath, JSON.stringify(config));
  return { dir, configPath, socket, stateDir, logDir, config };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI; `stdin` is given as the secrets' lines. */
export function cli(env: Env | null, args: string[], stdin?: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, {
      env: { ...process.env, ...(env ? { CCGUARD_SOCKET: env.socket } : {}), ...extraEnv },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.on('error', () => undefined); // a command that exits without reading its input
    child.stdin.end(stdin ?? '');
  });
}

export async function provisionWithDefaults(env: Env): Promise<void> {
  const defaultsPath = join(env.dir, 'defaults.json');
  await writeFile(defaultsPath, JSON.stringify(DEFAULTS));
  const r = await cli(null, ['provision', '--config', env.configPath, '--defaults', defaultsPath]);
  if (r.code !== 0) throw new Error(`provision failed (${r.code}): ${r.stderr}`);
}

export interface Daemon {
  proc: ChildProcess;
  output(): string;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number | null>;
  kill9(): Promise<void>;
}

export async function startDaemon(env: Env, extraEnv: NodeJS.ProcessEnv = {}, waitReady = true): Promise<Daemon> {
  const proc = spawn(BIN, ['daemon', '--config', env.configPath], {
    env: { ...process.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const daemon: Daemon = {
    proc,
    output: () => output,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
    kill9: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
  if (waitReady) {
    const deadline = Date.now() + 15_000;
    while (!(await daemonAnswers(env.socket, 200))) {
      if (proc.exitCode !== null) throw new Error(`daemon exited with ${proc.exitCode}: ${output}`);
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`daemon did not serve ${env.socket} within 15 s: ${output}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return daemon;
}

export async function statusJson(env: Env): Promise<StatusReport> {
  const r = await cli(env, ['status', '--json']);
  if (r.code !== 0) throw new Error(`status failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as StatusReport;
}

/** Every byte the agent wrote under its log directory, for checks that no secret leaked. */
export async function allLogText(env: Env): Promise<string> {
  let text = '';
  for (const name of await readdir(env.logDir)) text += await readFile(join(env.logDir, name), 'utf8');
  return text;
}

export async function cleanup(env: Env): Promise<void> {
  await rm(env.dir, { recursive: true, force: true });
}

/** Past events in the security log, so that `events` with `limit: 10000` answers ~2 MB read from the files. */
export async function fillSecurityLog(env: Env, count: number): Promise<void> {
  await mkdir(env.logDir, { recursive: true, mode: 0o750 });
  const start = Date.parse('2026-01-01T00:00:00Z');
  const lines = Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      time: new Date(start + i * 1000).toISOString(),
      event: 'MaintenanceLoginFailed',
      role: 'operator',
      origin: 'socket:console',
      reason: 'wrongPassword',
      failures: 1,
      peer: { uid: 33, pid: 1000 + (i % 5000) },
    }),
  );
  await writeFile(join(env.logDir, 'security.log'), `${lines.join('\n')}\n`);
}
