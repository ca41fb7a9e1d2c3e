// What every benchmark prints first: the runtime the service is shipped with (the launcher's
// flags, read from bin/ccguard.js itself) and what this machine charges for the trade-offs those
// flags make, measured in the same run — faulting in fresh memory the size of one hash, and the
// interpreter against the JIT on the same loop.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { BIN } from '../test/support/harness.js';

export interface Launcher {
  /** Options node is started with. */
  nodeFlags: string[];
  /** Environment the launcher sets for node (glibc's tunables, libuv's pool). */
  env: Record<string, string>;
}

/** The launcher's shebang line: `#!/usr/bin/env -S NAME=value … node --flag …`. */
export function launcher(): Launcher {
  const first = readFileSync(BIN, 'utf8').split('\n', 1)[0] ?? '';
  const words = first.replace(/^#!\S*env -S\s*/, '').split(/\s+/);
  const env: Record<string, string> = {};
  const nodeFlags: string[] = [];
  let seenNode = false;
  for (const word of words) {
    if (!seenNode && word === 'node') seenNode = true;
    else if (!seenNode && word.includes('=')) env[word.slice(0, word.indexOf('='))] = word.slice(word.indexOf('=') + 1);
    else if (seenNode && word) nodeFlags.push(word);
  }
  return { nodeFlags, env };
}

/** Runs `script` (an ES module, its imports resolved from `cwd`) in a node process; resolves with its stdout. `flags`/`env` default to a plain node. */
export function runNode(script: string, flags: string[] = [], env: Record<string, string> = {}, cwd = process.cwd()): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...flags, '--input-type=module', '-e', script], {
      cwd,
      env: { ...process.env, NODE_OPTIONS: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`node ${flags.join(' ')} failed (${code}): ${err}`))));
  });
}

const HASH_BYTES = 19 * 1024 * 1024;

/**
 * Milliseconds to write one hash's worth of memory that was just mapped (and so faults page by
 * page) against the same write to memory already resident: what a per-hash mmap costs here.
 */
export async function faultCost(bytes = HASH_BYTES, rounds = 20): Promise<{ fresh: number; hot: number }> {
  const script = `
    const n = ${bytes}, rounds = ${rounds}, med = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
    const hot = Buffer.allocUnsafeSlow(n); hot.fill(1);
    const f = [], h = [];
    for (let i = 0; i < rounds; i++) {
      let t = performance.now(); const b = Buffer.allocUnsafeSlow(n); b.fill(i); f.push(performance.now() - t);
      t = performance.now(); hot.fill(i); h.push(performance.now() - t);
    }
    console.log(JSON.stringify({ fresh: med(f), hot: med(h) }));`;
  // A fixed mmap threshold (glibc's default one rises after the first free) maps each allocation afresh.
  return JSON.parse(await runNode(script, [], { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=131072' })) as { fresh: number; hot: number };
}

/** One loop's time in the interpreter (the launcher's --jitless) and with the JIT: what --jitless costs here. */
export async function interpreterCost(): Promise<{ jitless: number; jit: number }> {
  const script = `
    const a = new Int32Array(1 << 20), t = performance.now();
    for (let r = 0; r < 8; r++) for (let i = 0; i < a.length; i++) a[i] ^= i * 31 + r;
    console.log(performance.now() - t);`;
  const [jitless, jit] = await Promise.all([runNode(script, ['--jitless']), runNode(script)]);
  return { jitless: Number(jitless), jit: Number(jit) };
}

/** The header every benchmark prints: node, cores, the launcher's flags and what they cost on this machine. */
export async function printRuntime(title: string): Promise<void> {
  const { nodeFlags, env } = launcher();
  const fault = await faultCost();
  const interp = await interpreterCost();
  console.log(`# ${title} — node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'})`);
  console.log(
    `# as shipped: ${Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')} node ${nodeFlags.join(' ')}   (${BIN})`,
  );
  console.log(
    `# this machine: writing 19 MiB freshly mapped ${fault.fresh.toFixed(1)} ms vs resident ${fault.hot.toFixed(1)} ms` +
      ` (page faults ${(fault.fresh - fault.hot).toFixed(1)} ms per hash-sized allocation);` +
      ` a loop in the interpreter ${interp.jitless.toFixed(0)} ms vs the JIT ${interp.jit.toFixed(0)} ms (${(interp.jitless / interp.jit).toFixed(0)}×)`,
  );
}
