// AuthenticateEV2First: AN12196's worked examples byte for byte (APDUs, TI, capabilities, SV1/SV2,
// session keys, and the first secure commands of each example session), fresh randoms against a
// simulated card, and every hostile answer we could think of.
//
// Table numbers follow AN12196 Rev. 2.0 ("NTAG 424 DNA and NTAG 424 DNA TagTamper features and
// hints"); earlier revisions number the same examples differently (e.g. section 6.6 / 6.10). The
// values were cross-checked against public implementations that assert the same bytes
// (nfc-developer/sdm-backend's ev2.py self-test, johnnyb/ntag424-java, pylibsdm's tests).
import { createDecipheriv, randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { authenticateEV2First, deriveSessionKeys, sessionVectors } from '../../../../rfid/ntag424/authenticate.js';
import {
  CardAuthenticationError,
  type CardError,
  CardLengthError,
  CardTimeoutError,
  OverlongAnswerError,
  TruncatedAnswerError,
  UnexpectedStatusError,
} from '../../../../rfid/ntag424/errors.js';
import { withTimeout, type Transport } from '../../../../rfid/ntag424/transport.js';
import { SimulatedNtag424 } from '../../../support/ntag424-sim.js';
import { fixedRandom, hex, scripted, toHex } from '../../../support/scripted-card.js';

const ZERO_KEY = Buffer.alloc(16);

// Table 14: AuthenticateEV2First with key 0x00 (all zeros).
const T14 = {
  rndA: '13C5DB8A5930439FC3DEF9A4C675360F',
  rndB: 'B9E2FC789B64BF237CCCAA20EC7E6E48',
  cmd1: '9071000002000000',
  resp1: 'A04C124213C186F22399D33AC2A30215 91AF',
  cmd2: '90AF000020 35C3E05A752E0144BAC0DE51C1F22C56B34408A23D8AEA266CAB947EA8E0118D 00',
  resp2: '3FA64DB5446D1F34CD6EA311167F5E4985B89690C04A05F17FA7AB2F08120663 9100',
  ti: '9D00C4DF',
  sv1: 'A55A0001008013C56268A548D8FBBF237CCCAA20EC7E6E48C3DEF9A4C675360F',
  sv2: '5AA50001008013C56268A548D8FBBF237CCCAA20EC7E6E48C3DEF9A4C675360F',
  encKey: '1309C877509E5A215007FF0ED19CA564',
  macKey: '4C6626F5E72EA694202139295C7A7FC7',
};

// Table 17: WriteData of the NDEF file (file 02, offset 0, 0x80 bytes) in CommMode.Full, CmdCtr 0.
const T17_DATA = '0051D1014D550463686F6F73652E75726C2E636F6D2F6E7461673432343F653D' + '30'.repeat(32) + '26633D' + '30'.repeat(16) + '00'.repeat(0x80 - 0x53);
const T17_CMD =
  '908D00009F 02 000000 800000' +
  '421C73A27D827658AF481FDFF20A5025B559D0E3AA21E58D347F343CFFC768BFE596C706BC00F2176781D4B0242642' +
  'A0FF5A42C461AAF894D9A1284B8C76BCFA658ACD40555D362E08DB15CF421B51283F9064BCBE20E96CAE545B40' +
  '7C9D651A3315B27373772E5DA2367D2064AE054AF996C6F1F669170FA88CE8C4E3A4A7BBBEF0FD971FF532C3A802' +
  'AF745660F2B4 D1D9A8499661EBF3 00';
// Table 18: ChangeFileSettings of file 02 in CommMode.Full, CmdCtr 1.
const T18_CMD = '905F000019 02 61B6D97903566E84C3AE5274467E89EA D799B7C1A0EF7A04 00';

t.test('AN12196 Table 14, then Tables 17 and 18 in the same session: every APDU byte for byte', async (t) => {
  const card = scripted([
    [T14.cmd1, T14.resp1],
    [T14.cmd2, T14.resp2],
    [T17_CMD, 'FC222E5F7A542452 9100'],
    [T18_CMD, '57BFF87B1241E93D 9100'],
  ]);
  const session = await authenticateEV2First(card.transport, 0, ZERO_KEY, { random: fixedRandom(T14.rndA) });
  t.equal(toHex(session.ti), T14.ti, 'TI');
  t.equal(toHex(session.pdCap2), '000000000000', 'PDcap2');
  t.equal(toHex(session.pcdCap2), '000000000000', 'PCDcap2');
  t.equal(session.commandCounter, 0, 'CmdCtr starts at 0');

  const written = await session.send({ name: 'WriteData', ins: 0x8d, header: hex('02 000000 800000'), data: hex(T17_DATA), mode: 'full', response: 'mac' });
  t.equal(written.length, 0, 'WriteData answers with a MAC only');
  t.equal(session.commandCounter, 1);
  await session.send({ name: 'ChangeFileSettings', ins: 0x5f, header: hex('02'), data: hex('4000E0C1F121200000430000430000'), mode: 'full', response: 'mac' });
  t.equal(session.commandCounter, 2);
  t.equal(card.remaining(), 0, 'the whole example was played');
});

t.test('AN12196 Table 14: SV1, SV2 and the session keys', async (t) => {
  const rndA = hex(T14.rndA);
  const rndB = hex(T14.rndB);
  const { sv1, sv2 } = sessionVectors(rndA, rndB);
  t.equal(toHex(sv1), T14.sv1, 'SV1');
  t.equal(toHex(sv2), T14.sv2, 'SV2');
  const keys = deriveSessionKeys(ZERO_KEY, rndA, rndB);
  t.equal(toHex(keys.encKey), T14.encKey, 'SesAuthENCKey');
  t.equal(toHex(keys.macKey), T14.macKey, 'SesAuthMACKey');
});

t.test('AN12196 Table 19 (key 0x03), then Table 21 (WriteData CommMode.Full, CmdCtr 0)', async (t) => {
  const card = scripted([
    ['9071000002030000', 'B875CEB0E66A6C5CD00898DC371F92D1 91AF'],
    ['90AF000020 FF0306E47DFBC50087C4D8A78E88E62DE1E8BE457AA477C707E2F0874916A8B1 00', '0CC9A8094A8EEA683ECAAC5C7BF20584206D0608D477110FC6B3D5D3F65C3A6A 9100'],
    ['908D00001F 03 000000 0A0000 6B5E6804909962FC4E3FF5522CF0F843 6C0C53315B9C73AA 00', 'C26D236E4A7C046D 9100'],
  ]);
  const session = await authenticateEV2First(card.transport, 3, ZERO_KEY, { random: fixedRandom('B98F4C50CF1C2E084FD150E33992B048') });
  t.equal(toHex(session.ti), '7614281A', 'TI');
  t.equal(session.keyNo, 3);
  await session.send({ name: 'WriteData', ins: 0x8d, header: hex('03 000000 0A0000'), data: hex('0102030405060708090A'), mode: 'full', response: 'mac' });
  t.equal(card.remaining(), 0, 'the whole example was played: session keys 7A93D657…/FC4AF159… are the ones in use');
  // The same keys, spelled out: RndB is what the card's first answer decrypts to under the zero key.
  const d = createDecipheriv('aes-128-cbc', ZERO_KEY, Buffer.alloc(16)).setAutoPadding(false);
  const rndB = Buffer.concat([d.update(hex('B875CEB0E66A6C5CD00898DC371F92D1')), d.final()]);
  const keys = deriveSessionKeys(ZERO_KEY, hex('B98F4C50CF1C2E084FD150E33992B048'), rndB);
  t.equal(toHex(keys.encKey), '7A93D6571E4B180FCA6AC90C9A7488D4', 'SesAuthENCKey');
  t.equal(toHex(keys.macKey), 'FC4AF159B62E549B5812394CAB1918CC', 'SesAuthMACKey');
});

t.test('a fresh RndA from the random source for every authentication', async (t) => {
  const card = new SimulatedNtag424();
  const asked: number[] = [];
  const spy = (size: number): Buffer => {
    asked.push(size);
    return randomBytes(size);
  };
  const first = await authenticateEV2First(card.transport, 0, ZERO_KEY, { random: spy });
  const second = await authenticateEV2First(card.transport, 0, ZERO_KEY);
  const third = await authenticateEV2First(card.transport, 0, ZERO_KEY);
  t.same(asked, [16], 'the injected source gave RndA (16 bytes), once');
  const part2 = card.received.filter((apdu) => apdu[1] === 0xaf).map(toHex);
  t.equal(new Set(part2).size, 3, "three different RndA || RndB' cryptograms (randomBytes by default)");
  t.not(toHex(first.ti), toHex(second.ti));
  t.equal(toHex(await third.getCardUid()), toHex(card.uid), 'the session works against an independent card implementation');
});

/** A card that answers each command with the next canned answer, whatever it was sent. */
function replaying(answers: string[]): Transport {
  let i = 0;
  return async () => hex(answers[i++] ?? '911C');
}

const SECRET_KEY = hex('A1B2C3D4E5F60718293A4B5C6D7E8F90');

async function rejection(t: Test, p: Promise<unknown>, type: abstract new (...args: never[]) => CardError): Promise<CardError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  t.type(err, type, `rejects with ${type.name}`);
  const e = err as CardError;
  t.notMatch(e.message, /A1B2C3D4|a1b2c3d4/, 'the key never appears in the message');
  t.notMatch(JSON.stringify(e.details()), /A1B2C3D4|a1b2c3d4/i, 'nor in the details');
  t.equal(e.code, 'refused');
  return e;
}

