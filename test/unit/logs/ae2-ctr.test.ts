import { randomBytes } from 'node:crypto';
import t from 'tap';
import { ae2CtrUnavailable, ctrKernel, jsCtrKernel } from '../../../agent/logs/ae2-ctr.js';

t.equal(ae2CtrUnavailable(), null, 'native/ae2-ctr loads (build it with npm ci: it needs a C compiler and node-gyp)');

t.test('counter blocks: u64 little-endian from the first counter, 8 zero bytes after each, past 2^32 too', async (t) => {
  for (const first of [1, 255, 0xffff_ffff, 2 ** 40 + 7]) {
    const fast = Buffer.alloc(16 * 5, 0xaa);
    const slow = Buffer.alloc(16 * 5, 0xaa);
    ctrKernel.counterBlocks(fast, first);
    jsCtrKernel.counterBlocks(slow, first);
    t.same(fast, slow, `from ${first}`);
    for (let i = 0; i < 5; i++) {
      t.equal(fast.readBigUInt64LE(16 * i), BigInt(first + i));
      t.equal(fast.readBigUInt64LE(16 * i + 8), 0n);
    }
  }
  // A view that is not 4-byte aligned (a subarray of a pooled buffer).
  const odd = Buffer.alloc(33).subarray(1);
  const slow = Buffer.alloc(32);
  ctrKernel.counterBlocks(odd, 9);
  jsCtrKernel.counterBlocks(slow, 9);
  t.same(odd, slow, 'unaligned target');
  t.throws(() => ctrKernel.counterBlocks(Buffer.alloc(17), 1), /whole 16-byte blocks/);
  t.throws(() => ctrKernel.counterBlocks(Buffer.alloc(16), -1), /non-negative/);
});

t.test('XOR: both kernels agree at every offset and length, in place over the keystream too', async (t) => {
  const keystream = randomBytes(96);
  for (let offset = 0; offset < 17; offset++) {
    for (const length of [0, 1, 7, 8, 9, 31, 96 - offset]) {
      const data = randomBytes(length);
      const fast = Buffer.alloc(length);
      const slow = Buffer.alloc(length);
      ctrKernel.xorInto(fast, data, keystream, offset);
      jsCtrKernel.xorInto(slow, data, keystream, offset);
      const expected = Buffer.from(data.map((b, i) => b ^ (keystream[offset + i] as number)));
      if (!fast.equals(expected) || !slow.equals(expected)) t.fail(`offset ${offset}, length ${length}`);
      for (const kernel of [ctrKernel, jsCtrKernel]) {
        const own = Buffer.from(keystream);
        kernel.xorInto(own.subarray(offset, offset + length), data, own, offset);
        if (!own.subarray(offset, offset + length).equals(expected)) t.fail(`in place, offset ${offset}, length ${length}`);
      }
    }
  }
  t.throws(() => ctrKernel.xorInto(Buffer.alloc(8), Buffer.alloc(8), Buffer.alloc(10), 3), /at least as long/);
  t.throws(() => ctrKernel.xorInto(Buffer.alloc(8), 'text' as unknown as Buffer, Buffer.alloc(10), 0), /Uint8Array/);
  t.pass('checked');
});
