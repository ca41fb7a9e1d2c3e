// The per-block work of AE-2's counter mode: writing little-endian counter blocks and XORing the
// keystream into the data. The daemon runs --jitless, where that loop would run in V8's
// interpreter; the project's N-API module (native/ae2-ctr, built by npm ci) does it in C. When the
// module is missing, the same bytes come from JavaScript, more slowly (ae2CtrUnavailable says so).
import { createRequire } from 'node:module';

export interface CtrKernel {
  /** Fills `target` (whole 16-byte blocks) with the counters first, first + 1, … as u64 little-endian, 8 zero bytes after each. */
  counterBlocks(target: Uint8Array, first: number): void;
  /** out[i] = data[i] ^ keystream[offset + i] for every byte of data; `out` may be the keystream's own bytes at `offset`. */
  xorInto(out: Uint8Array, data: Uint8Array, keystream: Uint8Array, offset: number): void;
}

function loadNative(): CtrKernel | Error {
  try {
    return createRequire(import.meta.url)('ccguard-ae2-ctr') as CtrKernel;
  } catch (err) {
    return err as Error;
  }
}

/** JavaScript with the same results: counters as 32-bit words, the XOR in 64-bit words. */
export const jsCtrKernel: CtrKernel = {
  counterBlocks(target, first) {
    if (target.length % 16 !== 0) throw new Error('counterBlocks: target must hold whole 16-byte blocks');
    const count = target.length / 16;
    target.fill(0);
    // Uint32Array is host-endian: little-endian on every target (x86-64, arm64, armhf).
    const words = target.byteOffset % 4 === 0 ? new Uint32Array(target.buffer, target.byteOffset, count * 4) : null;
    const view = new DataView(target.buffer, target.byteOffset, target.length);
    for (let i = 0, c = first; i < count; i++, c++) {
      const low = c >>> 0;
      const high = Math.floor(c / 0x1_0000_0000);
      if (words) {
        words[i * 4] = low;
        words[i * 4 + 1] = high;
      } else {
        view.setUint32(i * 16, low, true);
        view.setUint32(i * 16 + 4, high, true);
      }
    }
  },
  xorInto(out, data, keystream, offset) {
    const end = offset + data.length;
    if (out.length < data.length || keystream.length < end) throw new Error('xorInto: out and the keystream from offset must be at least as long as data');
    // Copy the data at the keystream's offset into aligned scratch so whole 8-byte words line up.
    const words = Math.ceil(end / 8);
    const scratch = Buffer.allocUnsafeSlow(words * 8);
    const key = Buffer.allocUnsafeSlow(words * 8).fill(0);
    key.set(keystream.subarray(0, Math.min(keystream.length, words * 8)));
    scratch.set(data, offset);
    const s = new BigUint64Array(scratch.buffer, 0, words);
    const k = new BigUint64Array(key.buffer, 0, words);
    for (let i = Math.floor(offset / 8); i < words; i++) s[i]! ^= k[i]!;
    out.set(scratch.subarray(offset, end));
  },
};

const native = loadNative();

/** The kernel exports use: the native module, or JavaScript when it did not load. */
export const ctrKernel: CtrKernel = native instanceof Error ? jsCtrKernel : native;

/** Why encrypted exports run the slow path (the native module did not load), or null when they do not. */
export function ae2CtrUnavailable(): string | null {
  return native instanceof Error
    ? `the AE-2 counter-mode module (native/ae2-ctr) did not load (${native.message}): encrypted log exports use the slower JavaScript path; reinstall with npm ci (needs a C compiler and node-gyp)`
    : null;
}
