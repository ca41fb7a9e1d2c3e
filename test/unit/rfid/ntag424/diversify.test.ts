// AN10922 AES-128 key diversification: the application note's worked example byte for byte, the
// unpadded (K1) branch against a second computation written from the note, and input limits.
import { createCipheriv } from 'node:crypto';
import t from 'tap';
import { cmacSubkeys } from '../../../../rfid/ntag424/cmac.js';
import { diversifyAes128, diversifyCardKey, MAX_DIVERSIFICATION_INPUT } from '../../../../rfid/ntag424/diversify.js';
import { hex, toHex } from '../../../support/scripted-card.js';

// AN10922 "Symmetric key diversifications" Rev. 2.0, section 2.2.1 "AES-128 key diversification
// example": master key, UID, AID 3042F5 and system identifier "NXP Abu", with the note's
// intermediate values (K1, K2, the padded input D) and the diversified key. The same values are
// asserted by public implementations (johnnyb/ntag424-java KeyInfoTest, a CircuitPython DESFire
// library's tests), which agree with this one.
const MASTER = hex('00112233445566778899AABBCCDDEEFF');
const UID = hex('04782E21801D80');
const AID = hex('3042F5');
const SYSTEM_ID = hex('4E585020416275');

t.test('AN10922 2.2.1: the worked example, step by step', async (t) => {
  const { k1, k2 } = cmacSubkeys(MASTER);
  t.equal(toHex(k1), 'FBC9F75C9413C041DFEE452D3F0706D1', 'K1');
  t.equal(toHex(k2), 'F793EEB928278083BFDC8A5A7E0E0D25', 'K2');
  const m = Buffer.concat([UID, AID, SYSTEM_ID]);
  t.equal(toHex(m), '04782E21801D803042F54E585020416275', 'M = UID || AID || system identifier');
  t.equal(toHex(diversifyAes128(MASTER, m)), 'A8DD63A3B89D54B37CA802473FDA9175', 'diversified key');
  t.equal(toHex(diversifyCardKey(MASTER, UID, Buffer.concat([AID, SYSTEM_ID]))), 'A8DD63A3B89D54B37CA802473FDA9175', 'through diversifyCardKey');
});

t.test('a second published vector (7-byte UID only, padded branch)', async (t) => {
  // Quoted from AN10957 in the tests of a public CircuitPython DESFire library (Tim Hawes, 2021).
  t.equal(toHex(diversifyAes128(hex('F3F9377698707B688EAF84ABE39E3791'), hex('04DEADBEEFFEED'))), '0BB408BAFF98B6EE9F2E1585777F6A51');
});

/** AN10922 2.2 written out again with raw AES-CBC: D = 01 || M || pad to 32; last block XOR K1 or K2; CBC-MAC. */
function reference(master: Buffer, m: Buffer): Buffer {
  const d = Buffer.alloc(32);
  d[0] = 0x01;
  m.copy(d, 1);
  const padded = m.length < 31;
  if (padded) d[1 + m.length] = 0x80;
  const { k1, k2 } = cmacSubkeys(master);
  const sub = padded ? k2 : k1;
  for (let i = 0; i < 16; i++) d[16 + i] = (d[16 + i] as number) ^ (sub[i] as number);
  const c = createCipheriv('aes-128-cbc', master, Buffer.alloc(16));
  c.setAutoPadding(false);
  return Buffer.concat([c.update(d), c.final()]).subarray(16);
}

t.test('every input length 1-31 (31 = the unpadded K1 branch) against the note written out again', async (t) => {
  for (let length = 1; length <= MAX_DIVERSIFICATION_INPUT; length++) {
    const m = Buffer.from(Array.from({ length }, (_, i) => (i * 37 + 11) & 0xff));
    t.equal(toHex(diversifyAes128(MASTER, m)), toHex(reference(MASTER, m)), `length ${length}`);
  }
});

t.test('different cards and different identifiers give different keys', async (t) => {
  const a = diversifyCardKey(MASTER, UID, Buffer.from('ccguard/k0'));
  const b = diversifyCardKey(MASTER, hex('04782E21801D81'), Buffer.from('ccguard/k0'));
  const c = diversifyCardKey(MASTER, UID, Buffer.from('ccguard/k1'));
  t.not(toHex(a), toHex(b), 'one UID bit changes the key');
  t.not(toHex(a), toHex(c), 'the identifier changes the key');
});

t.test('refuses inputs outside the note: empty, over 31 bytes, odd UID lengths, short master keys', async (t) => {
  t.throws(() => diversifyAes128(MASTER, Buffer.alloc(0)), RangeError);
  t.throws(() => diversifyAes128(MASTER, Buffer.alloc(32)), RangeError);
  t.throws(() => diversifyCardKey(MASTER, Buffer.alloc(6), AID), RangeError);
  t.throws(() => diversifyCardKey(MASTER, UID, Buffer.alloc(0)), RangeError);
  t.throws(() => diversifyCardKey(MASTER, UID, Buffer.alloc(25)), RangeError, '7 + 25 bytes is over 31');
  t.throws(() => diversifyAes128(MASTER.subarray(0, 15), UID), { name: 'TypeError', message: /master key must be 16 bytes/ });
});
