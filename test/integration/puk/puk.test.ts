import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { call } from '../../../agent/wire/client.js';
import { cleanup, cli, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon, statusJson, allLogText, type Env } from '../../support/harness.js';

const MFR = 'Quartz-Fjord-91-Lantern';
const PUK = 'K7#pl-Rx9!-4mQz';

// The block rule on its own: wrong PUKs are also throttled from the 5th on (daemon-throttle and
// abuse-oracle tests); here the free failures cover all ten tries so that no wait comes first.
const BLOCK_ONLY = { throttle: { freeFailures: 10 } };

async function setUp(t: { teardown(fn: () => unknown): void }, overrides: Record<string, unknown> = {}): Promise<Env> {
  const env = await makeEnv(overrides);
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  return env;
}
const setPuk = (env: Env, puk = PUK) => cli(env, ['puk', 'set', '--stdin'], `${MFR}\n${puk}\n`);
const reset = (env: Env, puk: string, password: string) => cli(env, ['puk', 'reset', '--stdin'], `${puk}\n${password}\n`);
async function manufacturerReady(env: Env): Promise<void> {
  const r = await cli(env, ['passwd', 'manufacturer', '--stdin'], `${DEFAULTS.manufacturer}\n${MFR}\n`);
  if (r.code !== 0) throw new Error(r.stderr);
}

t.test('no PUK set: puk reset says so and consumes nothing', async (t) => {
  const env = await setUp(t);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  const r = await reset(env, PUK, 'Harbor-Violet-46-Quill');
  t.equal(r.code, 1);
  t.match(r.stderr, /no Reset Password PUK is set/);
  t.same((await statusJson(env)).puk, { set: false, triesLeft: 10, blocked: false });
});

t.test('set, format refusals, a correct reset, and a weak password that costs no try', async (t) => {
  const env = await setUp(t);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  await manufacturerReady(env);
  const short = await setPuk(env, 'abc123');
  t.equal(short.code, 1);
  t.match(short.stderr, /PUK refused: a PUK needs at least 8 characters/);
  const edge = await setPuk(env, ' padded-puk-1');
  t.match(edge.stderr, /must not begin or end with a space/);
  const notMfr = await cli(env, ['puk', 'set', '--stdin'], `${DEFAULTS.operator}\n${PUK}\n`);
  t.equal(notMfr.code, 1, 'only with the manufacturer password');
  t.equal((await setPuk(env)).code, 0);
  t.same((await statusJson(env)).puk, { set: true, triesLeft: 10, blocked: false });

  // The operator forgot the password after some failed logins.
  for (let i = 0; i < 3; i++) await cli(env, ['login', 'operator', '--stdin'], 'Forgotten-Pass-1\n');
  t.equal((await statusJson(env)).roles.operator.failures, 3);
  const weak = await reset(env, PUK, 'Password1!');
  t.equal(weak.code, 1);
  t.match(weak.stderr, /new password refused: .*too easy to guess/);
  t.equal((await statusJson(env)).puk.triesLeft, 10, 'a refused password costs no try');
  const wrong = await reset(env, 'Not-The-PUK-99', 'Harbor-Violet-46-Quill');
  t.equal(wrong.code, 1);
  t.match(wrong.stderr, /wrong PUK; 9 tries left/);
  const ok = await reset(env, PUK, 'Harbor-Violet-46-Quill');
  t.equal(ok.code, 0, ok.stderr);
  const s = await statusJson(env);
  t.same(s.puk, { set: true, triesLeft: 10, blocked: false }, 'a right PUK restores the tries');
  t.same([s.roles.operator.isDefault, s.roles.operator.mustChange, s.roles.operator.failures], [false, false, 0], 'must-change and throttling cleared');
  t.equal((await cli(env, ['login', 'operator', '--stdin'], 'Harbor-Violet-46-Quill\n')).code, 0);
  const logs = await allLogText(env);
  t.notOk(logs.includes(PUK), 'the PUK is never logged');
  t.match(logs, /"change":"resetPasswordPuk"/);
  t.match(logs, /"MaintenanceLoginFailed".*"method":"resetPasswordPuk".*"triesLeft":9/);
});

