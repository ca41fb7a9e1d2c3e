// A simulated NTAG 424 DNA, written from the datasheet (NT4H2421Gx) with node:crypto directly and
// no code from rfid/ntag424 except AES-CMAC (checked against RFC 4493 and openssl in
// test/unit/rfid/ntag424/cmac.test.ts). It is the second, independent computation for what the application notes
// have no example of: ChangeKey with a non-zero old key, fresh randoms, whole sessions. The python
// virtual card (vpcd) is the real-part fixture; this one runs in-process for the pure library.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { aesCmac } from '../../rfid/ntag424/cmac.js';
import type { Transport } from '../../rfid/ntag424/transport.js';

const OK = Buffer.from([0x91, 0x00]);
const MORE = Buffer.from([0x91, 0xaf]);
const AUTH_ERROR = Buffer.from([0x91, 0xae]);
const LENGTH_ERROR = Buffer.from([0x91, 0x7e]);
const INTEGRITY_ERROR = Buffer.from([0x91, 0x1e]);
const NO_SUCH_KEY = Buffer.from([0x91, 0x40]);
const ILLEGAL = Buffer.from([0x91, 0x1c]);

function cbc(encrypt: boolean, key: Buffer, iv: Buffer, data: Buffer): Buffer {
  const c = encrypt ? createCipheriv('aes-128-cbc', key, iv) : createDecipheriv('aes-128-cbc', key, iv);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}
const ecb = (key: Buffer, block: Buffer): Buffer => cbc(true, key, Buffer.alloc(16), block);
const rotl = (b: Buffer): Buffer => Buffer.concat([b.subarray(1), b.subarray(0, 1)]);
const ctrLe = (n: number): Buffer => Buffer.from([n & 0xff, n >> 8]);
const macT = (key: Buffer, msg: Buffer): Buffer => {
  const full = aesCmac(key, msg);
  return Buffer.from([1, 3, 5, 7, 9, 11, 13, 15].map((i) => full[i] as number));
};

interface CardSession {
  keyNo: number;
  ti: Buffer;
  enc: Buffer;
  mac: Buffer;
  ctr: number;
}

export class SimulatedNtag424 {
  readonly keys: Buffer[] = Array.from({ length: 5 }, () => Buffer.alloc(16));
  readonly versions: number[] = [0, 0, 0, 0, 0];
  session: CardSession | null = null;
  #pending: { keyNo: number; rndB: Buffer } | null = null;
  /** Every command the card received, for assertions on freshness. */
  readonly received: Buffer[] = [];

  constructor(readonly uid: Buffer = Buffer.from('04DEADBEEF0180', 'hex')) {}

  readonly transport: Transport = async (apdu) => {
    this.received.push(Buffer.from(apdu));
    return this.execute(apdu);
  };

  execute(apdu: Buffer): Buffer {
    if (apdu[0] === 0x00 && apdu[1] === 0xa4) return Buffer.from([0x90, 0x00]);
    if (apdu[0] !== 0x90 || apdu.length < 5) return ILLEGAL;
    const lc = apdu[4] as number;
    if (apdu.length !== 5 + lc + 1) return LENGTH_ERROR;
    const data = apdu.subarray(5, 5 + lc);
    const ins = apdu[1] as number;
    if (ins !== 0xaf) this.#pending = null;
    switch (ins) {
      case 0x71:
        return this.#authPart1(data);
      case 0xaf:
        return this.#authPart2(data);
      case 0x51:
        return this.#secure(ins, Buffer.alloc(0), data, () => Buffer.from(this.uid));
      case 0xc4:
        return this.#secure(ins, data.subarray(0, 1), data.subarray(1), (plain) => this.#changeKey(data[0] as number, plain));
      default:
        this.session = null;
        return ILLEGAL;
    }
  }

