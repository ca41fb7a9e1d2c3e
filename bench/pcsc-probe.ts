// The reference for bench/rfid.ts: a bare `smartcard` script that reads a placed card's UID and,
// for a UID it holds a key for, does what the daemon does to recognise a secure master card (SELECT
// of the NDEF application, AuthenticateEV2First with key 2, GetCardUID over CommMode.Full, with
// rfid/ntag424 and the same per-APDU deadlines). It prints a line when pcscd reports a card, when it
// has read (and for a secure card, verified) it, and when a card leaves.
// Commands come on stdin as JSON lines: {"uid": HEX, "key": HEX} gives a card's key (never argv or
// env; acknowledged by UID only); {"active": BOOLEAN} switches reading on or off (while off, the
// script sends no APDU and only reports cards coming and going), acknowledged as "mode".
import { timingSafeEqual } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Devices } from 'smartcard';
import { authenticateEV2First, selectNdefApplication, withTimeout } from '../rfid/ntag424/index.js';

const GET_UID = Buffer.from([0xff, 0xca, 0x00, 0x00, 0x00]);
// The daemon's defaults: rfid.uidTimeoutMs for GET DATA, rfid.apduTimeoutMs for the rest.
const UID_TIMEOUT_MS = 1000;
const APDU_TIMEOUT_MS = 500;
const AUTH_KEY_NO = 2;
const keys = new Map<string, Buffer>();
let active = false;

const say = (line: Record<string, unknown>): boolean => process.stdout.write(`${JSON.stringify(line)}\n`);

createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line) as { uid: string; key: string } | { active: boolean };
  if ('active' in command) {
    active = command.active;
    say({ event: 'mode', active });
    return;
  }
  keys.set(command.uid.toUpperCase(), Buffer.from(command.key, 'hex'));
  say({ event: 'key', uid: command.uid.toUpperCase() });
});

/** Reads the card; `getDataMs` and `secureMs` (the exchange after GET DATA, `apdus` APDUs) show where the time goes. */
async function read(transmit: (apdu: Buffer) => Promise<Buffer>): Promise<Record<string, unknown>> {
  const started = performance.now();
  const answer = await withTimeout(transmit, UID_TIMEOUT_MS)(GET_UID);
  const getDataMs = performance.now() - started;
  if (answer.length < 2 || answer.readUInt16BE(answer.length - 2) !== 0x9000) return { event: 'error', message: 'GET DATA refused' };
  const uid = Buffer.from(answer.subarray(0, answer.length - 2));
  const key = keys.get(uid.toString('hex').toUpperCase());
  if (key === undefined) return { event: 'present', kind: 'uidOnly', bytes: uid.length, getDataMs };
  let apdus = 0;
  const secureStarted = performance.now();
  const transport = withTimeout((apdu) => (apdus++, transmit(apdu)), APDU_TIMEOUT_MS);
  await selectNdefApplication(transport);
  const session = await authenticateEV2First(transport, AUTH_KEY_NO, key);
  try {
    const real = await session.getCardUid();
    if (real.length !== uid.length || !timingSafeEqual(real, uid)) return { event: 'error', message: 'GetCardUID differs from GET DATA' };
  } finally {
    session.close();
  }
  return { event: 'present', kind: 'ntag424', bytes: uid.length, getDataMs, secureMs: performance.now() - secureStarted, apdus };
}

const devices = new Devices();
devices.on('card-inserted', ({ card }) => {
  // When pcscd reported the card, on a clock the bench can compare with its own.
  say({ event: 'inserted', at: performance.timeOrigin + performance.now() });
  if (!active) return;
  read((apdu) => card.transmit(apdu)).then(say, (err: Error) => say({ event: 'error', message: err.message }));
});
devices.on('card-removed', ({ reader }) => say({ event: 'removed', reader: reader.name }));
devices.on('error', (err) => say({ event: 'error', message: err.message }));
devices.start();
process.on('SIGTERM', () => {
  devices.stop();
  process.exit(0);
});
