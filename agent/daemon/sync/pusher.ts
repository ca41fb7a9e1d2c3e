import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Config } from '../../common/config.js';
import type { GenerationStore } from '../../store/generation-store.js';
import type { SecurityLog } from '../../logs/logging.js';
import { requireProvisioned, type State } from '../../store/state.js';
import type { PushResult } from '../../sync/helper.js';
import { contentDigest, syncContent } from '../../sync/payload.js';
import type { SyncStatus } from '../../wire/results.js';

type Peer = NonNullable<Config['sync']['peer']>;

const HELPER = fileURLToPath(new URL('../../sync/helper.js', import.meta.url));

/**
 * Keeps a double station's slave identical: every change to the synced content gets a new
 * revision (durable, in the state) and is pushed over SSH by a helper process. Pushing never
 * blocks a login or a change here; a failed push is retried with backoff until the slave is back.
 */
export class SyncPusher {
  readonly #peerName: string;
  #inFlight = false;
  #again = false;
  #retryTimer: NodeJS.Timeout | null = null;
  #retryAt: number | null = null;
  #retryMs: number;
  #stopped = false;
  #lastPushed: number | null = null;
  #lastAcked: number | null = null;
  #lastAckAt: string | null = null;
  #lastError: string | null = null;
  #lastErrorAt: string | null = null;

  constructor(
    private readonly deps: {
      sync: Config['sync'];
      peer: Peer;
      store: GenerationStore<State>;
      security: SecurityLog;
      log: Logger;
      now: () => number;
    },
  ) {
    this.#peerName = `${deps.peer.user}@${deps.peer.host}:${deps.peer.port}`;
    this.#retryMs = deps.sync.firstRetryMs;
  }

