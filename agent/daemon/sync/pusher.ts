import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Config } from '../../common/config.js';
import type { GenerationStore } from '../../store/generation-store.js';
import type { SecurityLog } from '../../logs/logging.js';
import { requireProvisioned, type State } from '../../store/state.js';
import type { PushResult } from '../../sync/helper.js';
import { contentDigest, syncContent } from '../../sync/payload.js';
import { judgeReply, NEW_EPISODE, type PushEpisode } from '../../../policy/sync-push.js';
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
  /** States this pusher wrote itself: their commits start no push. */
  readonly #own = new WeakSet<State>();
  /** What the slave's answers made this pusher do since the last clean acknowledgement. */
  #episode: PushEpisode = NEW_EPISODE;

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
    const current = this.deps.store.current;
    if (!current) return;
    if (current.syncRevision?.sha256 !== contentDigest(current)) this.#newRevision();
    else this.#pushSoon(true);
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

  /**
   * After every durable change made elsewhere: a new revision when the synced content changed,
   * pushed at once. The pusher's own commits (a revision, a renumbering, the slave's sealing key)
   * come back here too and are skipped: what follows them is decided where they are made, so a
   * slave's answer can never start the next push by itself.
   */
  #changed(state: State): void {
    if (this.#own.has(state)) return;
    if (state.syncRevision?.sha256 !== contentDigest(state)) {
      this.#newRevision();
      return;
    }
    // Another change (a failure count, which anyone's wrong guess makes): an unacknowledged revision
    // waits for the backoff's retry or the push under way, and is never pushed again at once.
    const revision = state.syncRevision?.revision ?? 0;
    if (!this.#inFlight && (this.#lastAcked === null || this.#lastAcked < revision)) this.#pushSoon(false);
  }

  #newRevision(): void {
    this.#commit((next) => withRevision(next))
      .then(() => this.#pushSoon(true))
      .catch((err: unknown) => this.deps.log.error({ err }, 'cannot record a new sync revision'));
  }

  /** A state write of the pusher's own, marked so that its commit is not taken for a change. */
  #commit(change: (next: State) => State): Promise<State> {
    return this.deps.store.update((current) => {
      const next = change(structuredClone(requireProvisioned(current)));
      this.#own.add(next);
      return next;
    });
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
      this.#fail(
        revision,
        'no pinned host key for the slave: set sync.peer.hostKey to its host key line (ssh-keyscan -t ed25519 HOST on a trusted network)',
        'noPin',
      );
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
    let pushNow = false;
    try {
      if (result.ok) pushNow = await this.#answered(revision, state, result.reply as { revision?: number; applied?: boolean; sealingKey?: unknown });
      else this.#fail(revision, result.message, result.code);
    } catch (err) {
      this.deps.log.error({ err }, 'cannot record what the slave answered');
      this.#fail(revision, 'cannot record what the slave answered', 'remote');
    } finally {
      this.#inFlight = false;
    }
    if (this.#again || pushNow) {
      this.#again = false;
      this.#pushSoon(true);
    }
  }

  /** Acts on the slave's answer by policy/sync-push.ts; true: push again at once. */
  async #answered(revision: number, state: State, reply: { revision?: number; applied?: boolean; sealingKey?: unknown }): Promise<boolean> {
    const { sync } = this.deps;
    // The slave's key for sealing card keys: authentic, as it came over the pinned SSH channel.
    const newKey =
      typeof reply.sealingKey === 'string' && /^[A-Za-z0-9+/]{43}=$/.test(reply.sealingKey) && reply.sealingKey !== state.syncPeerSealingKey
        ? reply.sealingKey
        : null;
    // The slave's word is checked like any input: a revision the state could not hold is ignored.
    const acked =
      Number.isSafeInteger(reply.revision) && (reply.revision as number) >= 1 && (reply.revision as number) < 2 ** 40 ? (reply.revision as number) : revision;
    const { verdict, episode } = judgeReply(this.#episode, { pushed: revision, acked, sealingKeyChanged: newKey !== null });
    this.#episode = episode;
    const keepKey = (next: State): State => (newKey === null ? next : withRevision({ ...next, syncPeerSealingKey: newKey }));
    switch (verdict.type) {
      case 'renumber': {
        // The slave is ahead (this master's state came back from a backup): continue above its revision, once.
        this.deps.log.warn({ slaveRevision: acked, revision }, 'the slave has a newer sync revision; renumbering');
        await this.#commit((next) => {
          const kept = keepKey(next);
          return { ...kept, syncRevision: { revision: verdict.to, sha256: contentDigest(kept) } };
        });
        return true;
      }
      case 'hostile': {
        if (verdict.keepKey) await this.#commit(keepKey);
        const message =
          verdict.reason === 'slaveAhead'
            ? 'the slave claims a newer revision than this master again after one renumbering: it is AHEAD, not followed (a slave that makes the master loop)'
            : 'the slave answered with another sealing key again before acknowledging one: not followed at once (a slave that makes the master loop)';
        this.#fail(revision, message, verdict.reason, acked);
        return false;
      }
      case 'reseal':
      case 'acked': {
        const before = this.deps.store.current?.syncRevision?.revision ?? revision;
        const after = newKey === null ? before : ((await this.#commit(keepKey)).syncRevision?.revision ?? before);
        this.#lastAcked = acked;
        this.#lastAckAt = new Date().toISOString();
        this.#lastError = null;
        this.#retryMs = sync.firstRetryMs;
        this.deps.log.info({ peer: this.#peerName, revision, applied: reply.applied }, 'slave in sync');
        // Sealed to the new key, the cards make a new revision: pushed once.
        return after > before;
      }
    }
  }

  #fail(revision: number, message: string, code: string, slaveRevision?: number): void {
    const first = this.#lastError !== message;
    this.#lastError = message;
    this.#lastErrorAt = new Date().toISOString();
    if (code === 'hostKeyMismatch' || code === 'noPin' || code === 'slaveAhead' || code === 'sealingKeyChurn') {
      if (first)
        this.deps.security.record('SyncPeerRejected', {
          peer: this.#peerName,
          reason: code,
          revision,
          ...(slaveRevision === undefined ? {} : { slaveRevision }),
        });
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

/** `next` with a new revision if its synced content differs from the one its revision was given for. */
function withRevision(next: State): State {
  const digest = contentDigest(next);
  if (next.syncRevision?.sha256 === digest) return next;
  return { ...next, syncRevision: { revision: (next.syncRevision?.revision ?? 0) + 1, sha256: digest } };
}

/** Runs the helper in node with its JIT (ssh2 needs WebAssembly), the job on stdin. */
async function runHelper(job: string, timeoutMs: number): Promise<PushResult> {
  // Loaded at the first push: node:child_process costs the daemon's start ~4 ms.
  const { spawn } = await import('node:child_process');
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