t.test("hostile: an emulator replaying a recorded exchange cannot prove the key (RndA' wrong)", async (t) => {
  // Table 14's answers, replayed to a reader that picks a fresh RndA: the card part of the proof no longer fits.
  const err = await rejection(t, authenticateEV2First(replaying([T14.resp1, T14.resp2]), 0, ZERO_KEY), CardAuthenticationError);
  t.equal((err as CardAuthenticationError).reason, 'cardProofWrong');
  t.match(err.message, /without proving it holds the key/);
});

t.test('hostile: a card that does not know the key answers random bytes', async (t) => {
  const err = await rejection(
    t,
    authenticateEV2First(replaying([toHex(randomBytes(16)) + '91AF', toHex(randomBytes(32)) + '9100']), 0, SECRET_KEY),
    CardAuthenticationError,
  );
  t.equal((err as CardAuthenticationError).reason, 'cardProofWrong');
});

t.test('a card holding another key refuses with 91 AE', async (t) => {
  const card = new SimulatedNtag424();
  const err = await rejection(t, authenticateEV2First(card.transport, 0, SECRET_KEY), CardAuthenticationError);
  t.equal((err as CardAuthenticationError).reason, 'refusedByCard');
  t.match(err.message, /91 AE/);
  t.match(err.message, /key 0/);
});

