// The master's sync key pair: ssh2 1.17 makes about one Ed25519 pair in 256 with a 31-byte public key
// (mscdex/ssh2#1390), which the slave's daemon refuses. Every pair ed25519Pair hands out is one a slave takes.
import ssh2 from 'ssh2';
import t from 'tap';
import { ed25519PublicKey } from '../../../agent/sync/envelope.js';
import { ed25519Pair } from '../../../agent/sync/keygen.js';

t.test('2,000 sync key pairs: every public key is one a slave accepts, every private key parses', async (t) => {
  let refused = 0;
  for (let i = 0; i < 2000; i++) {
    const pair = ed25519Pair(ssh2.utils, 'ccguard-sync@test');
    try {
      ed25519PublicKey(pair.public);
    } catch {
      refused++;
    }
    const priv = ssh2.utils.parseKey(pair.private);
    if (priv instanceof Error || Array.isArray(priv)) refused++;
  }
  t.equal(refused, 0, 'pairs a slave or ssh2 refuses (about 8 in 2,000 straight from ssh2)');
});
