import { createHash } from 'node:crypto';
import type { ResultOf } from '../agent/wire/protocol.js';

/** How long a finished enrolment's outcome stays to be shown. */
const KEEP_MS = 5 * 60_000;

export interface Enrolment {
  reader: string | null;
  startedAt: number;
  timeoutSeconds: number;
  state: 'running' | 'done' | 'failed';
  card: ResultOf<'session.masterCard.enroll'> | null;
  error: string | null;
  /** Called when the state changes (the live page's stream). */
  listeners: Set<() => void>;
}

/**
 * Master card enrolments the console started, one per session: the daemon's call waits for the
 * card (up to the timeout) while the pages show its steps. The password was given to that call
 * when it started; nothing here holds it.
 */
export class Enrolments {
  readonly #jobs = new Map<string, Enrolment>();

  get(token: string): Enrolment | null {
    return this.#jobs.get(key(token)) ?? null;
  }

  start(token: string, reader: string | null, timeoutSeconds: number, run: () => Promise<ResultOf<'session.masterCard.enroll'>>): Enrolment {
    const job: Enrolment = { reader, startedAt: Date.now(), timeoutSeconds, state: 'running', card: null, error: null, listeners: new Set() };
    const k = key(token);
    this.#jobs.set(k, job);
    const settle = (): void => {
      for (const listener of job.listeners) listener();
      setTimeout(() => {
        if (this.#jobs.get(k) === job) this.#jobs.delete(k);
      }, KEEP_MS).unref();
    };
    run().then(
      (card) => {
        job.state = 'done';
        job.card = card;
        settle();
      },
      (err: Error) => {
        job.state = 'failed';
        job.error = err.message;
        settle();
      },
    );
    return job;
  }
}

function key(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
