// Who asked for the work in progress: the socket server sets it for each request, and the security
// log adds it to every event recorded while the request runs, without threading it through services.
import { sourceOf, TRUSTED_SOURCE } from '../../policy/sources.js';
import { AsyncLocalStorage } from 'node:async_hooks';

/** The kernel's word on the client process (SO_PEERCRED), unlike the origin it claims. */
export interface Peer {
  uid: number;
  gid: number;
  pid: number;
}

export interface Caller {
  /** The client's claimed origin, a short token (`socket:cli`). */
  origin: string;
  peer: Peer | null;
  /** The client a front end says it acts for (the browser's address): claimed, counted within the peer's share. */
  client?: string;
}

const storage = new AsyncLocalStorage<Caller>();

export function runAsCaller<T>(caller: Caller, work: () => T): T {
  return storage.run(caller, work);
}

/** The caller of the request being handled, or undefined outside a request (a card tap, a timer). */
export function currentCaller(): Caller | undefined {
  return storage.getStore();
}

/**
 * Where the work in progress comes from, as failures are counted (policy/sources.ts): the
 * request's peer; work outside a request (a card tap, a timer) is the controller's own.
 */
export function currentSource(): string {
  const caller = storage.getStore();
  return caller ? sourceOf(caller.peer?.uid ?? null, caller.client) : TRUSTED_SOURCE;
}
