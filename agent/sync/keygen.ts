import { readFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { writeFileAtomic, type Owner } from '../store/atomic-file.js';
import { InvalidInputError } from '../common/errors.js';
import { ed25519PublicKey } from './envelope.js';

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
    const pair = ed25519Pair(utils, `ccguard-sync@${hostname()}`);
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

/** A pair ssh2 would write. */
type Ssh2Utils = (typeof import('ssh2'))['utils'];
type KeyPair = ReturnType<Ssh2Utils['generateKeyPairSync']>;

/** Enough tries that a bad pair every time is out of reach (each fails with p = 1/256). */
const KEYGEN_TRIES = 16;

/**
 * An Ed25519 pair whose halves both parse. ssh2 (1.17) strips every leading zero byte of the public
 * key, so about one pair in 256 has a 31-byte key that neither ssh2 nor a slave accepts
 * (mscdex/ssh2#1390, #1513); such a pair is made again. Found by a full test run.
 */
export function ed25519Pair(utils: Ssh2Utils, comment: string): KeyPair {
  for (let i = 0; i < KEYGEN_TRIES; i++) {
    const pair = utils.generateKeyPairSync('ed25519', { comment });
    const priv = utils.parseKey(pair.private);
    if (priv instanceof Error || Array.isArray(priv) || priv.type !== 'ssh-ed25519') continue;
    try {
      ed25519PublicKey(pair.public); // what a slave's daemon makes of sync.masterKey
      return pair;
    } catch {
      // a 31-byte key: made again
    }
  }
  throw new Error(`ssh2 made ${KEYGEN_TRIES} Ed25519 key pairs in a row that do not parse`);
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
