// The virtual NTAG 424 DNA (test/support/fixtures/ntag424_card.py) checked on its own, before any ccguard
// code relies on it: through a real private pcscd with vpcd, driven by an independent reader-side
// client (test/support/fixtures/ntag424_client.py: pyscard + python3-cryptography, the card uses
// Cryptodome). Where AN12196 publishes a worked example, the card must reproduce it byte for byte.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { CardInterface } from 'smartcard';
import t from 'tap';
import { ROOT } from '../../support/harness.js';
import { PcscPeer, requireNtag424Peer, type Ntag424Options, type VirtualCard } from '../../support/pcsc.js';

const run = promisify(execFile);
const FIXTURES = join(ROOT, 'test', 'support', 'fixtures');
const READER = PcscPeer.READERS[0];
const UID = '04A1B2C3D4E5F6';
const Z = '00'.repeat(16);
const K0 = '0F1E2D3C4B5A69788796A5B4C3D2E1F0';
const K2 = 'A1A2A3A4A5A6A7A8A9AAABACADAEAFB0';

// AN12196 (NTAG 424 DNA features and hints), worked examples.
const T14 = {
  rndA: '13C5DB8A5930439FC3DEF9A4C675360F',
  rndB: 'B9E2FC789B64BF237CCCAA20EC7E6E48',
  ti: '9D00C4DF',
  exchanges: [
    ['9071000002000000', 'A04C124213C186F22399D33AC2A3021591AF'],
    ['90AF00002035C3E05A752E0144BAC0DE51C1F22C56B34408A23D8AEA266CAB947EA8E0118D00', '3FA64DB5446D1F34CD6EA311167F5E4985B89690C04A05F17FA7AB2F081206639100'],
  ],
  sesAuthEncKey: '1309C877509E5A215007FF0ED19CA564',
  sesAuthMacKey: '4C6626F5E72EA694202139295C7A7FC7',
};
// Tables 25 and 26 run in the session of Table 23 (key 0 all zero; its RndA and RndB give these
// session keys whichever authentication command made them), with TI 7614281A.
const T25 = {
  rndA: '60BE759EDA560250AC57CDDC11743CF6',
  rndB: '6924E8D09722659A2E7DEC68E66312B8',
  ti: '7614281A',
  sesAuthEncKey: '4CF3CB41A22583A61E89B158D252FC53',
  sesAuthMacKey: '5529860B2FC5FB6154B7F28361D30BF9',
  newKey2: 'F3847D627727ED3BC9C4CC050489B966',
  changeKey2: ['90C4000029022CF362B7BF4311FF3BE1DAA295E8C68DE09050560D19B9E16C2393AE9CD1FAC75D0CE20BCD1D06E600', '203BB55D1089D5879100'],
  newKey0: '5004BF991F408672B1EF00F08F9E8647',
  changeKey0: ['90C400002900C0EB4DEEFEDDF0B513A03A95A75491818580503190D4D05053FF75668A01D6FDA6610234BDED643200', '9100'],
};
const T28 = {
  uid: '04958CAA5C5E80',
  ti: 'DF055522',
  sesAuthEncKey: '2B4D963C014DC36F24F69A50A394F875',
  sesAuthMacKey: '379D32130CE61705DD5FD8C36B95D764',
  command: '90510000088E2C155ADDA99BE300',
  response: '70756055688505B52A5E26E59E329CD6595F672298EA41B79100',
};

interface Step {
  step: string;
  ms: number;
  exchanges: Array<[string, string]>;
  sw?: string;
  error?: string;
  uid?: string;
  rndB?: string;
  ti?: string;
  sesAuthEncKey?: string;
  sesAuthMacKey?: string;
  macOk?: boolean;
  paddingOk?: boolean;
  sessionEnded?: boolean;
  frames?: string[];
}

