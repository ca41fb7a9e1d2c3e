// Issue 22 #8: a card that stops answering must cost nothing but its own reader. Mute cards on both
// readers stall native transmits that no JS timeout can cancel; the rightful user's login (as root,
// real argon2 cost) must still answer promptly, and the readers must recover once the cards are taken
// away. The attacker is a person at the reader, not a socket client: "another uid" does not apply.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { call } from '../../../agent/wire/client.js';
import { allLogText, cli, DEFAULTS } from '../../support/harness.js';
import { cardStation, status, waitFor } from '../../support/master-card.js';
import { requirePcscPeer, type VirtualCard } from '../../support/pcsc.js';

requirePcscPeer();

const OPERATOR = 'Harbor-Violet-46-Quill';
/** Generous for a loaded 2-core machine: a login hashes in ~0.1 s; a frozen daemon never answers. */
const LOGIN_BOUND_MS = 2000;
const UNREADABLE = 'a card was placed but its UID could not be read';

t.test('mute cards on both readers: logins answer within a bound; the readers recover when the cards leave', async (t) => {
  const { env, peer } = await cardStation(t, () => ({
    // The default argon2 cost (OWASP's minimum), so a login really runs a hash on the pool.
    argon2: { memoryKiB: 19_456, timeCost: 2, parallelism: 1 },
    rfid: { dropoutGraceMs: 500, maxRetryMs: 500, uidTimeoutMs: 500, apduTimeoutMs: 500 },
  }));
  const set = await cli(env, ['passwd', 'operator', '--stdin'], `${DEFAULTS.operator}\n${OPERATOR}\n`);
  t.equal(set.code, 0, set.stderr);

  /** One login's latency in ms, or null when it did not answer within 10 s (the call is abandoned). */
  const login = async (): Promise<number | null> => {
    const started = performance.now();
    try {
      await call(env.socket, 'login', { role: 'operator', password: OPERATOR }, { timeoutMs: 10_000 });
      return performance.now() - started;
    } catch {
      return null;
    }
  };
  const logins = async (n: number): Promise<Array<number | null>> => {
    const out: Array<number | null> = [];
    for (let i = 0; i < n; i++) out.push(await login());
    return out;
  };
  const fmt = (ms: Array<number | null>): string => ms.map((m) => (m === null ? 'none' : m.toFixed(0))).join(', ');

  const idle = await logins(4);
  t.comment(`login ms, no card: ${fmt(idle)}`);

  // A mute card on each reader, placed one after the other: each stalls its GET DATA for good.
  const cards: VirtualCard[] = [];
  cards.push(await peer.placeCard('04112233445566', { slot: 0, mute: true }));
  await sleep(1500);
  cards.push(await peer.placeCard('04998877665544', { slot: 1, mute: true }));
  await sleep(1500);
  // Four logins at once as well: both hash slots busy beside the stalled card calls.
  const stalled = [...(await logins(4)), ...(await Promise.all([login(), login(), login(), login()]))];
  t.comment(`login ms, both readers stalled: ${fmt(stalled)}`);
  t.ok(
    stalled.every((ms) => ms !== null && ms < LOGIN_BOUND_MS * 2),
    `every login answered while both cards stall (sequential < ${LOGIN_BOUND_MS} ms each expected): ${fmt(stalled)}`,
  );
  t.ok(
    stalled.slice(0, 4).every((ms) => ms !== null && ms < LOGIN_BOUND_MS),
    'sequential logins within the bound',
  );
  const st = await Promise.race([status(env), sleep(10_000).then(() => null)]);
  t.ok(st !== null, 'status answers while the cards stall');

  // The cards leave; cards that answer are read on both readers again.
  for (const card of cards) await card.remove();
  await waitFor(env, 'readers empty', (x) => x.rfid.readers.every((r) => !r.cardPresent), 10_000);
  await sleep(700);
  const unreadableBefore = (await allLogText(env)).split(UNREADABLE).length;
  const good = [await peer.placeCard('04A1A2A3A4A5A6', { slot: 0 }), await peer.placeCard('04B1B2B3B4B5B6', { slot: 1 })];
  await waitFor(env, 'both cards present', (x) => x.rfid.readers.every((r) => r.cardPresent), 10_000);
  await sleep(1000);
  t.equal((await allLogText(env)).split(UNREADABLE).length, unreadableBefore, 'both readers read their next card');
  for (const card of good) await card.remove();
  const after = await logins(2);
  t.ok(
    after.every((ms) => ms !== null && ms < LOGIN_BOUND_MS),
    `logins after recovery: ${fmt(after)}`,
  );
});
