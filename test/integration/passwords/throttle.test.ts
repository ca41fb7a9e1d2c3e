// tap: serial (600 ms waits against the wall clock: a CLI started beside other files takes longer)
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { call } from '../../../agent/wire/client.js';
import type { StatusReport } from '../../../agent/wire/status-report.js';
import { cleanup, cli, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon } from '../../support/harness.js';

// Short waits for the test: 600 ms doubling. Timed attempts go straight to the socket;
// a CLI process takes longer than that to start.
const BASE_MS = 600;
const env = await makeEnv({ throttle: { baseDelayMs: BASE_MS, maxDelayMs: 60_000 } });
await provisionWithDefaults(env);
t.teardown(() => cleanup(env));

/** Status over the socket: a CLI process may take longer to start than the wait being checked lasts. */
const statusNow = (): Promise<StatusReport> => call(env.socket, 'status', {});

/** Error code of a login over the socket ('ok' on success). */
async function attempt(password: string): Promise<string> {
  try {
    await call(env.socket, 'login', { role: 'user', password });
    return 'ok';
  } catch (err) {
    return (err as { code: string }).code;
  }
}

t.test('five free failures, then a doubling wait; attempts inside it are not checked', async (t) => {
  let daemon = await startDaemon(env);
  for (let i = 1; i <= 5; i++) t.equal(await attempt('Wrong-Password-1'), 'refused', `failure ${i}`);
  // Inside the wait even the right password is refused without being checked.
  t.equal(await attempt(DEFAULTS.user), 'throttled');
  let s = await statusNow();
  t.equal(s.roles.user.failures, 5, 'a refused-in-wait attempt does not count as a failure');
  t.equal(s.roles.user.throttled, true);

  await sleep(BASE_MS + 50);
  t.equal(await attempt('Wrong-Password-1'), 'refused', 'after the wait the password is checked again');
  const t0 = performance.now();
  let refusedFor = 0;
  let result: string;
  while ((result = await attempt('Wrong-Password-1')) === 'throttled') {
    refusedFor = performance.now() - t0;
    await sleep(25);
  }
  t.equal(result, 'refused');
  t.ok(refusedFor >= BASE_MS * 2 - 100 && refusedFor < BASE_MS * 2 + 500, `the 2nd wait is twice the 1st (${Math.round(refusedFor)} ms)`);
  t.equal((await statusNow()).roles.user.failures, 7);

  const viaCli = await cli(env, ['login', 'user', '--stdin'], `${DEFAULTS.user}\n`);
  t.equal(viaCli.code, 4, 'the CLI exits 4');
  t.match(viaCli.stderr, /too many failed attempts for user: wait [1-3] s before the next attempt/);

  // A restart does not reset the counter: the wait starts again from start-up.
  await daemon.stop();
  daemon = await startDaemon(env);
  s = await statusNow();
  t.equal(s.roles.user.failures, 7, 'failures survive a restart');
  t.equal(await attempt(DEFAULTS.user), 'throttled', 'throttled right after the restart');
  await sleep(BASE_MS * 4 + 50);
  t.equal(await attempt(DEFAULTS.user), 'mustChange', 'the right password is accepted (must change: a default)');
  t.equal((await statusNow()).roles.user.failures, 0, 'and resets the counter');
  await daemon.stop();
});

t.test('a burst of parallel guesses cannot exceed the free allowance', async (t) => {
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  const attempts = await Promise.allSettled(Array.from({ length: 40 }, () => call(env.socket, 'login', { role: 'installer', password: 'Wrong-Guess-123' })));
  const codes = attempts.map((a) => (a.status === 'rejected' ? (a.reason as { code: string }).code : 'ok'));
  const checked = codes.filter((c) => c === 'refused').length;
  t.equal(codes.filter((c) => c === 'ok').length, 0);
  t.ok(checked <= 5, `at most 5 guesses were checked (${checked})`);
  t.equal(checked + codes.filter((c) => c === 'throttled').length, 40);
  t.equal((await statusNow()).roles.installer.failures, checked, 'every checked guess was counted');
});

t.test('wrong PUKs are throttled like wrong passwords; a right PUK inside the wait is not checked', async (t) => {
  const MFR = 'Quartz-Fjord-91-Lantern';
  const PUK = 'K7#pl-Rx9!-4mQz';
  let daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  t.equal((await cli(env, ['passwd', 'manufacturer', '--stdin'], `${DEFAULTS.manufacturer}\n${MFR}\n`)).code, 0);
  t.equal((await cli(env, ['puk', 'set', '--stdin'], `${MFR}\n${PUK}\n`)).code, 0);
  const reset = async (puk: string, newPassword = 'Harbor-Violet-46-Quill'): Promise<string> => {
    try {
      await call(env.socket, 'puk.reset', { puk, newPassword });
      return 'ok';
    } catch (err) {
      return (err as { code: string }).code;
    }
  };
  for (let i = 1; i <= 5; i++) t.equal(await reset(`Wrong-PUK-${i}00`), 'refused', `wrong PUK ${i}`);
  t.equal(await reset('Wrong-PUK-600'), 'throttled', 'the 6th inside the wait');
  t.equal(await reset(PUK), 'throttled', 'even the right PUK, unchecked');
  t.equal((await statusNow()).puk.triesLeft, 5, 'attempts inside the wait take no try');

  await sleep(BASE_MS + 50);
  t.equal(await reset('Wrong-PUK-700'), 'refused', 'after the wait the PUK is checked again');
  t.equal(await reset(PUK), 'throttled', 'and the next wait is longer');
  t.equal((await statusNow()).puk.triesLeft, 4);

  // A restart does not hand out fresh attempts: the wait counts from start-up.
  await daemon.stop();
  daemon = await startDaemon(env);
  t.equal(await reset(PUK), 'throttled', 'throttled right after the restart');
  await sleep(BASE_MS * 2 + 50);
  t.equal(await reset(PUK), 'ok', 'the right PUK after the wait');
  t.same((await statusNow()).puk, { set: true, triesLeft: 10, blocked: false });
  t.equal(await reset('Wrong-PUK-800'), 'refused', 'a right PUK clears the throttling');
  const events = await cli(env, ['events', '--json', '--limit', '1000']);
  // Attempts refused unchecked are noise anyone can make: counted per interval, not a line each.
  const throttled = events.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { event: string; reason?: string; kinds?: Record<string, number> })
    .filter((e) => e.event === 'MaintenanceLoginFailed' && e.reason === 'throttled');
  t.equal(
    throttled.reduce((sum, e) => sum + (e.kinds?.resetPasswordPuk ?? 0), 0),
    4,
    'each refused-in-wait attempt counted',
  );
});
