// Benchmark of the HTTPS console (issue 26): a login through the console against `login` over the
// socket (median ratio; both hash once with the agent's argon2id defaults), the time of pages that hash
// nothing (p50/p99), the console's memory idle and with 50 open sessions, and the bytes of each page
// (HTML + CSS + JS, uncompressed). The real daemon and the real console process, over HTTPS on 127.0.0.1.
//   npm run bench:console        (BENCH_LOGINS=…, BENCH_PAGES=… for more rounds)
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { call } from '../agent/wire/client.js';
import { consoleRig, csrfOf, RIG_OPERATOR } from '../test/support/console.js';

const LOGINS = Number(process.env.BENCH_LOGINS ?? 30);
const PAGES = Number(process.env.BENCH_PAGES ?? 200);
const SESSIONS = 50;
// The agent's defaults: OWASP's argon2id minimum.
const ARGON2 = { memoryKiB: 19 * 1024, timeCost: 2, parallelism: 1 };

const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
const quantile = (xs: number[], q: number): number => sorted(xs)[Math.min(xs.length - 1, Math.floor(q * xs.length))] as number;
const ms = (x: number): string => `${x.toFixed(1)} ms`;
const mib = (kb: number): string => `${(kb / 1024).toFixed(1)} MiB`;

async function rssKb(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(text)?.[1] ?? NaN);
}

/** A browser-like client: one kept-alive TLS connection, its cookies, its forms' tokens. */
class Browser {
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
  readonly #cookies = new Map<string, string>();
  constructor(private readonly url: string) {}

  send(method: string, path: string, form?: Record<string, string>): Promise<{ status: number; body: string; ms: number }> {
    const body = form ? new URLSearchParams(form).toString() : undefined;
    const headers: Record<string, string> = {};
    if (this.#cookies.size) headers.cookie = [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (body !== undefined) Object.assign(headers, { 'content-type': 'application/x-www-form-urlencoded', origin: this.url });
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      const req = request(this.url + path, { method, headers, agent: this.#agent }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          for (const line of ([] as string[]).concat(res.headers['set-cookie'] ?? [])) {
            const [name, ...value] = (line.split(';')[0] ?? '').split('=');
            if (name) this.#cookies.set(name, value.join('='));
          }
          resolve({ status: res.statusCode ?? 0, body: text, ms: performance.now() - t0 });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** The login's POST alone is timed (the page with its token was fetched first, as a browser does). */
  async login(role: string, password: string): Promise<number> {
    const page = await this.send('GET', '/login');
    const r = await this.send('POST', '/login', { _csrf: csrfOf(page.body), role, password });
    if (r.status !== 303) throw new Error(`login through the console: ${r.status}`);
    return r.ms;
  }

  close(): void {
    this.#agent.destroy();
  }
}

async function main(): Promise<void> {
  const rig = await consoleRig(() => ({
    argon2: ARGON2,
    sessions: { max: 200 },
    console: { loginAttemptsPerMinute: 1000 },
    throttle: { freeFailures: 100 },
  }));
  try {
    const pid = rig.proc.pid as number;
    const idleStart = await rssKb(pid);

    // Logins, alternating, so that both see the same machine.
    const viaConsole: number[] = [];
    const viaSocket: number[] = [];
    for (let i = 0; i < LOGINS; i++) {
      const browser = new Browser(rig.url);
      viaConsole.push(await browser.login('operator', RIG_OPERATOR));
      browser.close();
      const t0 = performance.now();
      await call(rig.env.socket, 'login', { role: 'operator', password: RIG_OPERATOR });
      viaSocket.push(performance.now() - t0);
    }
    const ratio = quantile(viaConsole, 0.5) / quantile(viaSocket, 0.5);

    // Pages that hash nothing: a logged-in operator (overview, operator, logs, handover) over one connection.
    const browser = new Browser(rig.url);
    await browser.login('operator', RIG_OPERATOR);
    const pages = ['/', '/operator', '/logs', '/handover', '/change'];
    const times: Record<string, number[]> = Object.fromEntries(pages.map((p) => [p, []]));
    const bytes: Record<string, number> = {};
    for (let i = 0; i < PAGES; i++) {
      for (const path of pages) {
        const r = await browser.send('GET', path);
        if (r.status !== 200) throw new Error(`${path}: ${r.status}`);
        times[path]?.push(r.ms);
        bytes[path] = Buffer.byteLength(r.body);
      }
    }
    const all = Object.values(times).flat();
    const css = Buffer.byteLength((await browser.send('GET', '/static/console.css')).body);
    const js = Buffer.byteLength((await browser.send('GET', '/static/console.js')).body);
    const login = Buffer.byteLength((await new Browser(rig.url).send('GET', '/login')).body);
    browser.close();
    const idleWarm = await rssKb(pid);

    // 50 open sessions (each its own browser), then the memory.
    const open: Browser[] = [];
    for (let i = 0; i < SESSIONS; i++) {
      const b = new Browser(rig.url);
      await b.login('operator', RIG_OPERATOR);
      await b.send('GET', '/');
      open.push(b);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const withSessions = await rssKb(pid);
    for (const b of open) b.close();

    const lines = [
      `console bench (${LOGINS} logins each way, ${PAGES} rounds of ${pages.length} pages; argon2id ${ARGON2.memoryKiB} KiB, t=${ARGON2.timeCost})`,
      `login through the console: median ${ms(quantile(viaConsole, 0.5))} (p90 ${ms(quantile(viaConsole, 0.9))})`,
      `login over the socket:     median ${ms(quantile(viaSocket, 0.5))} (p90 ${ms(quantile(viaSocket, 0.9))})`,
      `median ratio console/socket: ${ratio.toFixed(2)} (goal ≤ 1.2)`,
      ...pages.map((p) => `page ${p.padEnd(9)} p50 ${ms(quantile(times[p] ?? [], 0.5))}  p99 ${ms(quantile(times[p] ?? [], 0.99))}  ${bytes[p]} B HTML`),
      `all pages without hashing: p50 ${ms(quantile(all, 0.5))}, p99 ${ms(quantile(all, 0.99))} (goal p99 ≤ 50 ms)`,
      `bytes per page (HTML + CSS ${css} B + JS ${js} B, uncompressed): login ${login + css + js} B; ${pages.map((p) => `${p} ${(bytes[p] ?? 0) + css + js} B`).join('; ')} (goal ≤ 30 KB)`,
      `console RSS: idle after start ${mib(idleStart)}, idle after the runs ${mib(idleWarm)}, with ${SESSIONS} open sessions ${mib(withSessions)}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await rig.stop();
  }
}

await main();
