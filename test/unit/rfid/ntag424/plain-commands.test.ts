// Commands before authentication (ISO SELECT of the NDEF application, DESFire SelectApplication,
// GetVersion) and the transport's timeout wrapper.
import t from 'tap';
import { CardTimeoutError, MalformedAnswerError, OverlongAnswerError, TruncatedAnswerError, UnexpectedStatusError } from '../../../../rfid/ntag424/errors.js';
import { getVersion, selectDesfireApplication, selectNdefApplication } from '../../../../rfid/ntag424/plain-commands.js';
import { withTimeout, type Transport } from '../../../../rfid/ntag424/transport.js';
import { hex, scripted, toHex } from '../../../support/scripted-card.js';

t.test('ISO SELECT of the NDEF application by DF name (AN12196 Table 22: 00A4040C07D276000085010100 -> 9000)', async (t) => {
  const card = scripted([['00A4040C07D276000085010100', '9000']]);
  await selectNdefApplication(card.transport);
  t.equal(card.remaining(), 0);
  await t.rejects(selectNdefApplication(scripted([['00A4040C07D276000085010100', '6A82']]).transport), UnexpectedStatusError, 'no NDEF application');
  await t.rejects(
    selectNdefApplication(scripted([['00A4040C07D276000085010100', '6F00 9000']]).transport),
    OverlongAnswerError,
    'an FCI that P2=0C did not ask for',
  );
  const err = await selectNdefApplication(scripted([['00A4040C07D276000085010100', '6A82']]).transport).catch((e: unknown) => e);
  t.match(String(err), /6A 82 \(application or file not found\)/);
});

t.test('DESFire SelectApplication by AID', async (t) => {
  const card = scripted([['905A000003 563412 00', '9100']]);
  await selectDesfireApplication(card.transport, hex('563412'));
  t.equal(card.remaining(), 0);
  await t.rejects(selectDesfireApplication(scripted([['905A00000356341200', '91A0']]).transport, hex('563412')), UnexpectedStatusError);
  await t.rejects(selectDesfireApplication(card.transport, hex('5634')), RangeError);
});

// A real NTAG 424 DNA's GetVersion, as quoted in a public library's tests (boltcard's boltlib):
// hardware 04 04 02 30 00 11 05, software 04 04 02 01 02 11 05, then UID and production data.
const NTAG_VERSION: Array<[string, string]> = [
  ['9060000000', '04040230001105 91AF'],
  ['90AF000000', '04040201021105 91AF'],
  ['90AF000000', '040B6532CA0F90 CF5CD455604321 9100'],
];

t.test('GetVersion: an NTAG 424 DNA', async (t) => {
  const v = await getVersion(scripted(NTAG_VERSION).transport);
  t.equal(v.family, 'ntag');
  t.same(v.hardware, { vendorId: 4, type: 4, subtype: 2, majorVersion: 0x30, minorVersion: 0, storageSize: 0x11, protocol: 5 });
  t.equal(v.software.majorVersion, 1);
  t.equal(toHex(v.uid), '040B6532CA0F90');
  t.equal(toHex(v.production), 'CF5CD455604321');
});

t.test('GetVersion: a DESFire EV2 is recognised; other answers are refused', async (t) => {
  // Laid out as the DESFire EV2 datasheet's GetVersion (hardware type 01, major version 12), not a capture.
  const desfire = await getVersion(
    scripted([
      ['9060000000', '04010112001A05 91AF'],
      ['90AF000000', '04010102011A05 91AF'],
      ['90AF000000', '04112233445566 BA44AB11223344 9100'],
    ]).transport,
  );
  t.equal(desfire.family, 'desfire');
  const variant = (i: number, answer: string): Transport => scripted(NTAG_VERSION.map(([c, a], j) => [c, j === i ? answer : a] as [string, string])).transport;
  await t.rejects(getVersion(variant(0, '99040230001105 91AF')), MalformedAnswerError, 'not NXP');
  await t.rejects(getVersion(variant(0, '040402300011 91AF')), TruncatedAnswerError);
  await t.rejects(getVersion(variant(1, '0404020102110500 91AF')), OverlongAnswerError);
  await t.rejects(getVersion(variant(2, '040B6532CA0F90 CF5CD4556043 9100')), TruncatedAnswerError);
  await t.rejects(getVersion(variant(2, '040B6532CA0F90 CF5CD455604321AABB 9100')), OverlongAnswerError);
  await t.rejects(getVersion(variant(2, '040B6532CA0F90 CF5CD455604321 91AF')), UnexpectedStatusError);
});

t.test('withTimeout: passes answers and errors through, rejects a mute card with a typed error', async (t) => {
  const echo = withTimeout(async (apdu) => Buffer.concat([apdu, hex('9000')]), 1000);
  t.equal(toHex(await echo(hex('0102'))), '01029000');
  const broken = withTimeout(async () => {
    throw new Error('reader gone');
  }, 1000);
  await t.rejects(broken(hex('9051000000')), { message: 'reader gone' });
  const mute = withTimeout(() => new Promise<Buffer>(() => undefined), 25);
  const err = await mute(hex('9051000000')).catch((e: unknown) => e);
  t.type(err, CardTimeoutError);
  t.match(String(err), /GetCardUID within 25 ms/);
  t.same((err as CardTimeoutError).details(), { cardError: 'timeout', command: 'GetCardUID' });
  t.throws(() => withTimeout(echo, 0), RangeError);
  t.throws(() => withTimeout(echo, 1.5), RangeError);
});

t.test('the transport must answer with a Buffer', async (t) => {
  const liar = (async () => 'ninety-one hundred') as unknown as Transport;
  await t.rejects(selectNdefApplication(liar), TypeError);
});