t.test('10 wrong PUKs block it; the block survives restarts and kill -9; the manufacturer unblocks', async (t) => {
  const env = await setUp(t, BLOCK_ONLY);
  let daemon = await startDaemon(env);
  await manufacturerReady(env);
  t.equal((await setPuk(env)).code, 0);
  let last = 10;
  for (let i = 1; i <= 10; i++) {
    // Every third attempt the daemon is killed at a random moment of the attempt.
    const attempt = call(env.socket, 'puk.reset', { puk: `Wrong-PUK-${i}00`, newPassword: 'Harbor-Violet-46-Quill' }).catch((e: { code: string }) => e.code);
    if (i % 3 === 0) {
      await sleep(Math.random() * 300);
      await daemon.kill9();
      await attempt;
      daemon = await startDaemon(env);
    } else {
      // The last try blocks (exit 4); earlier ones are refused with the tries left.
      t.equal(await attempt, last > 1 ? 'refused' : 'throttled', `wrong PUK ${i} with ${last} tries left`);
    }
    const now = (await statusJson(env)).puk.triesLeft;
    t.ok(now <= last, `tries never come back (${last} → ${now})`);
    last = now;
    if (now === 0) break;
  }
  // Fill up to ten with plain wrong attempts where a kill landed before a try was taken.
  while ((await statusJson(env)).puk.triesLeft > 0) await reset(env, 'Wrong-PUK-000', 'Harbor-Violet-46-Quill');
  t.same((await statusJson(env)).puk, { set: true, triesLeft: 0, blocked: true });
  const blocked = await reset(env, PUK, 'Harbor-Violet-46-Quill');
  t.equal(blocked.code, 4, 'blocked: even the right PUK is refused, exit 4');
  t.match(blocked.stderr, /blocked .*"ccguard puk set"/);
  await daemon.kill9();
  daemon = await startDaemon(env);
  t.same((await statusJson(env)).puk, { set: true, triesLeft: 0, blocked: true }, 'still blocked after kill -9 and restart');
  t.equal((await setPuk(env)).code, 0, 'the manufacturer sets it again');
  t.same((await statusJson(env)).puk, { set: true, triesLeft: 10, blocked: false });
  t.equal((await reset(env, PUK, 'Harbor-Violet-46-Quill')).code, 0);
  const events = await cli(env, ['events', '--json', '--limit', '1000']);
  t.match(events.stdout, /"event":"ResetPasswordPukBlocked"/);
  await daemon.stop();
});

t.test('concurrent wrong attempts from many clients take at most 10 tries in total', async (t) => {
  const env = await setUp(t, BLOCK_ONLY);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  await manufacturerReady(env);
  t.equal((await setPuk(env)).code, 0);
  // One wrong attempt before the burst (a wrong PUK no longer vets the new password: nothing to warm).
  await reset(env, 'Wrong-PUK-warm', 'Harbor-Violet-46-Quill');
  const results = await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      call(env.socket, 'puk.reset', { puk: `Wrong-PUK-${i}xx`, newPassword: 'Harbor-Violet-46-Quill' }).then(
        () => 'ok',
        (e: { code: string }) => e.code,
      ),
    ),
  );
  t.equal(results.filter((r) => r === 'ok').length, 0);
  t.equal(results.filter((r) => r === 'refused' || r === 'throttled').length, 40, 'each refused (wrong) or blocked (exit 4)');
  t.same((await statusJson(env)).puk, { set: true, triesLeft: 0, blocked: true });
  const events = await cli(env, ['events', '--json', '--limit', '10000']);
  // Attempts refused while the last tries were being checked are recorded as throttled, not as checked.
  const checked = events.stdout.split('\n').filter((l) => l.includes('"MaintenanceLoginFailed"') && l.includes('"reason":"wrongPuk"'));
  t.equal(checked.length, 10, 'the PUK was checked exactly 10 times in all (1 before the burst, 9 in it)');
});