  start(): void {
    this.deps.store.onCommit((state) => this.#changed(state));
    if (this.deps.store.current) this.#changed(this.deps.store.current);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
  }

  status(): SyncStatus {
    const revision = this.deps.store.current?.syncRevision?.revision ?? null;
    const inSync = revision !== null && this.#lastAcked !== null && this.#lastAcked >= revision;
    const nextRetryInSeconds = this.#retryAt === null ? null : Math.max(0, Math.ceil((this.#retryAt - this.deps.now()) / 1000));
    const summary = inSync
      ? `${this.#peerName} in sync at revision ${revision}`
      : `${this.#peerName} OUT OF SYNC: revision ${revision ?? '-'} here, ${this.#lastAcked ?? 'none'} acknowledged` +
        (this.#lastError ? `; last error: ${this.#lastError}` : '') +
        (nextRetryInSeconds !== null ? `; retry in ${nextRetryInSeconds} s` : '');
    return {
      peer: this.#peerName,
      revision,
      lastPushedRevision: this.#lastPushed,
      lastAckedRevision: this.#lastAcked,
      lastAckAt: this.#lastAckAt,
      lastError: this.#lastError,
      lastErrorAt: this.#lastErrorAt,
      nextRetryInSeconds,
      inSync,
      summary,
    };
  }

  /** After every durable change: a new revision when the synced content changed, then a push. */
  #changed(state: State): void {
    const digest = contentDigest(state);
    if (state.syncRevision?.sha256 !== digest) {
      // Its own commit comes back here with the digest equal, and pushes.
      void this.deps.store
        .update((current) => {
          const next = structuredClone(requireProvisioned(current));
          next.syncRevision = { revision: (next.syncRevision?.revision ?? 0) + 1, sha256: digest };
          return next;
        })
        .catch((err: unknown) => this.deps.log.error({ err }, 'cannot record a new sync revision'));
      return;
    }
    if (this.#lastAcked === null || this.#lastAcked < (state.syncRevision?.revision ?? 0)) this.#pushSoon(true);
  }

  #pushSoon(now: boolean): void {
    if (this.#stopped) return;
    if (this.#inFlight) {
      this.#again = true;
      return;
    }
    if (!now && this.#retryTimer) return;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#retryAt = null;
    void this.#push();
  }

  async #push(): Promise<void> {
    const state = this.deps.store.current;
    const revision = state?.syncRevision?.revision;
    if (!state || revision === undefined) return;
    const { peer, sync } = this.deps;
    if (!peer.hostKey) {
      this.#fail(revision, 'no pinned host key for the slave: set sync.peer.hostKey to its host key line (ssh-keyscan -t ed25519 HOST on a trusted network)', 'noPin');
      return;
    }
    this.#inFlight = true;
    this.#lastPushed = revision;
    const payload = JSON.stringify({ kind: 'ccguard-sync/1', revision, ...syncContent(state) });
    const job = { ...peer, hostKey: peer.hostKey, keepaliveMs: sync.keepaliveMs, timeoutMs: sync.timeoutMs, payload };
    let result: PushResult;
    try {
      result = await runHelper(JSON.stringify(job), sync.timeoutMs + 5000);
    } catch (err) {
      result = { ok: false, code: 'remote', message: `the sync helper failed: ${(err as Error).message}` };
    }
    this.#inFlight = false;
    if (result.ok) {
      const reply = result.reply as { revision?: number; applied?: boolean; sealingKey?: unknown };
      // The slave's key for sealing card keys: authentic, as it came over the pinned SSH channel.
      if (typeof reply.sealingKey === 'string' && /^[A-Za-z0-9+/]{43}=$/.test(reply.sealingKey) && reply.sealingKey !== state.syncPeerSealingKey) {
        const sealingKey = reply.sealingKey;
        await this.deps.store.update((current) => ({ ...structuredClone(requireProvisioned(current)), syncPeerSealingKey: sealingKey }));
      }
      // The slave's word is checked like any input: a revision the state could not hold is ignored.
      const acked = Number.isSafeInteger(reply.revision) && (reply.revision as number) >= 1 && (reply.revision as number) < 2 ** 40 ? (reply.revision as number) : revision;
      if (acked > revision) {
        // The slave is ahead (this master's state came back from a backup): continue above its revision.
        this.deps.log.warn({ slaveRevision: acked, revision }, 'the slave has a newer sync revision; renumbering');
        await this.deps.store.update((current) => {
          const next = structuredClone(requireProvisioned(current));
          next.syncRevision = { revision: acked + 1, sha256: next.syncRevision?.sha256 ?? '' };
          return next;
        });
        return;
      }
      this.#lastAcked = acked;
      this.#lastAckAt = new Date().toISOString();
      this.#lastError = null;
      this.#retryMs = sync.firstRetryMs;
      this.deps.log.info({ peer: this.#peerName, revision, applied: reply.applied }, 'slave in sync');
    } else {
      this.#fail(revision, result.message, result.code);
    }
    const newest = this.deps.store.current?.syncRevision?.revision ?? revision;
    if (this.#again || (result.ok && newest > revision)) {
      this.#again = false;
      this.#pushSoon(true);
    }
  }

  #fail(revision: number, message: string, code: string): void {
    const first = this.#lastError !== message;
    this.#lastError = message;
    this.#lastErrorAt = new Date().toISOString();
    if (code === 'hostKeyMismatch' || code === 'noPin') {
      if (first) this.deps.security.record('SyncPeerRejected', { peer: this.#peerName, reason: code, revision });
    }
    if (first) this.deps.log.warn({ peer: this.#peerName, revision, code, message }, 'sync push failed; retrying with backoff');
    const wait = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, this.deps.sync.maxRetryMs);
    this.#retryAt = this.deps.now() + wait;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#retryAt = null;
      this.#pushSoon(false);
    }, wait);
  }
}

/** Runs the helper in node with its JIT (ssh2 needs WebAssembly), the job on stdin. */
function runHelper(job: string, timeoutMs: number): Promise<PushResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HELPER], { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
    let out = '';
    let err = '';
    // The helper prints one line; a bound keeps a misbehaving one from growing the daemon.
    child.stdout.on('data', (d: Buffer) => {
      if (out.length < 256 * 1024) out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 64 * 1024) err += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '') as PushResult);
      } catch {
        reject(new Error(`exited with ${code ?? signal}: ${err.trim().slice(0, 300)}`));
      }
    });
    child.stdin.end(job);
  });
}
