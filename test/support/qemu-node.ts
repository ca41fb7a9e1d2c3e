// Runs an extracted ARM package's ccguard under qemu-user (test-peers.md "ARM under emulation"):
// the official Node binary for that CPU, an ARM sysroot for its libraries, and the runtime flags of
// the package's own launcher (bin/ccguard.js's shebang), so the emulated process runs as installed.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export type ArmArch = 'arm64' | 'armhf';
export const QEMU: Record<ArmArch, string> = { arm64: '/usr/bin/qemu-aarch64-static', armhf: '/usr/bin/qemu-arm-static' };

export interface EmulatedRuntime {
  arch: ArmArch;
  sysroot: string;
  node: string;
  /** The extracted package's /usr/lib/ccguard. */
  app: string;
  /** From the launcher's shebang: environment and node flags. */
  env: Record<string, string>;
  nodeFlags: string[];
}

/** Reads `#!/usr/bin/env -S A=1 B=2 node --flag …` of the package's launcher. */
export async function runtimeOf(arch: ArmArch, sysroot: string, node: string, app: string): Promise<EmulatedRuntime> {
  const shebang = (await readFile(join(app, 'bin', 'ccguard.js'), 'utf8')).split('\n')[0] as string;
  const words = shebang.replace(/^#!\S+\s+-S\s+/, '').split(/\s+/);
  const nodeAt = words.indexOf('node');
  if (nodeAt < 0) throw new Error(`unexpected launcher line: ${shebang}`);
  const env = Object.fromEntries(words.slice(0, nodeAt).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
  return { arch, sysroot, node, app, env, nodeFlags: words.slice(nodeAt + 1) };
}

/** A node process under qemu: `args` after node's own flags (a script and its arguments, or -e). */
export function spawnEmulated(rt: EmulatedRuntime, args: string[], options: SpawnOptions & { extraEnv?: NodeJS.ProcessEnv } = {}): ChildProcess {
  const env = { ...process.env, ...rt.env, ...options.extraEnv };
  delete env.NODE_OPTIONS; // the test runner's loader hooks are for the host's node
  return spawn(QEMU[rt.arch], ['-L', rt.sysroot, rt.node, ...rt.nodeFlags, ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...options, env });
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
  pid: number;
  ms: number;
}

/** The package's CLI under emulation (`ccguard ARGS`), with `input` on stdin. */
export function emulatedCli(rt: EmulatedRuntime, args: string[], input = '', extraEnv: NodeJS.ProcessEnv = {}): Promise<Result> {
  return runEmulated(rt, [join(rt.app, 'bin', 'ccguard.js'), ...args], input, extraEnv);
}

export function runEmulated(rt: EmulatedRuntime, args: string[], input = '', extraEnv: NodeJS.ProcessEnv = {}): Promise<Result> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawnEmulated(rt, args, { extraEnv });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, pid: child.pid ?? 0, ms: performance.now() - started });
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}
