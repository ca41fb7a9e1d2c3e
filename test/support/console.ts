// Stands up the real console process (`ccguard console --config FILE`, as its unit runs it) beside a
// real daemon of the harness, on 127.0.0.1 and a free port, with the certificate the daemon made.
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:https';
import { BIN, cli, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon, type Daemon, type Env } from './harness.js';
import { freePort } from './ports.js';
import { join } from 'node:path';

export interface ConsoleRig {
  env: Env;
  daemon: Daemon;
  proc: ChildProcess;
  url: string;
  output(): string;
  stop(): Promise<void>;
}

/** A provisioned station with HTTPS on (so the device certificate exists) and its console serving. */
export async function consoleRig(overrides: (dir: string) => Record<string, unknown> = () => ({}), options: { httpsOn?: boolean } = {}): Promise<ConsoleRig> {
  const port = await freePort();
  const env = await makeEnv((dir) => ({
    https: { certFile: join(dir, 'https', 'server.crt'), keyFile: join(dir, 'https', 'server.key'), hostName: 'station.test', ipAddresses: ['127.0.0.1'] },
    webUi: { styleFile: join(dir, 'WebUIStyle_web') },
    device: { name: 'station-7', serial: '' },
    console: { host: '127.0.0.1', port, certificateCheckMs: 200 },
    rfid: { enabled: false },
    ...overrides(dir),
  }));
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  if (options.httpsOn !== false) {
    // The operator switches HTTPS on once from the CLI (off its default password first), so the certificate exists.
    const changed = await cli(env, ['passwd', 'operator', '--stdin'], `${DEFAULTS.operator}\nRig-Harbor-Basalt-73!\n`);
    if (changed.code !== 0) throw new Error(`passwd operator: ${changed.stderr}`);
    const on = await cli(env, ['https', 'enable', '--stdin'], 'Rig-Harbor-Basalt-73!\n');
    if (on.code !== 0) throw new Error(`https enable: ${on.stderr}`);
  }
  const proc = spawn(BIN, ['console', '--config', env.configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const url = `https://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exited;
    await daemon.stop();
  };
  const deadline = Date.now() + 20_000;
  while (!(await answers(url))) {
    if (proc.exitCode !== null) throw new Error(`console exited with ${proc.exitCode}: ${output}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`console did not serve ${url} within 20 s: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { env, daemon, proc, url, output: () => output, stop };
}

/** One HTTPS request to the console (the test checks the certificate itself, by fingerprint). */
export function fetchRaw(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, rejectUnauthorized: false, agent: false }, (res) => {
      const fingerprint = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, fingerprint });
      });
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

async function answers(url: string): Promise<boolean> {
  try {
    await fetchRaw(`${url}/login`);
    return true;
  } catch {
    return false;
  }
}
