/**
 * Where a guess comes from. Failures are counted per source, so that one client's guesses throttle
 * that client and never lock out another (NIST SP 800-63B 5.2.2: rate limiting must not become a
 * lockout of the rightful user). A source is the kernel's word on the socket peer (its uid), not
 * anything the client claims; a front end that serves many people may add the client it names,
 * which then counts within that peer's share.
 */

/** Root on the controller itself: the technician's console, the trusted path. */
export const TRUSTED_SOURCE = 'uid:0';
/** Failures of sources past `MAX_SOURCES`, and of states written before sources were counted. */
export const OTHER_SOURCE = 'other';
/** Distinct sources a counter keeps: a flood of clients cannot grow the state. */
export const MAX_SOURCES = 32;

export type FailureCounts = Readonly<Record<string, number>>;

/** The source of a request from peer `uid` (null: the kernel's word was unavailable). */
export function sourceOf(uid: number | null, client?: string): string {
  const peer = uid === null ? OTHER_SOURCE : `uid:${uid}`;
  return client === undefined ? peer : `${peer}/${client}`;
}

export function isTrusted(source: string): boolean {
  return source === TRUSTED_SOURCE;
}

/** The peer a source belongs to: itself, or the front end that named the client. */
export function peerOf(source: string): string {
  const slash = source.indexOf('/');
  return slash === -1 ? source : source.slice(0, slash);
}

/** Failures of a peer and of every client it named: the peer's share, which its clients cannot multiply. */
export function peerFailures(counts: FailureCounts, peer: string): number {
  return Object.entries(counts).reduce((sum, [source, n]) => (peerOf(source) === peer ? sum + n : sum), 0);
}

/** The key a source is counted under in `counts`: its own while there is room, else the shared one. */
export function countedAs(counts: FailureCounts, source: string): string {
  return source in counts || Object.keys(counts).length < MAX_SOURCES - 1 ? source : OTHER_SOURCE;
}

export function failuresOf(counts: FailureCounts, source: string): number {
  return counts[countedAs(counts, source)] ?? 0;
}

/** `counts` with one more failure for `source`. */
export function withFailure(counts: FailureCounts, source: string): Record<string, number> {
  const key = countedAs(counts, source);
  return { ...counts, [key]: (counts[key] ?? 0) + 1 };
}

/** `counts` without `source`'s failures (its secret was found right). */
export function withoutSource(counts: FailureCounts, source: string): Record<string, number> {
  const key = countedAs(counts, source);
  const { [key]: _cleared, ...rest } = counts;
  return rest;
}

/** Failures of every source but the trusted one: what the role-wide ceiling counts. */
export function untrustedFailures(counts: FailureCounts): number {
  return Object.entries(counts).reduce((sum, [source, n]) => (isTrusted(source) ? sum : sum + n), 0);
}
