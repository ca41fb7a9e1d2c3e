// Secure messaging, GetCardUID and ChangeKey: AN12196's worked examples byte for byte (IVs, MAC
// truncation, CommMode.MAC and CommMode.Full commands and answers, GetCardUID, ChangeKey of key 0
// and of another key with its CRC32), ChangeKey with a non-zero old key against an independent
// card implementation (AN12196 has no example of it), and hostile answers inside a session.
//
// Table numbers follow AN12196 Rev. 2.0; the values were cross-checked against public
// implementations asserting the same bytes (nfc-developer/sdm-backend's ev2.py self-test, a Rust
// ntag424 crate's ChangeKey vector tests, several Kotlin/Python transcriptions of the tables).
import { createCipheriv, randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { authenticateEV2First } from '../../../../rfid/ntag424/authenticate.js';
import { changeKeyData, jamCrc32 } from '../../../../rfid/ntag424/change-key.js';
import {
  CardAuthenticationError,
  type CardError,
  CardLengthError,
  CardTimeoutError,
  MalformedAnswerError,
  OverlongAnswerError,
  ResponseMacError,
  SessionClosedError,
  TruncatedAnswerError,
  UnexpectedStatusError,
} from '../../../../rfid/ntag424/errors.js';
import { commandIv, commandMac, responseIv, responseMac, truncateMac } from '../../../../rfid/ntag424/secure-messaging.js';
import { Session, type SessionParams } from '../../../../rfid/ntag424/session.js';
import { withTimeout, type Transport } from '../../../../rfid/ntag424/transport.js';
import { SimulatedNtag424 } from '../../../support/ntag424-sim.js';
import { hex, scripted, toHex } from '../../../support/scripted-card.js';

// Session A: Table 14's session keys. Session B: TI of Table 19 with the keys of Table 23
// (AuthenticateEV2NonFirst, which keeps TI and counter), used by Tables 24-26.
const A = { ti: hex('9D00C4DF'), encKey: hex('1309C877509E5A215007FF0ED19CA564'), macKey: hex('4C6626F5E72EA694202139295C7A7FC7') };
const B = { ti: hex('7614281A'), encKey: hex('4CF3CB41A22583A61E89B158D252FC53'), macKey: hex('5529860B2FC5FB6154B7F28361D30BF9') };

function session(transport: Transport, keys: Omit<SessionParams, 'keyNo'>, keyNo = 0): Session {
  return new Session(transport, { keyNo, ...keys });
}

t.test('IV for encrypted data: A5 5A || TI || CmdCtr || 0..., encrypted with SesAuthENCKey', async (t) => {
  t.equal(toHex(commandIv(A.encKey, A.ti, 0)), 'D2CB7277A17841A06654A48188C1F8F5', 'Table 17 IVc (CmdCtr 0)');
  t.equal(toHex(commandIv(B.encKey, B.ti, 2)), '307EDE1814707F30CFE603DD6CA62353', 'Table 25 IVc (CmdCtr 2)');
  t.equal(toHex(commandIv(B.encKey, B.ti, 3)), '01602D579423B2797BE8B478B0B4D27B', 'Table 26 IVc (CmdCtr 3)');
  t.not(toHex(responseIv(B.encKey, B.ti, 3)), toHex(commandIv(B.encKey, B.ti, 3)), 'the response IV has its own label (5A A5)');
});

t.test('MAC truncation: the odd bytes of the CMAC', async (t) => {
  t.equal(toHex(truncateMac(hex('A8D185D964A8E04998965461E7EB3EF3'))), 'D1D9A8499661EBF3', 'Table 17');
  t.equal(toHex(truncateMac(hex('EA5D2E0CBFE24C0BCBCD501D21060EE6'))), '5D0CE20BCD1D06E6', 'Table 25');
  t.equal(toHex(truncateMac(hex('B7A60161F202EC3489BD4BEDEF64BB32'))), 'A6610234BDED6432', 'Table 26');
  // Table 7: MAC input Cmd || CmdCtr || TI || CmdHeader = F5 0000 7A21085E 02.
  t.equal(toHex(commandMac(hex('8248134A386E86EB7FAF54A52E536CB6'), 0xf5, 0, hex('7A21085E'), hex('02'), Buffer.alloc(0))), '6597A457C8CD442C', 'Table 7');
});

t.test('AN12196 Table 7: GetFileSettings in CommMode.MAC, answer MAC checked', async (t) => {
  const data = '0040EEEE000100D1FE001F00004400004400002000006A0000';
  const card = scripted([['90F5000009 02 6597A457C8CD442C 00', `${data} 2A474282E7A47986 9100`]]);
  const s = session(card.transport, { ti: hex('7A21085E'), encKey: Buffer.alloc(16), macKey: hex('8248134A386E86EB7FAF54A52E536CB6') });
  const settings = await s.send({ name: 'GetFileSettings', ins: 0xf5, header: hex('02'), mode: 'mac', response: 'mac' });
  t.equal(toHex(settings), data, 'the file settings, in clear');
  t.equal(s.commandCounter, 1);
});

t.test('AN12196 Table 28: GetCardUID, CommMode.Full, decrypted and MAC-checked', async (t) => {
  const card = scripted([['9051000008 8E2C155ADDA99BE3 00', '70756055688505B52A5E26E59E329CD6 595F672298EA41B7 9100']]);
  const s = session(card.transport, { ti: hex('DF055522'), encKey: hex('2B4D963C014DC36F24F69A50A394F875'), macKey: hex('379D32130CE61705DD5FD8C36B95D764') });
  t.equal(toHex(await s.getCardUid()), '04958CAA5C5E80', 'the 7-byte UID');
  t.equal(s.commandCounter, 1, 'CmdCtr incremented');
  t.equal(card.remaining(), 0);
});

t.test('AN12196 Table 25: ChangeKey of key 2 (not the authenticated key): XOR, version, CRC32', async (t) => {
  const newKey = hex('F3847D627727ED3BC9C4CC050489B966');
  t.equal(toHex(jamCrc32(newKey)), '789DFADC', 'CRC32NK (JAMCRC, little-endian)');
  t.equal(toHex(changeKeyData(newKey, 1, Buffer.alloc(16))), 'F3847D627727ED3BC9C4CC050489B966 01 789DFADC'.replace(/ /g, ''), 'plain key data');
  const card = scripted([['90C4000029 02 2CF362B7BF4311FF3BE1DAA295E8C68DE09050560D19B9E16C2393AE9CD1FAC7 5D0CE20BCD1D06E6 00', '203BB55D1089D587 9100']]);
  const s = session(card.transport, { ...B, commandCounter: 2 });
  await s.changeKey(2, newKey, { version: 1, oldKey: Buffer.alloc(16) });
  t.equal(s.commandCounter, 3, 'the answer MAC was checked at CmdCtr 3');
  t.notOk(s.closed, 'the session goes on');
});

t.test('AN12196 Table 26: ChangeKey of key 0, the authenticated key; the session ends', async (t) => {
  const card = scripted([['90C4000029 00 C0EB4DEEFEDDF0B513A03A95A75491818580503190D4D05053FF75668A01D6FD A6610234BDED6432 00', '9100']]);
  const s = session(card.transport, { ...B, commandCounter: 3 });
  await s.changeKey(0, hex('5004BF991F408672B1EF00F08F9E8647'), { version: 1 });
  t.ok(s.closed, 'closed: the card wants a new authentication with the new key');
  const err = await s.getCardUid().catch((e: unknown) => e);
  t.type(err, SessionClosedError);
  t.match(String(err), /key that opened it was changed/);
});

t.test('ChangeKey with a non-zero old key, and key 0, against an independent card implementation', async (t) => {
  const card = new SimulatedNtag424();
  const k2a = randomBytes(16);
  const k2b = randomBytes(16);
  const k0 = randomBytes(16);
  let s = await authenticateEV2First(card.transport, 0, Buffer.alloc(16));
  await s.changeKey(2, k2a, { version: 1, oldKey: Buffer.alloc(16) });
  t.equal(toHex(card.keys[2] as Buffer), toHex(k2a), 'key 2 set from the factory key');
  await s.changeKey(2, k2b, { version: 2, oldKey: k2a });
  t.equal(toHex(card.keys[2] as Buffer), toHex(k2b), 'key 2 changed again: XOR with a non-zero old key, CRC over the new key');
  t.equal(card.versions[2], 2);

  const wrongOld = await s.changeKey(2, randomBytes(16), { oldKey: k2a }).catch((e: unknown) => e);
  t.type(wrongOld, UnexpectedStatusError, "a wrong old key fails the card's CRC check (91 1E)");
  t.equal(toHex(card.keys[2] as Buffer), toHex(k2b), 'key 2 unchanged');
  t.ok(s.closed, 'and the session is gone on both sides');

  s = await authenticateEV2First(card.transport, 0, Buffer.alloc(16));
  t.equal(s.commandCounter, 0);
  t.equal(toHex(await s.getCardUid()), toHex(card.uid));
  t.equal(toHex(await s.getCardUid()), toHex(card.uid), 'a second command: the counters agree');
  t.equal(s.commandCounter, 2);
  await s.changeKey(0, k0, { version: 1 });
  t.equal(toHex(card.keys[0] as Buffer), toHex(k0), 'key 0 changed');
  t.ok(s.closed);

  const old = await authenticateEV2First(card.transport, 0, Buffer.alloc(16)).catch((e: unknown) => e);
  t.type(old, CardAuthenticationError, 'the factory key no longer opens the card');
  const fresh = await authenticateEV2First(card.transport, 0, k0);
  t.equal(toHex(await fresh.getCardUid()), toHex(card.uid), 'the new key does');
  const k2 = await authenticateEV2First(card.transport, 2, k2b);
  t.equal(k2.keyNo, 2, 'and key 2 opens its own session');
});

t.test('ChangeKey refuses to guess: another key needs its old value', async (t) => {
  const card = new SimulatedNtag424();
  const s = await authenticateEV2First(card.transport, 0, Buffer.alloc(16));
  const sent = card.received.length;
  await t.rejects(s.changeKey(1, randomBytes(16)), TypeError);
  await t.rejects(s.changeKey(1, randomBytes(15), { oldKey: Buffer.alloc(16) }), TypeError);
  await t.rejects(s.changeKey(1, randomBytes(16), { oldKey: Buffer.alloc(16), version: 256 }), RangeError);
  t.equal(card.received.length, sent, 'nothing sent');
});

// --- hostile answers inside a session ---------------------------------------------------------

const T28 = {
  keys: { ti: hex('DF055522'), encKey: hex('2B4D963C014DC36F24F69A50A394F875'), macKey: hex('379D32130CE61705DD5FD8C36B95D764') },
  answer: '70756055688505B52A5E26E59E329CD6595F672298EA41B79100',
};

async function failsWith(t: Test, answer: string | Buffer, type: abstract new (...args: never[]) => CardError): Promise<CardError> {
  const raw = typeof answer === 'string' ? hex(answer) : answer;
  const s = session(async () => raw, T28.keys);
  const err = await s.getCardUid().then(
    () => null,
    (e: unknown) => e,
  );
  t.type(err, type, `rejects with ${type.name}`);
  t.ok(s.closed, 'the session is closed');
  t.type(await s.getCardUid().catch((e: unknown) => e), SessionClosedError, 'and refuses the next command');
  const e = err as CardError;
  for (const key of [T28.keys.encKey, T28.keys.macKey]) t.notOk(e.message.toUpperCase().includes(toHex(key).slice(0, 8)), 'no session key in the message');
  return e;
}

t.test('hostile: a response MAC off by one bit, anywhere in the MAC or in the encrypted data', async (t) => {
  const good = hex(T28.answer);
  for (const [at, what] of [
    [good.length - 3, 'last MAC byte'],
    [16, 'first MAC byte'],
    [0, 'first encrypted byte'],
  ] as const) {
    const bad = Buffer.from(good);
    bad[at] = (bad[at] as number) ^ 0x01;
    const err = await failsWith(t, bad, ResponseMacError);
    t.match(err.message, /wrong MAC/, what);
  }
});

t.test('hostile: truncated and over-long answers in a session', async (t) => {
  await failsWith(t, '9100', TruncatedAnswerError);
  await failsWith(t, '595F672298EA41 9100', TruncatedAnswerError);
  await failsWith(t, '91', TruncatedAnswerError);
  await failsWith(t, '00'.repeat(300) + '9100', OverlongAnswerError);
  // Over-long by one byte: the MAC no longer covers what the card sent.
  await failsWith(t, '70756055688505B52A5E26E59E329CD6 00 595F672298EA41B7 9100', ResponseMacError);
  // A bare 91 00 is the only right answer to ChangeKey of the authenticated key.
  const s = session(async () => hex('203BB55D1089D587 9100'), { ...B, commandCounter: 3 });
  await t.rejects(s.changeKey(0, randomBytes(16)), OverlongAnswerError);
});

t.test('hostile: right MAC, wrong content (a card that knows the session keys but sends a 4-byte UID)', async (t) => {
  const { ti, encKey, macKey } = T28.keys;
  const body = encryptResponse(encKey, ti, 1, hex('04958CAA'));
  const answer = Buffer.concat([body, responseMac(macKey, 0x00, 1, ti, body), hex('9100')]);
  const err = await failsWith(t, answer, MalformedAnswerError);
  t.match(err.message, /UID of 4 bytes/);
  const noPadding = Buffer.alloc(16, 0x11);
  const raw = cbcEncryptRaw(encKey, responseIv(encKey, ti, 1), noPadding);
  const bad = await failsWith(t, Buffer.concat([raw, responseMac(macKey, 0x00, 1, ti, raw), hex('9100')]), MalformedAnswerError);
  t.match(bad.message, /padding/);
});

t.test('status words inside a session: 91 AE, 91 7E, 91 CA; nothing counted', async (t) => {
  const ae = await failsWith(t, '91AE', CardAuthenticationError);
  t.match(ae.message, /91 AE/);
  await failsWith(t, '917E', CardLengthError);
  const ca = await failsWith(t, '91CA', UnexpectedStatusError);
  t.match(ca.message, /91 CA \(command aborted\)/);
  const s = session(async () => hex('91AE'), T28.keys);
  await s.getCardUid().catch(() => undefined);
  t.equal(s.commandCounter, 0, 'a refused command does not advance the counter');
});

t.test('an answer that never comes, mid-session', async (t) => {
  const s = session(
    withTimeout(() => new Promise<Buffer>(() => undefined), 30),
    T28.keys,
  );
  const err = await s.getCardUid().catch((e: unknown) => e);
  t.type(err, CardTimeoutError);
  t.match(String(err), /GetCardUID within 30 ms/);
  t.ok(s.closed, "the card's counter is unknown now: the session is closed");
});

t.test('the command counter ends at FFFF: only a new authentication goes on', async (t) => {
  let sent = 0;
  const s = session(
    async () => {
      sent++;
      return hex('9100');
    },
    { ...T28.keys, commandCounter: 0xffff },
  );
  await t.rejects(s.getCardUid(), SessionClosedError);
  t.equal(sent, 0, 'nothing sent');
  t.throws(() => session(async () => hex('9100'), { ...T28.keys, commandCounter: 0x10000 }), RangeError);
});

t.test('close() wipes the session and refuses further commands', async (t) => {
  const card = scripted([]);
  const s = session(card.transport, T28.keys);
  s.close();
  await t.rejects(s.getCardUid(), SessionClosedError);
});

// A second computation of a CommMode.Full response, with node:crypto directly.
function cbcEncryptRaw(key: Buffer, iv: Buffer, data: Buffer): Buffer {
  const c = createCipheriv('aes-128-cbc', key, iv).setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}
function encryptResponse(encKey: Buffer, ti: Buffer, counter: number, plain: Buffer): Buffer {
  const padded = Buffer.alloc(16);
  plain.copy(padded);
  padded[plain.length] = 0x80;
  return cbcEncryptRaw(encKey, responseIv(encKey, ti, counter), padded);
}
