// Driving `master-card enroll` against the real daemon: the card presented twice, as a technician does.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { call } from '../../agent/wire/client.js';
import type { StatusReport } from '../../agent/wire/status-report.js';
import { join } from 'node:path';
import type { Test } from 'tap';
import { allLogText, BIN, cleanup, makeEnv, provisionWithDefaults, startDaemon, type Daemon, type Env } from './harness.js';
import { PcscPeer, type VirtualCard } from './pcsc.js';

export const status = async (env: Env): Promise<StatusReport> => (await call(env.socket, 'status', {})) as StatusReport;

export async function waitFor(env: Env, what: string, test: (s: StatusReport) => boolean, timeoutMs = 10_000): Promise<StatusReport> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const s = await status(env);
    if (test(s)) return s;
    if (performance.now() > deadline) {
      const errors = (await allLogText(env)).split('\n').filter((l) => /"level":[456]0/.test(l));
      throw new Error(`timed out waiting for ${what}; last status: ${JSON.stringify(s)}; agent warnings/errors: ${errors.join('\n')}`);
    }
    await sleep(50);
  }
}

export async function securityEvents(env: Env, name: string): Promise<Array<Record<string, unknown>>> {
  const r = (await call(env.socket, 'events', { limit: 10_000 })) as { events: Array<Record<string, unknown>> };
  return r.events.filter((e) => e.event === name);
}

/**
 * The events named `name` once `enough` holds for them (bounded: 5 s). An event is recorded after
 * the state write it reports, so a status that shows the new state may come before it.
 */
export async function securityEventsOnce(
  env: Env,
  name: string,
  enough: (events: Array<Record<string, unknown>>) => boolean,
): Promise<Array<Record<string, unknown>>> {
  let events = await securityEvents(env, name);
  for (let i = 0; i < 50 && !enough(events); i++) {
    await sleep(100);
    events = await securityEvents(env, name);
  }
  return events;
}

export interface EnrolRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The card as the second presentation left it on the reader (null when it was never placed twice). */
  card: VirtualCard | null;
}

export interface EnrolOptions {
  password: string;
  reader?: string;
  uidOnly?: boolean;
  timeoutSeconds?: number;
  /** Places the card; called for each presentation. */
  place: () => Promise<VirtualCard>;
  /** Places the card the second time, if it differs from `place`. */
  placeAgain?: () => Promise<VirtualCard>;
}

/**
 * Runs `master-card enroll`, places the card, waits until the daemon took it, removes it, places
 * it again once the daemon waits for that. Resolves when the command has ended.
 */
export async function enrollTwice(env: Env, options: EnrolOptions): Promise<EnrolRun> {
  const args = ['master-card', 'enroll', '--timeout', String(options.timeoutSeconds ?? 30), '--stdin', '--json'];
  if (options.reader !== undefined) args.push('--reader', options.reader);
  if (options.uidOnly) args.push('--uid-only');
  const child = spawn(BIN, args, { env: { ...process.env, CCGUARD_SOCKET: env.socket } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  child.stdin.end(`${options.password}\n`);
  const ended = (): boolean => child.exitCode !== null;
  let card: VirtualCard | null = null;
  await waitFor(env, 'the enrolment to wait for the card', (s) => s.rfid.enrolmentStep === 'placeCard' || ended());
  if (!ended()) {
    const first = await options.place();
    await waitFor(env, 'the first presentation', (s) => s.rfid.enrolmentStep !== 'placeCard' || ended());
    await first.remove();
    if (!ended()) {
      await waitFor(env, 'the enrolment to wait for the second presentation', (s) => s.rfid.enrolmentStep === 'placeCardAgain' || ended());
      if (!ended()) card = await (options.placeAgain ?? options.place)();
    }
  }
  return { code: await exited, stdout, stderr, card };
}

/**
 * A daemon with a private pcscd and its two virtual readers attached, torn down with `t`;
 * `config` may name paths in the station's directory (the style file and certificate live there).
 */
export async function cardStation(t: Test, config: (dir: string) => Record<string, unknown>): Promise<{ env: Env; peer: PcscPeer; daemon: Daemon }> {
  const env = await makeEnv((dir) => ({
    webUi: { styleFile: join(dir, 'WebUIStyle_web') },
    https: { certFile: join(dir, 'https', 'server.crt'), keyFile: join(dir, 'https', 'server.key') },
    ...config(dir),
  }));
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const peer = await PcscPeer.startWithRetry(env.dir);
  t.teardown(() => peer.stop());
  const daemon = await startDaemon(env, peer.env);
  t.teardown(() => daemon.stop());
  await waitFor(env, 'readers', (x) => x.rfid.readers.length === 2);
  return { env, peer, daemon };
}
