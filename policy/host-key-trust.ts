import { createHmac, timingSafeEqual } from 'node:crypto';

/** OpenSSH's name for a host in known_hosts: bare for port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export type HostKeyVerdict = 'trusted' | 'unknown' | 'changed' | 'revoked';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** OpenSSH's wildcards: `*` any run of characters, `?` exactly one; host names compare case-insensitively. */
function wildcardMatch(pattern: string, name: string): boolean {
  const source = pattern
    .toLowerCase()
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 's').test(name.toLowerCase());
}

function hashedMatch(pattern: string, name: string): boolean | null {
  const [, magic, salt, hash, ...rest] = pattern.split('|');
  if (magic !== '1' || !salt || !hash || rest.length > 0 || !BASE64.test(salt) || !BASE64.test(hash)) return null;
  const expected = Buffer.from(hash, 'base64');
  const actual = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/**
 * Whether a line's host patterns name `name`, as OpenSSH's match_hostname decides: a negated
 * pattern (`!pat`) that matches excludes the line whatever else matches; otherwise one positive
 * match is needed. Null when the field cannot be parsed.
 */
function patternsMatch(field: string, name: string): boolean | null {
  if (field.startsWith('|')) return hashedMatch(field, name);
  let positive = false;
  for (const raw of field.split(',')) {
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    if (pattern === '' || /\s/.test(pattern)) return null;
    if (pattern.startsWith('[') && !/^\[[^\]]+\]:\d{1,5}$/.test(pattern)) return null;
    if (!wildcardMatch(pattern, name)) continue;
    if (negated) return false;
    positive = true;
  }
  return positive;
}

/**
 * What known_hosts says of the key a host presented, as OpenSSH reads the file: wildcard and
 * negated patterns, hashed names, `[host]:port`, `@revoked` and `@cert-authority` markers. A
 * revoked key is refused wherever it is listed; a listed key is trusted; another key of a listed
 * host is a change. A line that cannot be parsed counts as listing the host, so that a file we
 * misread never turns a changed key into an "unknown" one that could be accepted as new.
 */
export function judgeHostKey(knownHosts: string, host: string, port: number, keyType: string, keyBase64: string): HostKeyVerdict {
  const name = knownHostsName(host, port);
  let hostListed = false;
  let trusted = false;
  for (const raw of knownHosts.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    const marker = fields[0]?.startsWith('@') ? fields.shift() : undefined;
    const [patterns, type, key] = fields;
    if (!patterns || !type || !key || !BASE64.test(key) || (marker !== undefined && marker !== '@revoked' && marker !== '@cert-authority')) {
      hostListed = true;
      continue;
    }
    const sameKey = type === keyType && key === keyBase64;
    if (marker === '@revoked') {
      if (sameKey) return 'revoked';
      continue;
    }
    const matches = patternsMatch(patterns, name);
    if (matches === null) {
      hostListed = true;
      continue;
    }
    if (!matches) continue;
    // A host vouched for by a certificate authority presents certificates, not a plain key.
    if (marker === '@cert-authority') hostListed = true;
    else if (sameKey) trusted = true;
    else hostListed = true;
  }
  if (trusted) return 'trusted';
  return hostListed ? 'changed' : 'unknown';
}
