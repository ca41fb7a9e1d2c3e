import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** SHA-256 fingerprint, as `ccguard status` shows it (so the browser's warning can be checked against it). */
  sha256: string;
  /** Identifies this pair on disk (size and modification times): a new one after `https rotate`. */
  stamp: string;
}

/** The device certificate and its key, as the daemon keeps them; null while there is none or they do not match. */
export async function readTls(certFile: string, keyFile: string): Promise<TlsMaterial | null> {
  try {
    const [cert, key, certStat, keyStat] = await Promise.all([readFile(certFile), readFile(keyFile), stat(certFile), stat(keyFile)]);
    const x509 = new X509Certificate(cert);
    if (!x509.checkPrivateKey(createPrivateKey(key))) return null;
    return { cert, key, sha256: x509.fingerprint256, stamp: `${certStat.mtimeMs}:${certStat.size}:${keyStat.mtimeMs}:${keyStat.size}` };
  } catch {
    return null;
  }
}

/** The stamp of the pair on disk now, without reading it (cheap enough to ask every few seconds). */
export async function tlsStamp(certFile: string, keyFile: string): Promise<string | null> {
  try {
    const [c, k] = await Promise.all([stat(certFile), stat(keyFile)]);
    return `${c.mtimeMs}:${c.size}:${k.mtimeMs}:${k.size}`;
  } catch {
    return null;
  }
}
