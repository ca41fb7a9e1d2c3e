import { Worker } from 'node:worker_threads';

interface Reply {
  id?: number;
  score?: number;
}

/**
 * Scores passwords in a worker thread that starts on demand and exits after `idleMs` without
 * work, taking the dictionaries' memory with it.
 */
export class StrengthService {
  #worker: Worker | null = null;
  #nextId = 1;
  #pending = new Map<number, { resolve: (score: number) => void; reject: (err: Error) => void }>();
  #idleTimer: NodeJS.Timeout | null = null;

  constructor(private readonly idleMs = 10_000) {}

  score(password: string, userInputs: readonly string[]): Promise<number> {
    const worker = this.#ensureWorker();
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    const id = this.#nextId++;
    return new Promise<number>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ id, password, userInputs: [...userInputs] });
    });
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(new URL('./strength-worker.js', import.meta.url));
    worker.on('message', (reply: Reply) => {
      if (reply.id === undefined || reply.score === undefined) return;
      this.#pending.get(reply.id)?.resolve(reply.score);
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) this.#scheduleExit();
    });
    const fail = (err: Error): void => {
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
      this.#worker = null;
    };
    worker.on('error', fail);
    worker.on('exit', () => fail(new Error('password strength worker exited')));
    this.#worker = worker;
    return worker;
  }

  #scheduleExit(): void {
    this.#idleTimer = setTimeout(() => void this.close(), this.idleMs);
    this.#idleTimer.unref();
  }

  async close(): Promise<void> {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    const worker = this.#worker;
    this.#worker = null;
    if (worker) await worker.terminate();
  }
}
