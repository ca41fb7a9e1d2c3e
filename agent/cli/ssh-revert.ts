import { appendFile, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { judgeHostKey, knownHostsName, type HostKeyVerdict } from '../../policy/host-key-trust.js';
import { InvalidInputError, RefusedError } from '../common/errors.js';

export interface RevertOptions {
  host: string;
  port: number;
  user: string;
  identity: string | null;
  knownHosts: string;
  acceptNewHostKey: boolean;
  styleFile: string;
  timeoutMs: number;
}

export const DEFAULT_KNOWN_HOSTS = join(homedir(), '.ssh', 'known_hosts');
const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(homedir(), '.ssh', f));

/** The key type named at the start of an SSH public key blob. */
function keyTypeOf(blob: Buffer): string {
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString('ascii');
}

async function readIdentity(path: string | null): Promise<Buffer> {
  for (const candidate of path ? [path] : DEFAULT_IDENTITIES) {
    try {
      return await readFile(candidate);
    } catch (err) {
      if (path) throw new InvalidInputError(`cannot read the identity ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  throw new InvalidInputError(`no identity given and none of ${DEFAULT_IDENTITIES.join(', ')} exists; give --identity KEY`);
}

/**
 * The manufacturer's documented way out of 2.0-only: delete the web interface style file on the
 * controller over SSH. The host key is checked against known_hosts as OpenSSH does: an unknown
 * key only with acceptNewHostKey (then recorded), a changed or revoked key never.
 */
export async function revertWebUi(options: RevertOptions): Promise<{ deleted: boolean; hostKey: 'known' | 'recorded' }> {
  const { Client } = await import('ssh2');
  const privateKey = await readIdentity(options.identity);
  let knownHosts = '';
  try {
    knownHosts = await readFile(options.knownHosts, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const name = knownHostsName(options.host, options.port);
  let verdict: HostKeyVerdict = 'unknown';
  let presented = { type: '', base64: '' };
  const client = new Client();
  const sftp = await new Promise<import('ssh2').SFTPWrapper>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.end();
      reject(new RefusedError(`no SSH connection to ${name} within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    client.on('error', (err) => {
      clearTimeout(timer);
      if (verdict === 'changed' || verdict === 'revoked') {
        reject(
          new RefusedError(
            `the host key of ${name} (${presented.type}) does not match ${options.knownHosts}${verdict === 'revoked' ? ' (it is revoked)' : ''}: ` +
              'refusing to connect; if the controller was really re-keyed, remove its old line from known_hosts',
          ),
        );
      } else if (verdict === 'unknown' && !options.acceptNewHostKey) {
        reject(
          new RefusedError(
            `${name} is not in ${options.knownHosts} (its ${presented.type} key is unknown); check it and give --accept-new-host-key to record it`,
          ),
        );
      } else {
        reject(new RefusedError(`SSH to ${name} failed: ${err.message}`));
      }
    });
    client.on('ready', () => {
      client.sftp((err, channel) => {
        clearTimeout(timer);
        if (err) reject(new RefusedError(`SFTP on ${name} failed: ${err.message}`));
        else resolve(channel);
      });
    });
    client.connect({
      host: options.host,
      port: options.port,
      username: options.user,
      privateKey,
      readyTimeout: options.timeoutMs,
      hostVerifier: (key: Buffer) => {
        presented = { type: keyTypeOf(key), base64: key.toString('base64') };
        verdict = judgeHostKey(knownHosts, options.host, options.port, presented.type, presented.base64);
        return verdict === 'trusted' || (verdict === 'unknown' && options.acceptNewHostKey);
      },
    });
  });
  try {
    let hostKey: 'known' | 'recorded' = 'known';
    if (verdict === 'unknown') {
      await appendFile(options.knownHosts, `${knownHosts === '' || knownHosts.endsWith('\n') ? '' : '\n'}${name} ${presented.type} ${presented.base64}\n`, {
        mode: 0o600,
      });
      hostKey = 'recorded';
    }
    const deleted = await new Promise<boolean>((resolve, reject) =>
      sftp.unlink(options.styleFile, (err) => {
        if (!err) resolve(true);
        else if ((err as { code?: number }).code === 2)
          resolve(false); // SSH_FX_NO_SUCH_FILE: already the default
        else reject(new RefusedError(`cannot delete ${options.styleFile} on ${name}: ${err.message}`));
      }),
    );
    return { deleted, hostKey };
  } finally {
    client.end();
  }
}
