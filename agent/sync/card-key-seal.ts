// Per-card keys for a double station's slave, sealed to the slave's own X25519 key: the signed
// sync payload never carries a card key in clear, and only that slave can open it.
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { InvalidInputError } from '../common/errors.js';

const INFO = 'ccguard sync card key v1';
const RAW_KEY = 32;
const NONCE = 12;
const TAG = 16;

/** A slave's sealing key pair as the state keeps it (base64): raw public key, PKCS#8 private key. */
export interface SealingKeyPair {
  publicKey: string;
  privateKey: string;
}

export function newSealingKeyPair(): SealingKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return {
    publicKey: Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url').toString('base64'),
    privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
  };
}

function publicFromRaw(raw: Buffer): KeyObject {
  if (raw.length !== RAW_KEY) throw new InvalidInputError('a sealing public key is 32 bytes (X25519)');
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') }, format: 'jwk' });
}

function wrappingKey(shared: Buffer, ephemeral: Buffer, recipient: Buffer, label: string): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([ephemeral, recipient]), `${INFO} ${label}`, 32));
}

/** Seals `secret` to the slave's public key (base64 raw X25519); `label` (the card id) is bound to it. */
export function seal(secret: Buffer, recipientPublicKey: string, label: string): string {
  const recipient = Buffer.from(recipientPublicKey, 'base64');
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  const ephemeral = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
  const shared = diffieHellman({ privateKey, publicKey: publicFromRaw(recipient) });
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', wrappingKey(shared, ephemeral, recipient, label), nonce);
  cipher.setAAD(Buffer.from(label, 'utf8'));
  const sealed = Buffer.concat([cipher.update(secret), cipher.final()]);
  return Buffer.concat([ephemeral, nonce, sealed, cipher.getAuthTag()]).toString('base64');
}

/** Opens what `seal` made for this key pair and label; refuses anything altered or sealed to another key. */
export function open(sealed: string, keyPair: SealingKeyPair, label: string): Buffer {
  const data = Buffer.from(sealed, 'base64');
  if (data.length < RAW_KEY + NONCE + TAG + 1) throw new InvalidInputError('a sealed card key is too short');
  const ephemeral = data.subarray(0, RAW_KEY);
  const nonce = data.subarray(RAW_KEY, RAW_KEY + NONCE);
  const body = data.subarray(RAW_KEY + NONCE, data.length - TAG);
  const privateKey = createPrivateKey({ key: Buffer.from(keyPair.privateKey, 'base64'), format: 'der', type: 'pkcs8' });
  const shared = diffieHellman({ privateKey, publicKey: publicFromRaw(ephemeral) });
  const decipher = createDecipheriv('aes-256-gcm', wrappingKey(shared, ephemeral, Buffer.from(keyPair.publicKey, 'base64'), label), nonce);
  decipher.setAAD(Buffer.from(label, 'utf8'));
  decipher.setAuthTag(data.subarray(data.length - TAG));
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new InvalidInputError("a sealed card key does not open with this slave's key (sealed to another key, or altered)");
  }
}