requireNtag424Peer();
const dir = await mkdtemp(join(tmpdir(), 'ccguard-ntag424-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const peer = await PcscPeer.start(dir);
t.teardown(() => peer.stop());
let cards = 0;

/** A fresh state file name: a factory-new card. */
const newState = (): string => join(dir, `card-${++cards}.json`);

async function place(options: Ntag424Options): Promise<VirtualCard> {
  return peer.placeNtag424({ uid: UID, ...options });
}

/** Runs the reader-side client's steps on one connection; one result per step run. */
async function client(steps: string[], timeoutMs = 5000): Promise<Step[]> {
  const { stdout } = await run('/usr/bin/python3', [join(FIXTURES, 'ntag424_client.py'), READER, ...steps], {
    env: { ...process.env, ...peer.env, NTAG424_CLIENT_TIMEOUT_MS: String(timeoutMs) },
    timeout: 60_000,
  });
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Step);
}

/** Removes the card and waits until pcscd has seen it go, so the next card is a new placement. */
async function remove(card: VirtualCard): Promise<void> {
  await card.remove();
  await run('/usr/bin/python3', [join(FIXTURES, 'ntag424_client.py'), READER, '--absent'], { env: { ...process.env, ...peer.env } });
}

/** Places the card, runs the steps, removes the card. */
async function withCard(options: Ntag424Options, steps: string[], timeoutMs?: number): Promise<Step[]> {
  const card = await place(options);
  try {
    return await client(steps, timeoutMs);
  } finally {
    await remove(card);
  }
}

const sws = (steps: Step[]): Array<string | undefined> => steps.map((s) => s.sw ?? s.error);

async function savedKeys(state: string): Promise<{ uid: string; keys: string[]; versions: number[] }> {
  return JSON.parse(await readFile(state, 'utf8')) as { uid: string; keys: string[]; versions: number[] };
}

t.test('AN12196 Table 14: AuthenticateEV2First with key 0, byte for byte through pcscd', async (t) => {
  const [select, uid, auth, cardUid] = await withCard({ state: newState(), fixedRndB: T14.rndB, fixedTi: T14.ti }, [
    'select',
    'uid',
    `auth:0:${Z}:${T14.rndA}`,
    'carduid',
  ]);
  t.same(select?.exchanges, [['00A4040C07D276000085010100', '9000']], 'SELECT of the NDEF application');
  t.same(uid?.exchanges, [['FFCA000000', `${UID}9000`]], 'GET DATA answers the UID');
  t.same(auth?.exchanges, T14.exchanges, 'both authentication frames are the note’s, command and answer');
  t.equal(auth?.ti, T14.ti);
  t.equal(auth?.sesAuthEncKey, T14.sesAuthEncKey, 'the client derives the note’s session ENC key');
  t.equal(auth?.sesAuthMacKey, T14.sesAuthMacKey, 'and its session MAC key');
  // The card took the same keys: its CommMode.Full answer decrypts and verifies under them.
  t.match(cardUid, { sw: '9100', macOk: true, paddingOk: true, uid: UID }, 'GetCardUID under the session keys');
});

t.test('the agent’s PC/SC binding (smartcard) exchanges the same Table 14 frames with the card', async (t) => {
  // libpcsclite finds the private pcscd through this variable when the binding opens its context.
  process.env.PCSCLITE_CSOCK_NAME = peer.socket;
  const { Devices } = await import('smartcard');
  const devices = new Devices();
  t.teardown(() => devices.stop());
  devices.on('error', () => undefined);
  const inserted = new Promise<CardInterface>((resolve) => devices.on('card-inserted', ({ reader, card }) => reader.name === READER && resolve(card)));
  devices.start();
  const card = await place({ state: newState(), fixedRndB: T14.rndB, fixedTi: T14.ti });
  try {
    const reader = await inserted;
    const hex = async (apdu: string): Promise<string> => (await reader.transmit(Buffer.from(apdu, 'hex'))).toString('hex').toUpperCase();
    t.equal(await hex('FFCA000000'), `${UID}9000`);
    t.equal(await hex('00A4040C07D276000085010100'), '9000');
    for (const [command, answer] of T14.exchanges) t.equal(await hex(command ?? ''), answer);
  } finally {
    await remove(card);
  }
});

t.test('AN12196 Tables 25 and 26: ChangeKey of key 2 and of key 0, byte for byte; the card keeps the new keys', async (t) => {
  const state = newState();
  const steps = await withCard({ state, fixedRndB: T25.rndB, fixedTi: T25.ti }, [
    'select',
    `auth:0:${Z}:${T25.rndA}`,
    'carduid',
    'carduid', // CmdCtr is 2 for Table 25
    `changekey:2:${T25.newKey2}:1:${Z}`,
    `changekey:0:${T25.newKey0}:1`,
    'carduid',
  ]);
  t.same(sws(steps), ['9000', '9100', '9100', '9100', '9100', '9100', '91AE']);
  t.match(steps[1], { ti: T25.ti, sesAuthEncKey: T25.sesAuthEncKey, sesAuthMacKey: T25.sesAuthMacKey });
  t.same(steps[4]?.exchanges, [T25.changeKey2], 'Table 25: other key, old key XOR, CRC32, MACt in the answer');
  t.same(steps[5]?.exchanges, [T25.changeKey0], 'Table 26: the session’s own key; no MAC in the answer');
  t.equal(steps[6]?.sw, '91AE', 'changing the session key ended the session');
  t.same(await savedKeys(state), { uid: UID, keys: [T25.newKey0, Z, T25.newKey2, Z, Z], versions: [1, 0, 1, 0, 0] });

  // Placed again (random challenges now): only the new keys open it.
  const again = await withCard({ state }, ['select', `auth:0:${Z}`, `auth:0:${T25.newKey0}`, 'carduid', `auth:2:${Z}`, `auth:2:${T25.newKey2}`, 'carduid']);
  t.same(sws(again), ['9000', '91AE', '9100', '9100', '91AE', '9100', '9100']);
  t.equal(again[3]?.uid, UID);
  t.equal(again[6]?.uid, UID);
});

t.test('AN12196 Table 28: GetCardUID from the note’s session keys', async (t) => {
  const { stdout } = await run(
    '/usr/bin/python3',
    [join(FIXTURES, 'ntag424_session.py'), newState(), T28.uid, T28.ti, T28.sesAuthEncKey, T28.sesAuthMacKey, '0', T28.command],
    { env: { ...process.env, PYTHONPATH: `/usr/lib/python3/site-packages/virtualsmartcard:${join(FIXTURES, 'python')}:${FIXTURES}` } },
  );
  t.same((JSON.parse(stdout) as { responses: string[] }).responses, [T28.response]);
});

t.test('a factory card with random challenges: enrol-like key changes, then the same card placed again', async (t) => {
  const state = newState();
  const steps = await withCard({ state }, [
    'uid',
    'select',
    `auth:0:${Z}`,
    `auth:0:${Z}`,
    'carduid',
    `changekey:2:${K2}:1:${Z}`,
    'carduid',
    `changekey:0:${K0}:1`,
    `auth:0:${Z}`,
    `auth:0:${K0}`,
    'carduid',
    `auth:2:${K2}`,
    'carduid',
    `auth:2:${Z}`,
    'version',
  ]);
  t.same(sws(steps), ['9000', '9000', '9100', '9100', '9100', '9100', '9100', '9100', '91AE', '9100', '9100', '9100', '9100', '91AE', '9100']);
  t.not(steps[2]?.rndB, steps[3]?.rndB, 'a fresh RndB every authentication');
  t.not(steps[2]?.exchanges[0]?.[1], steps[3]?.exchanges[0]?.[1], 'so a fresh E(K, RndB)');
  t.not(steps[2]?.ti, steps[3]?.ti, 'and a fresh TI');
  for (const i of [4, 6, 10, 12]) t.match(steps[i], { uid: UID, macOk: true, paddingOk: true }, `${steps[i]?.step} #${i}`);
  t.equal(steps[7]?.sessionEnded, true);
  t.same(steps[14]?.frames, ['04040230001105', '04040201021105', `${UID}CF39410C501221`], 'GetVersion: hardware, software, UID and production data');
  t.same(await savedKeys(state), { uid: UID, keys: [K0, Z, K2, Z, Z], versions: [1, 0, 1, 0, 0] });

  const again = await withCard({ state }, ['select', `auth:0:${Z}`, 'carduid', `auth:0:${K0}`, 'carduid']);
  t.same(sws(again), ['9000', '91AE', '91AE', '9100', '9100'], 'after a failed authentication nothing is open');

  await t.rejects(peer.placeNtag424({ state, uid: '04000000000001' }), /holds the card with UID/, 'one state file is one card');
});

t.test('the card refuses what a real one refuses, and a refusal ends the session', async (t) => {
  const state = newState();
  const steps = await withCard({ state }, [
    'carduid', // 0: no session
    'raw:9071000002000000', // 1: nothing selected
    'raw:00A4040C07D276000085010200', // 2: another application
    'select', // 3
    'raw:907100000300000000', // 4: LenCap says 0, Lc says 3
    'raw:9071000002090000', // 5: key 9
    'raw:90AF000000', // 6: no authentication under way
    'raw:90FA000000', // 7: unknown command
    `auth:0:${Z}`, // 8
    'badmac', // 9
    'carduid', // 10: the wrong MAC ended the session
    `auth:0:${Z}`, // 11
    'raw:90510000040000000000', // 12: MAC too short
    `auth:2:${Z}`, // 13
    `changekey:2:${K2}:1`, // 14: ChangeKey needs key 0's session
    `auth:0:${Z}`, // 15
    `changekey:2:${K2}:1:${K0}`, // 16: a wrong old key breaks the CRC
    `auth:2:${Z}`, // 17: key 2 unchanged
    'raw:9071000002000000', // 18: authentication started...
    'raw:90AF00001000000000000000000000000000000000', // 19: ...and answered with 16 bytes, not 32
  ]);
  t.same(sws(steps), [
    '91AE',
    '9140',
    '6A82',
    '9000',
    '917E',
    '9140',
    '911C',
    '911C',
    '9100',
    '911E',
    '91AE',
    '9100',
    '917E',
    '9100',
    '91AE',
    '9100',
    '911E',
    '9100',
    '91AF',
    '917E',
  ]);
  t.same((await savedKeys(state)).keys, [Z, Z, Z, Z, Z], 'no refused command changed a key');
});

t.test('faults: wrong key, uid-only clone, mute, slow', async (t) => {
  const wrong = await withCard({ state: newState(), faults: ['wrong-key'] }, ['uid', 'select', `auth:0:${Z}`]);
  t.same(sws(wrong), ['9000', '9000', '91AE'], 'wrong-key: the UID reads, the factory key fails');
  t.equal(wrong[0]?.uid, UID);

  const clone = await withCard({ state: newState(), faults: ['uid-only'] }, ['uid', 'select', 'raw:9071000002000000']);
  t.same(sws(clone), ['9000', '6D00', '6D00'], 'uid-only: GET DATA and nothing else');
  t.equal(clone[0]?.uid, UID);
  const shortClone = await withCard({ state: newState(), uid: '04A1B2C3', faults: ['uid-only'] }, ['uid']);
  t.equal(shortClone[0]?.uid, '04A1B2C3', 'uid-only: a 4-byte UID too');
  await t.rejects(peer.placeNtag424({ state: newState(), uid: '04A1B2C3' }), /7-byte UID/, 'an NTAG 424 DNA itself has 7');

  const mute = await withCard({ state: newState(), faults: ['mute-after=2'] }, ['uid', 'select', `auth:0:${Z}`], 1500);
  t.same(sws(mute), ['9000', '9000', 'timeout'], 'mute-after=2: the third APDU is never answered');

  const slow = await withCard({ state: newState(), faults: ['slow=400'] }, ['uid', 'select']);
  t.same(sws(slow), ['9000', '9000']);
  t.ok(
    slow.every((s) => s.ms >= 400),
    `slow=400: every answer took at least 400 ms (${slow.map((s) => s.ms).join(', ')} ms)`,
  );
});

t.test('exit-after: a card pulled right after it acted keeps what it did, and nothing else', async (t) => {
  // APDUs: 1 select, 2-3 authenticate, 4 ChangeKey of key 2, 5 ChangeKey of key 0.
  const script = ['select', `auth:0:${Z}`, `changekey:2:${K2}:1:${Z}`, `changekey:0:${K0}:1`];
  const expectations: Array<[number, string[], string]> = [
    [3, [Z, Z, Z, Z, Z], 'pulled at the authentication: factory keys'],
    [4, [Z, Z, K2, Z, Z], 'pulled at ChangeKey 2: key 2 changed, its answer lost'],
    [5, [K0, Z, K2, Z, Z], 'pulled at ChangeKey 0: both changed'],
  ];
  for (const [n, keys, what] of expectations) {
    const state = newState();
    const steps = await withCard({ state, faults: [`exit-after=${n}`] }, script, 3000);
    t.ok(steps.at(-1)?.error, `${what}: the reader got no answer to APDU ${n} (${steps.at(-1)?.error})`);
    t.same((await savedKeys(state)).keys, keys, what);
    const key0 = keys[0] ?? Z;
    const again = await withCard({ state }, ['select', `auth:0:${key0}`, `auth:2:${keys[2] ?? Z}`]);
    t.same(sws(again), ['9000', '9100', '9100'], `${what}: placed again, it opens with those keys`);
  }
});

t.test('a kill at any instant leaves the old or the new key, never a broken state file', async (t) => {
  const A = '11'.repeat(16);
  const B = '22'.repeat(16);
  const script = ['select', `auth:0:${Z}`];
  let old = Z;
  for (let i = 0; i < 400; i++) {
    const next = i % 2 === 0 ? A : B;
    script.push(`changekey:1:${next}:${(i % 250) + 1}:${old}`);
    old = next;
  }
  const changes: number[] = [];
  for (let round = 0; round < 8; round++) {
    const state = newState();
    const card = await place({ state });
    const proc = spawn('/usr/bin/python3', [join(FIXTURES, 'ntag424_client.py'), READER, ...script], {
      env: { ...process.env, ...peer.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let lines = 0;
    const changing = new Promise<void>((resolve) =>
      proc.stdout.on('data', (d: Buffer) => {
        lines += d.toString().split('\n').length - 1;
        if (lines > 2) resolve();
      }),
    );
    const exited = new Promise((resolve) => proc.on('exit', resolve));
    // The kill lands at a random point among the key changes (a client that fails early ends the wait too).
    await Promise.race([changing, exited]);
    await sleep(Math.floor(Math.random() * 150));
    await remove(card);
    await exited;
    const saved = await savedKeys(state); // parses: never a half-written file
    changes.push(lines - 2);
    t.ok([A, B].includes(saved.keys[1] ?? ''), `round ${round}: key 1 is a whole key, killed after ${lines - 2} key changes`);
    t.same([saved.keys[0], saved.keys[2], saved.keys[3], saved.keys[4]], [Z, Z, Z, Z]);
  }
  t.ok(
    changes.some((n) => n > 1),
    `the kills fell at different points (${changes.join(', ')} changes)`,
  );
});
