import { createHmac } from 'node:crypto';

/** OpenSSH's name for a host in known_hosts: bare for port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export type HostKeyVerdict = 'trusted' | 'unknown' | 'changed' | 'revoked';

function matchesPattern(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  return pattern === name;
}

/**
 * What known_hosts says of the key a host presented, as OpenSSH decides it: a revoked key is
 * refused, a listed key is trusted, another key of a listed host is a change, else unknown.
 */
export function judgeHostKey(knownHosts: string, host: string, port: number, keyType: string, keyBase64: string): HostKeyVerdict {
  const name = knownHostsName(host, port);
  let hostListed = false;
  for (const raw of knownHosts.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    const marker = fields[0]?.startsWith('@') ? fields.shift() : undefined;
    const [patterns, type, key] = fields;
    if (!patterns || !type || !key) continue;
    if (marker === '@revoked') {
      if (type === keyType && key === keyBase64) return 'revoked';
      continue;
    }
    if (marker !== undefined) continue; // @cert-authority: host certificates are not used here
    if (!patterns.split(',').some((p) => matchesPattern(p, name))) continue;
    if (type === keyType && key === keyBase64) return 'trusted';
    hostListed = true;
  }
  return hostListed ? 'changed' : 'unknown';
}
