import { readFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { writeFileAtomic, type Owner } from '../store/atomic-file.js';
import { InvalidInputError } from '../common/errors.js';

export interface SyncKey {
  privateKeyFile: string;
  created: boolean;
  publicKey: string;
  /** The slave's authorized_keys line: this key may only run the receive command. */
  authorizedKeysLine: string;
  /** What the slave's config needs: the key whose signatures it accepts. */
  slaveConfig: { sync: { masterKey: string } };
}

/**
 * The master's sync key (Ed25519, OpenSSH format): made once, then shown again on request.
 * Needs ssh2, so it runs in a node with its JIT.
 */
export async function syncKeygen(privateKeyFile: string, command: string, force: boolean): Promise<SyncKey> {
  const { utils } = (await import('ssh2')).default;
  let existing: Buffer | null = null;
  try {
    existing = await readFile(privateKeyFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new InvalidInputError(`cannot read ${privateKeyFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let publicKey: string;
  const created = existing === null || force;
  if (created) {
    const pair = utils.generateKeyPairSync('ed25519', { comment: `ccguard-sync@${hostname()}` });
    await writeFileAtomic(privateKeyFile, pair.private, 0o600, await serviceOwner(privateKeyFile));
    publicKey = pair.public.trim();
  } else {
    const parsed = utils.parseKey(existing as Buffer);
    if (parsed instanceof Error || Array.isArray(parsed))
      throw new InvalidInputError(`${privateKeyFile} is not an SSH private key; give --force to replace it`);
    if (parsed.type !== 'ssh-ed25519')
      throw new InvalidInputError(`${privateKeyFile} is a ${parsed.type} key; the sync key must be ssh-ed25519 (give --force to replace it)`);
    publicKey = `${parsed.type} ${parsed.getPublicSSH().toString('base64')} ${parsed.comment || `ccguard-sync@${hostname()}`}`.trim();
  }
  return {
    privateKeyFile,
    created,
    publicKey,
    authorizedKeysLine: `restrict,command="${command}" ${publicKey}`,
    slaveConfig: { sync: { masterKey: publicKey } },
  };
}

/**
 * Root making the key in a directory of the service user's (/var/lib/ccguard): the key must be the
 * service's, or the daemon (User=ccguard) cannot read it. Found by the system test (issue 25).
 */
async function serviceOwner(file: string): Promise<Owner | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const info = await stat(dirname(file));
  return info.uid !== 0 ? { uid: info.uid, gid: info.gid } : undefined;
}
