// Card keys sealed to a slave's X25519 key: only that key opens them, for that card, unaltered.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { newSealingKeyPair, open, seal } from '../../../agent/sync/card-key-seal.js';

t.test('seal and open', async (t) => {
  const slave = newSealingKeyPair();
  const key = randomBytes(16);
  const sealed = seal(key, slave.publicKey, 'a1b2c3d4');
  t.same(open(sealed, slave, 'a1b2c3d4'), key, 'the slave opens it');
  t.not(sealed, seal(key, slave.publicKey, 'a1b2c3d4'), 'a fresh ephemeral key each time');
  t.notMatch(Buffer.from(sealed, 'base64').toString('hex'), key.toString('hex'), 'the key is not in clear');
});

t.test('refusals', async (t) => {
  const slave = newSealingKeyPair();
  const other = newSealingKeyPair();
  const sealed = seal(randomBytes(16), slave.publicKey, 'a1b2c3d4');
  t.throws(() => open(sealed, other, 'a1b2c3d4'), /does not open/, 'another slave cannot open it');
  t.throws(() => open(sealed, slave, 'ffffffff'), /does not open/, 'bound to its card id');
  const bytes = Buffer.from(sealed, 'base64');
  for (const at of [0, 40, bytes.length - 20, bytes.length - 1]) {
    const altered = Buffer.from(bytes);
    altered[at] = (altered[at] as number) ^ 1;
    t.throws(() => open(altered.toString('base64'), slave, 'a1b2c3d4'), `a flipped bit at ${at} is refused`);
  }
  t.throws(() => open('AAAA', slave, 'a1b2c3d4'), /too short/);
  t.throws(() => seal(randomBytes(16), Buffer.alloc(31).toString('base64'), 'x'), /32 bytes/);
});
