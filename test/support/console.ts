// Stands up the real console process (`ccguard console --config FILE`, as its unit runs it) beside a
// real daemon of the harness, on 127.0.0.1 and a free port, with the certificate the daemon made.
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { BIN, cleanup, cli, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon, type Daemon, type Env } from './harness.js';
import { freePort } from './ports.js';

/** The operator password the rigs set (HTTPS is switched on with it, so the certificate exists). */
export const RIG_OPERATOR = 'Rig-Harbor-Basalt-73!';

export interface ConsoleProcess {
  proc: ChildProcess;
  url: string;
  output(): string;
  stop(): Promise<void>;
}

export interface ConsoleRig extends ConsoleProcess {
  env: Env;
  daemon: Daemon;
}

/** The `console` config of a station whose console listens on 127.0.0.1:`port`. */
export function consoleConfig(dir: string, port: number): Record<string, unknown> {
  return {
    https: { certFile: join(dir, 'https', 'server.crt'), keyFile: join(dir, 'https', 'server.key'), hostName: 'station.test', ipAddresses: ['127.0.0.1'] },
    webUi: { styleFile: join(dir, 'WebUIStyle_web') },
    device: { name: 'station-7', serial: '' },
    console: { host: '127.0.0.1', port, certificateCheckMs: 200 },
  };
}

/** A provisioned station with HTTPS on (so the device certificate exists) and its console serving. */
export async function consoleRig(overrides: (dir: string) => Record<string, unknown> = () => ({})): Promise<ConsoleRig> {
  const port = await freePort();
  const env = await makeEnv((dir) => {
    const base = consoleConfig(dir, port);
    const extra = overrides(dir);
    // `console` is merged key by key: a test sets its limits, the rig its address.
    return { ...base, rfid: { enabled: false }, ...extra, console: { ...(base.console as object), ...((extra.console as object | undefined) ?? {}) } };
  });
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  await switchHttpsOn(env);
  const consoleProcess = await startConsoleFor(env);
  return {
    ...consoleProcess,
    env,
    daemon,
    stop: async () => {
      await consoleProcess.stop();
      await daemon.stop();
      await cleanup(env);
    },
  };
}

/** The operator leaves its default password and switches HTTPS on from the CLI: the daemon makes the certificate. */
export async function switchHttpsOn(env: Env): Promise<void> {
  const changed = await cli(env, ['passwd', 'operator', '--stdin'], `${DEFAULTS.operator}\n${RIG_OPERATOR}\n`);
  if (changed.code !== 0) throw new Error(`passwd operator: ${changed.stderr}`);
  const on = await cli(env, ['https', 'enable', '--stdin'], `${RIG_OPERATOR}\n`);
  if (on.code !== 0) throw new Error(`https enable: ${on.stderr}`);
}

/** Starts `ccguard console` for the station `env` (its daemon running) and waits until it serves. */
export async function startConsoleFor(env: Env): Promise<ConsoleProcess> {
  const port = (env.config.console as { port: number }).port;
  const proc = spawn(BIN, ['console', '--config', env.configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const url = `https://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exited;
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
  return { proc, url, output: () => output, stop };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The SHA-256 fingerprint of the certificate the console served, as `status --json` writes it. */
  fingerprint: string;
}

/** One HTTPS request to the console (the test checks the certificate itself, by fingerprint). */
export function fetchRaw(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, rejectUnauthorized: false, agent: false }, (res) => {
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, fingerprint }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/**
 * A browser-less client of the console that keeps its cookies, sends forms as a page of the console
 * would (its Origin), and reads each form's CSRF token: for the security checks at the HTTP level.
 */
export class RawClient {
  readonly cookies = new Map<string, string>();
  constructor(readonly url: string) {}

  async get(path: string): Promise<RawResponse> {
    return this.#keep(await fetchRaw(this.url + path, { headers: this.#headers() }));
  }

  async post(path: string, fields: Record<string, string>, headers: Record<string, string> = { origin: this.url }): Promise<RawResponse> {
    const body = new URLSearchParams(fields).toString();
    return this.#keep(
      await fetchRaw(this.url + path, {
        method: 'POST',
        headers: { ...this.#headers(), 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body,
      }),
    );
  }

  /** Logs in (the login form's token first); the response to the login's POST. */
  async login(role: string, password: string): Promise<RawResponse> {
    const page = await this.get('/login');
    return this.post('/login', { _csrf: csrfOf(page.body), role, password });
  }

  #headers(): Record<string, string> {
    return this.cookies.size ? { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {};
  }

  #keep(r: RawResponse): RawResponse {
    const set = r.headers['set-cookie'];
    for (const line of Array.isArray(set) ? set : set ? [set] : []) {
      const [pair] = line.split(';');
      const [name, ...value] = (pair ?? '').split('=');
      if (!name) continue;
      if (/Expires=Thu, 01 Jan 1970/i.test(line) || value.join('=') === '') this.cookies.delete(name.trim());
      else this.cookies.set(name.trim(), value.join('='));
    }
    return r;
  }
}

/** The CSRF token of the first form in a page. */
export function csrfOf(html: string): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!token) throw new Error('no CSRF token in the page');
  return token;
}

async function answers(url: string): Promise<boolean> {
  try {
    await fetchRaw(`${url}/login`);
    return true;
  } catch {
    return false;
  }
}