t.test('status words: 91 7E, 91 40 and a non-DESFire 6D 00, at either step', async (t) => {
  await rejection(t, authenticateEV2First(replaying(['917E']), 0, ZERO_KEY), CardLengthError);
  await rejection(t, authenticateEV2First(replaying([T14.resp1, '917E']), 0, ZERO_KEY), CardLengthError);
  const noKey = await rejection(t, authenticateEV2First(new SimulatedNtag424().transport, 7, ZERO_KEY), UnexpectedStatusError);
  t.equal((noKey as UnexpectedStatusError).status, 0x9140);
  t.match(noKey.message, /91 40 \(no such key\)/);
  const iso = await rejection(t, authenticateEV2First(replaying(['6D00']), 0, ZERO_KEY), UnexpectedStatusError);
  t.match(iso.message, /6D 00 \(instruction not supported\)/);
  await rejection(t, authenticateEV2First(replaying(['9100']), 0, ZERO_KEY), UnexpectedStatusError);
});

t.test('truncated and over-long answers', async (t) => {
  const r1 = 'A04C124213C186F22399D33AC2A30215';
  await rejection(t, authenticateEV2First(replaying(['']), 0, ZERO_KEY), TruncatedAnswerError);
  await rejection(t, authenticateEV2First(replaying(['91']), 0, ZERO_KEY), TruncatedAnswerError);
  await rejection(t, authenticateEV2First(replaying([r1.slice(0, 30) + '91AF']), 0, ZERO_KEY), TruncatedAnswerError);
  await rejection(t, authenticateEV2First(replaying([r1 + '00' + '91AF']), 0, ZERO_KEY), OverlongAnswerError);
  await rejection(t, authenticateEV2First(replaying([T14.resp1, T14.resp2.slice(0, 62) + '9100']), 0, ZERO_KEY), TruncatedAnswerError);
  await rejection(t, authenticateEV2First(replaying([T14.resp1, T14.resp2.replace(' 9100', '00 9100')]), 0, ZERO_KEY), OverlongAnswerError);
  const huge = await rejection(t, authenticateEV2First(replaying(['00'.repeat(4096) + '91AF']), 0, ZERO_KEY), OverlongAnswerError);
  t.match(huge.message, /4098 bytes where at most 258/);
});

t.test('an answer that never comes: withTimeout rejects, and a late answer changes nothing', async (t) => {
  let release: (b: Buffer) => void = () => undefined;
  const mute: Transport = () => new Promise<Buffer>((resolve) => (release = resolve));
  const started = performance.now();
  const err = await rejection(t, authenticateEV2First(withTimeout(mute, 40), 0, ZERO_KEY), CardTimeoutError);
  t.ok(performance.now() - started < 5_000, 'no hang');
  t.equal((err as CardTimeoutError).timeoutMs, 40);
  t.match(err.message, /did not answer AuthenticateEV2First within 40 ms/);
  release(hex(T14.resp1));

  // Mute at the second step: the first answer came in time.
  let calls = 0;
  const muteLater: Transport = () => (calls++ === 0 ? Promise.resolve(hex(T14.resp1)) : new Promise<Buffer>(() => undefined));
  const late = await rejection(t, authenticateEV2First(withTimeout(muteLater, 40), 0, ZERO_KEY), CardTimeoutError);
  t.match(late.message, /AuthenticateEV2First part 2/);
});

t.test('programming errors are refused before anything is sent', async (t) => {
  const card = new SimulatedNtag424();
  await t.rejects(authenticateEV2First(card.transport, 14, ZERO_KEY), RangeError);
  await t.rejects(authenticateEV2First(card.transport, -1, ZERO_KEY), RangeError);
  await t.rejects(authenticateEV2First(card.transport, 0, Buffer.alloc(24)), TypeError);
  t.equal(card.received.length, 0);
  await t.rejects(authenticateEV2First(card.transport, 0, ZERO_KEY, { random: () => Buffer.alloc(8) }), TypeError, 'a short RndA');
});
