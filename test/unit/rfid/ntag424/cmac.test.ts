// AES-CMAC (RFC 4493) on node:crypto: the RFC's own vectors, then openssl's CMAC as a second
// implementation over every message length around the block boundaries.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { aesCmac, cmacSubkeys } from '../../../../rfid/ntag424/cmac.js';
import { hex, toHex } from '../../../support/scripted-card.js';

// RFC 4493 section 4, "Test Vectors".
const K = hex('2b7e151628aed2a6abf7158809cf4f3c');
const M64 = hex('6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51 30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710');

t.test('RFC 4493 section 4: subkeys', async (t) => {
  const { k1, k2 } = cmacSubkeys(K);
  t.equal(toHex(k1), 'FBEED618357133667C85E08F7236A8DE', 'K1');
  t.equal(toHex(k2), 'F7DDAC306AE266CCF90BC11EE46D513B', 'K2');
});

t.test('RFC 4493 section 4: examples 1-4', async (t) => {
  const table: Array<[string, number, string]> = [
    ['Example 1: len = 0', 0, 'BB1D6929E95937287FA37D129B756746'],
    ['Example 2: len = 16', 16, '070A16B46B4D4144F79BDD9DD04A287C'],
    ['Example 3: len = 40', 40, 'DFA66747DE9AE63030CA32611497C827'],
    ['Example 4: len = 64', 64, '51F0BEBF7E3B9D92FC49741779363CFE'],
  ];
  for (const [name, length, mac] of table) t.equal(toHex(aesCmac(K, M64.subarray(0, length))), mac, name);
});

t.test('agrees with openssl CMAC on every length from 0 to 49 bytes, random keys', async (t) => {
  for (let length = 0; length <= 49; length++) {
    const key = randomBytes(16);
    const message = randomBytes(length);
    let theirs: string;
    try {
      theirs = execFileSync('openssl', ['mac', '-cipher', 'AES-128-CBC', '-macopt', `hexkey:${key.toString('hex')}`, 'CMAC'], { input: message })
        .toString()
        .trim();
    } catch (err) {
      throw new Error(`openssl is needed for this cross-check: apt-get install --no-install-recommends openssl (${String(err)})`, { cause: err });
    }
    t.equal(toHex(aesCmac(key, message)), theirs, `length ${length}`);
  }
});

t.test('refuses a key that is not 16 bytes, without showing it', async (t) => {
  const key = hex('00112233445566778899AABBCCDDEE');
  t.throws(() => aesCmac(key, Buffer.alloc(1)), { name: 'TypeError', message: /16 bytes/ });
  try {
    aesCmac(key, Buffer.alloc(1));
  } catch (err) {
    t.notMatch(String(err), /00112233/i, 'no key bytes in the message');
  }
});
