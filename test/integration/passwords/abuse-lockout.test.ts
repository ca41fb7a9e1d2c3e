// Hostile clients, second round (#1, #2): a stranger on the socket (uid 65534, the socket's group)
// guesses passwords and PUKs at the throttle's pace; root, the rightful user on the controller,
// is never locked out by it, and the PUK keeps working for root.
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { ATTACKER_UID, cliAs, nodeAs, openToOtherUids } from '../../support/attacker.js';
import { cleanup, cli, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon, statusJson, type Env } from '../../support/harness.js';

const STRONG = { manufacturer: 'Mfr-Quartz-Nimbus-41!', operator: 'Op-Basalt-Harbor-73!' } as const;
const PUK = 'Puk-Right-2024-x9';
/**
 * Short waits, so that the stranger keeps guessing "each time the wait ends" within the test, yet
 * longer than a CLI takes to start, so that its throttling shows.
 */
const THROTTLE = { baseDelayMs: 2000, maxDelayMs: 8000 };

async function station(t: Test, throttle: Record<string, number>): Promise<{ env: Env; gid: number }> {
  const env = await makeEnv({ throttle: { ...THROTTLE, ...throttle } });
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  t.teardown(async () => {
    await daemon.stop();
    await cleanup(env);
  });
  for (const role of ['manufacturer', 'operator'] as const) {
    const r = await cli(env, ['passwd', role, '--stdin'], `${DEFAULTS[role]}\n${STRONG[role]}\n`);
    if (r.code !== 0) throw new Error(`passwd ${role}: ${r.stderr}`);
  }
  return { env, gid: await openToOtherUids(env) };
}

/** One guess by `uid` once its own wait is over (bounded: a throttled answer is retried for at most 30 s). */
async function guessWhenAllowed(env: Env, uid: number, gid: number, args: string[], stdin: string): Promise<number> {
  for (let i = 0; i < 60; i++) {
    const r = await cliAs(uid, gid, env, args, stdin);
    if (r.code !== 4 || !/wait \d+ s/.test(r.stderr)) return r.code;
    await sleep(500);
  }
  return 4;
}

t.test("#1: a stranger's guesses throttle the stranger, never root's right password", async (t) => {
  const { env, gid } = await station(t, { roleCeiling: 1000 });
  // Five free failures, then waits of 2 s and 4 s: after the seventh the stranger waits 8 s.
  for (let round = 1; round <= 7; round++) {
    for (const role of ['operator', 'manufacturer'] as const) {
      const code = await guessWhenAllowed(env, ATTACKER_UID, gid, ['login', role, '--stdin'], `Wrong-Guess-${round}!\n`);
      t.equal(code, 1, `stranger's guess ${round} for ${role} refused`);
    }
  }
  const now = await cliAs(ATTACKER_UID, gid, env, ['login', 'operator', '--stdin'], 'Wrong-Guess-8!\n');
  t.equal(now.code, 4, 'the stranger itself is throttled');
  for (const role of ['operator', 'manufacturer'] as const) {
    const r = await cli(env, ['login', role, '--stdin'], `${STRONG[role]}\n`);
    t.equal(r.code, 0, `root's right ${role} password gets in (${r.stderr.trim()})`);
  }
  const status = await statusJson(env);
  t.equal(status.roles.operator.throttled, false, 'root is not throttled');
  t.ok(status.roles.operator.failures >= 7, `the stranger's failures stay counted (${status.roles.operator.failures})`);
  const again = await cliAs(ATTACKER_UID, gid, env, ['login', 'operator', '--stdin'], 'Wrong-Guess-10!\n');
  t.equal(again.code, 4, "root's success gives the stranger no fresh attempts");
});

t.test('#1: past the role-wide ceiling every untrusted source waits and a critical event is raised; root still gets in', async (t) => {
  const { env, gid } = await station(t, { roleCeiling: 6 });
  // Two strangers, three guesses each: within each one's free failures, six together.
  for (const uid of [ATTACKER_UID, ATTACKER_UID - 1]) {
    for (let i = 1; i <= 3; i++) t.equal((await cliAs(uid, gid, env, ['login', 'user', '--stdin'], `Wrong-Guess-${i}!\n`)).code, 1);
  }
  const third = await cliAs(ATTACKER_UID - 2, gid, env, ['login', 'user', '--stdin'], `${DEFAULTS.user}\n`);
  t.equal(third.code, 4, `a third, fresh source waits role-wide even with the right password (${third.stderr.trim()})`);
  const root = await cli(env, ['login', 'user', '--stdin'], `${DEFAULTS.user}\n`);
  t.equal(root.code, 3, `root gets in (must change: a default) (${root.stderr.trim()})`);
  const events = (await cli(env, ['events', '--json', '--limit', '200'])).stdout;
  t.match(events, /"event":"GuessingCeilingReached"[^\n]*"severity":"critical"/, 'a critical security event');
});

