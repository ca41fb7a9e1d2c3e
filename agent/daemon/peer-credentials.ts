// The kernel's word on who is at the other end of a control socket connection (SO_PEERCRED),
// read through the small N-API binding in native/peercred (Node has no API for it).
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { Peer } from '../common/request-context.js';

type Binding = { peerCredentials(fd: number): unknown };

function loadBinding(): Binding | Error {
  try {
    return createRequire(import.meta.url)('ccguard-peercred') as Binding;
  } catch (err) {
    return err as Error;
  }
}

const binding = loadBinding();

/** Why peers cannot be read (the binding did not load), or null when they can. */
export function peerCredentialsUnavailable(): string | null {
  return binding instanceof Error ? `the SO_PEERCRED binding (native/peercred) did not load: ${binding.message}; reinstall with npm ci` : null;
}

/** The uid, gid and pid of the process that connected `socket`, or null when they cannot be read. */
export function peerOf(socket: Socket): Peer | null {
  if (binding instanceof Error) return null;
  // A Unix socket's libuv handle knows its file descriptor; net.Socket does not expose it otherwise.
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return null;
  try {
    const cred = binding.peerCredentials(fd) as Partial<Record<keyof Peer, unknown>>;
    const { uid, gid, pid } = cred;
    if (typeof uid !== 'number' || typeof gid !== 'number' || typeof pid !== 'number') return null;
    return { uid, gid, pid };
  } catch {
    return null; // the client already went away
  }
}
