import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../../store/atomic-file.js';
import type { CertificateInfo } from '../../wire/status-report.js';

export interface CertificateSubject {
  hostName: string;
  ipAddresses: string[];
}

const VALIDITY_MS = 10 * 365.25 * 24 * 3600 * 1000;

/**
 * The key is readable by a group only where its directory was set up for that: setgid (new files
 * take its group) and owned by a group other than the daemon's own, whose members are every
 * socket client. The package's tmpfiles entry makes /persistency/https 2755 ccguard:ccguard-console,
 * so the console (and nothing else) reads the key; anywhere else it stays 0600.
 */
export async function keyMode(dir: string): Promise<0o640 | 0o600> {
  const s = await stat(dir);
  return (s.mode & 0o2000) !== 0 && s.gid !== process.getgid?.() ? 0o640 : 0o600;
}

/**
 * The device's HTTPS key pair and self-signed certificate (ECDSA P-256, 10 years, subject and
 * SANs from the config) in the files the web server reads. The X.509 library is loaded only
 * when a certificate is made.
 */
export class HttpsCertificate {
  constructor(
    private readonly certFile: string,
    private readonly keyFile: string,
    private readonly subject: CertificateSubject,
  ) {}

  /** The certificate on disk, or null when there is none or it does not match its key. */
  async info(): Promise<CertificateInfo | null> {
    try {
      const cert = new X509Certificate(await readFile(this.certFile));
      if (!cert.checkPrivateKey(createPrivateKey(await readFile(this.keyFile)))) return null;
      return { sha256: cert.fingerprint256, notAfter: new Date(cert.validTo).toISOString() };
    } catch {
      return null;
    }
  }

  /** Makes the key pair and certificate unless a matching pair is already there. */
  async ensure(): Promise<{ info: CertificateInfo; created: boolean }> {
    const existing = await this.info();
    if (existing) return { info: existing, created: false };
    return { info: await this.create(), created: true };
  }

  async create(): Promise<CertificateInfo> {
    await import('reflect-metadata'); // the X.509 library's dependency injection needs it
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto);
    const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    const serial = randomBytes(16);
    serial[0] = (serial[0] as number) & 0x7f; // a positive serial number
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial.toString('hex'),
      name: `CN=${this.subject.hostName}`,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + VALIDITY_MS),
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([
          { type: 'dns', value: this.subject.hostName },
          ...this.subject.ipAddresses.map((ip) => ({ type: 'ip' as const, value: ip })),
        ]),
      ],
    });
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
    const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END PRIVATE KEY-----\n`.replace('\n\n', '\n');
    await mkdir(dirname(this.keyFile), { recursive: true, mode: 0o755 });
    await mkdir(dirname(this.certFile), { recursive: true, mode: 0o755 });
    // Key first: a crash between the two writes leaves a pair that info() sees as mismatched and remakes.
    await writeFileAtomic(this.keyFile, keyPem, await keyMode(dirname(this.keyFile)));
    await writeFileAtomic(this.certFile, cert.toString('pem'), 0o644);
    const info = await this.info();
    if (!info) throw new Error('the certificate just written does not match its key');
    return info;
  }
}