t.test('#2: a stranger blocks its own share of the PUK; the PUK still works for root', async (t) => {
  const { env, gid } = await station(t, { baseDelayMs: 200, maxDelayMs: 400 });
  t.equal((await cli(env, ['puk', 'set', '--stdin'], `${STRONG.manufacturer}\n${PUK}\n`)).code, 0);
  let code: number;
  for (let i = 1; i <= 10; i++) {
    code = await guessWhenAllowed(env, ATTACKER_UID, gid, ['puk', 'reset', '--stdin'], `Puk-Wrong-${i}-abcdef\nOp-Granite-Fjord-55!\n`);
    t.equal(code, i < 10 ? 1 : 4, `stranger's wrong PUK ${i}`);
  }
  const blocked = await cliAs(ATTACKER_UID, gid, env, ['puk', 'reset', '--stdin'], `${PUK}\nOp-Granite-Fjord-55!\n`);
  t.equal(blocked.code, 4, 'for the stranger the PUK is blocked, even the right one');
  t.match(blocked.stderr, /blocked/);
  const status = await statusJson(env);
  t.same(status.puk, { set: true, triesLeft: 10, blocked: false }, 'root sees its own ten tries');
  const r = await cli(env, ['puk', 'reset', '--stdin'], `${PUK}\nOp-Granite-Fjord-55!\n`);
  t.equal(r.code, 0, `root's right PUK sets the operator password (${r.stderr.trim()})`);
  t.equal((await cli(env, ['login', 'operator', '--stdin'], 'Op-Granite-Fjord-55!\n')).code, 0);
});

/** A front end (a web console) as uid `uid`: sends each request in turn, naming the client it acts for; the answers' codes. */
async function frontEnd(env: Env, uid: number, gid: number, requests: Array<{ client: string; method: string; params: object }>): Promise<string[]> {
  const script = `
    import { connect } from 'node:net';
    const [socket, list] = process.argv.slice(-2);
    const codes = [];
    for (const r of JSON.parse(list)) {
      codes.push(await new Promise((resolve) => {
        const s = connect(socket, () => s.write(JSON.stringify({ v: 1, id: 1, method: r.method, params: r.params, origin: 'console', client: r.client }) + '\\n'));
        let text = '';
        s.on('data', (d) => { text += d; if (text.includes('\\n')) { s.destroy(); const a = JSON.parse(text); resolve(a.ok ? 'ok' : a.error.code); } });
        s.on('error', (e) => resolve('unreachable: ' + e.message));
      }));
    }
    console.log(JSON.stringify(codes));`;
  const r = await nodeAs(uid, gid, script, [env.socket, JSON.stringify(requests)]);
  if (r.code !== 0) throw new Error(`front end failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[];
}

t.test("#1: behind a front end, one browser's guesses throttle that browser, not another; naming new clients gains nothing", async (t) => {
  const { env, gid } = await station(t, { roleCeiling: 8 });
  const guess = (client: string, i: number) => ({ client, method: 'login', params: { role: 'operator', password: `Wrong-Guess-${i}!` } });
  const codes = await frontEnd(env, ATTACKER_UID, gid, [
    ...Array.from({ length: 6 }, (_, i) => guess('192.0.2.66', i)),
    { client: '192.0.2.10', method: 'login', params: { role: 'operator', password: STRONG.operator } },
  ]);
  t.same(codes.slice(0, 5), Array(5).fill('refused'), "the guesser's five free failures");
  t.equal(codes[5], 'throttled', 'then the guessing browser waits');
  t.equal(codes[6], 'ok', 'another browser behind the same front end logs in');
  // A new client name for every guess: past the peer's share (8 failures of all its clients) each new one waits.
  const fresh = await frontEnd(
    env,
    ATTACKER_UID,
    gid,
    Array.from({ length: 4 }, (_, i) => guess(`198.51.100.${i}`, 10 + i)),
  );
  t.same(fresh.slice(0, 3), ['refused', 'refused', 'refused'], 'three more checked: the peer has used 8');
  t.equal(fresh[3], 'throttled', 'the ninth, from yet another new client, waits for the peer');
  t.equal((await cli(env, ['login', 'operator', '--stdin'], `${STRONG.operator}\n`)).code, 0, 'root gets in');
  const events = (await cli(env, ['events', '--json', '--limit', '100'])).stdout;
  t.match(events, /"client":"192\.0\.2\.66"[^\n]*"peer":\{"uid":65534/, 'events name the client beside the kernel peer');
});