  #authPart1(data: Buffer): Buffer {
    this.session = null;
    if (data.length !== 2) return LENGTH_ERROR;
    const keyNo = data[0] as number;
    const key = this.keys[keyNo];
    if (key === undefined) return NO_SUCH_KEY;
    const rndB = randomBytes(16);
    this.#pending = { keyNo, rndB };
    return Buffer.concat([cbc(true, key, Buffer.alloc(16), rndB), MORE]);
  }

  #authPart2(data: Buffer): Buffer {
    const pending = this.#pending;
    this.#pending = null;
    if (pending === null) return ILLEGAL;
    if (data.length !== 32) return LENGTH_ERROR;
    const key = this.keys[pending.keyNo] as Buffer;
    const plain = cbc(false, key, Buffer.alloc(16), data);
    const rndA = plain.subarray(0, 16);
    if (!plain.subarray(16).equals(rotl(pending.rndB))) return AUTH_ERROR;
    const ti = randomBytes(4);
    const b = pending.rndB;
    const ctx = Buffer.concat([rndA.subarray(0, 2), Buffer.from(rndA.subarray(2, 8).map((x, i) => x ^ (b[i] as number))), b.subarray(6), rndA.subarray(8)]);
    const sv = (label: number[]): Buffer => Buffer.concat([Buffer.from([...label, 0x00, 0x01, 0x00, 0x80]), ctx]);
    this.session = { keyNo: pending.keyNo, ti, enc: aesCmac(key, sv([0xa5, 0x5a])), mac: aesCmac(key, sv([0x5a, 0xa5])), ctr: 0 };
    return Buffer.concat([cbc(true, key, Buffer.alloc(16), Buffer.concat([ti, rotl(rndA), Buffer.alloc(12)])), OK]);
  }

  /** CommMode.Full command in, CommMode.Full answer out; `run` gets the unpadded plain data. */
  #secure(ins: number, header: Buffer, rest: Buffer, run: (plain: Buffer) => Buffer | 'bare' | 'mac' | Buffer[]): Buffer {
    const s = this.session;
    if (s === null) return AUTH_ERROR;
    if (rest.length < 8) {
      this.session = null;
      return LENGTH_ERROR;
    }
    const enc = rest.subarray(0, rest.length - 8);
    const mac = macT(s.mac, Buffer.concat([Buffer.from([ins]), ctrLe(s.ctr), s.ti, header, enc]));
    if (!mac.equals(rest.subarray(rest.length - 8))) {
      this.session = null;
      return INTEGRITY_ERROR;
    }
    let plain: Buffer = Buffer.alloc(0);
    if (enc.length > 0) {
      const iv = ecb(s.enc, Buffer.concat([Buffer.from([0xa5, 0x5a]), s.ti, ctrLe(s.ctr), Buffer.alloc(8)]));
      const padded = cbc(false, s.enc, iv, enc);
      const end = padded.lastIndexOf(0x80);
      plain = padded.subarray(0, end);
    }
    const out = run(plain);
    if (Array.isArray(out)) return out[0] as Buffer; // an error status; the session is gone
    s.ctr += 1;
    if (out === 'bare') {
      this.session = null;
      return OK;
    }
    let body: Buffer = Buffer.alloc(0);
    if (out !== 'mac') {
      const iv = ecb(s.enc, Buffer.concat([Buffer.from([0x5a, 0xa5]), s.ti, ctrLe(s.ctr), Buffer.alloc(8)]));
      const padded = Buffer.alloc((Math.floor(out.length / 16) + 1) * 16);
      out.copy(padded);
      padded[out.length] = 0x80;
      body = cbc(true, s.enc, iv, padded);
    }
    return Buffer.concat([body, macT(s.mac, Buffer.concat([Buffer.from([0x00]), ctrLe(s.ctr), s.ti, body])), OK]);
  }

  #changeKey(keyNo: number, plain: Buffer): 'bare' | 'mac' | Buffer[] {
    const s = this.session as CardSession;
    const fail = (): Buffer[] => {
      this.session = null;
      return [INTEGRITY_ERROR];
    };
    if (keyNo >= this.keys.length || s.keyNo !== 0) return fail();
    if (keyNo === s.keyNo) {
      if (plain.length !== 17) return fail();
      this.keys[keyNo] = Buffer.from(plain.subarray(0, 16));
      this.versions[keyNo] = plain[16] as number;
      return 'bare';
    }
    if (plain.length !== 21) return fail();
    const old = this.keys[keyNo] as Buffer;
    const newKey = Buffer.from(plain.subarray(0, 16).map((x, i) => x ^ (old[i] as number)));
    const crc = Buffer.alloc(4);
    crc.writeUInt32LE(~crc32(newKey) >>> 0);
    if (!crc.equals(plain.subarray(17, 21))) return fail();
    this.keys[keyNo] = newKey;
    this.versions[keyNo] = plain[16] as number;
    return 'mac';
  }
}
