// A hostile local client on the control socket, guessing: no method says anything about its
// other inputs before the secret it takes is found right, every wrong PUK costs a try and is
// recorded, and a flood of wrong PUKs is throttled while a well-behaved client logs in.
// tap: serial (a login's answer time during a flood: files beside it would be measured too)
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import t from 'tap';
import { call, DaemonError } from '../../../agent/wire/client.js';
import type { Method, ParamsIn } from '../../../agent/wire/protocol.js';
import { cleanup, cli, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon, statusJson, type Env } from '../../support/harness.js';

const MFR = 'Quartz-Fjord-91-Lantern';
const PUK = 'K7#pl-Rx9!-4mQz';
const WRONG_PUK = 'Not-The-PUK-99';
const OPERATOR_RECENT = 'Ember-Walrus-58-Ticket';
const OPERATOR_CURRENT = 'Cobalt-Harness-73-Drift';
/** A new password for the operator that every rule accepts. */
const STRONG = 'Harbor-Violet-46-Quill';

/** New passwords a guesser would like an oracle on, and ones every rule refuses for other reasons. */
const NEW_PASSWORDS: Record<string, string> = {
  current: OPERATOR_CURRENT,
  recent: OPERATOR_RECENT,
  default: DEFAULTS.operator,
  weak: 'Password1!',
  tooShort: 'abc',
  tooLong: 'x'.repeat(200),
  strong: STRONG,
};

/** The error body of an answer as it came over the socket (`{ code: 'ok' }` for a result). */
type Answer = Record<string, unknown> & { code: string };

/** The daemon's answer to one request as a client sees it on the socket. */
async function answer<M extends Method>(env: Env, method: M, params: ParamsIn<M>): Promise<Answer> {
  try {
    await call(env.socket, method, params, { timeoutMs: 30_000 });
    return { code: 'ok' };
  } catch (err) {
    if (!(err instanceof DaemonError)) throw err;
    return { ...err.body, code: err.code };
  }
}

async function securityEvents(env: Env): Promise<string[]> {
  const r = await cli(env, ['events', '--json', '--limit', '10000']);
  if (r.code !== 0) throw new Error(`events failed (${r.code}): ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
}
const count = (events: string[], ...parts: string[]): number => events.filter((l) => parts.every((p) => l.includes(p))).length;

async function ok(env: Env, args: string[], stdin: string): Promise<void> {
  const r = await cli(env, args, stdin);
  if (r.code !== 0) throw new Error(`ccguard ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
}

/** Manufacturer off its default, a PUK set, and an operator with a current and a recent password. */
async function prepare(env: Env): Promise<void> {
  await ok(env, ['passwd', 'manufacturer', '--stdin'], `${DEFAULTS.manufacturer}\n${MFR}\n`);
  await ok(env, ['puk', 'set', '--stdin'], `${MFR}\n${PUK}\n`);
  await ok(env, ['passwd', 'operator', '--stdin'], `${DEFAULTS.operator}\n${OPERATOR_RECENT}\n`);
  await ok(env, ['passwd', 'operator', '--stdin'], `${OPERATOR_RECENT}\n${OPERATOR_CURRENT}\n`);
}

async function setUp(t: { teardown(fn: () => unknown): void }, overrides: Record<string, unknown>): Promise<Env> {
  const env = await makeEnv(overrides);
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  await prepare(env);
  return env;
}

// Enough free failures that no throttling wait comes between the guesses compared here.
const NO_WAITS = { throttle: { freeFailures: 40 } };

t.test('a wrong PUK: the same answer whatever the new password; each attempt takes a try and is recorded', async (t) => {
  const env = await setUp(t, NO_WAITS);
  const before = count(await securityEvents(env), '"MaintenanceLoginFailed"', '"reason":"wrongPuk"');
  let triesLeft = 10;
  for (const [name, newPassword] of Object.entries(NEW_PASSWORDS)) {
    const a = await answer(env, 'puk.reset', { puk: WRONG_PUK, newPassword });
    triesLeft--;
    t.strictSame(a, { code: 'refused', message: `wrong PUK; ${triesLeft} tries left before it blocks` }, `new password ${name}: only "wrong PUK"`);
    t.equal((await statusJson(env)).puk.triesLeft, triesLeft, `new password ${name}: a try taken`);
    const events = await securityEvents(env);
    t.equal(count(events, '"MaintenanceLoginFailed"', '"reason":"wrongPuk"'), before + 10 - triesLeft, `new password ${name}: recorded`);
  }
  t.equal(triesLeft, 3);

  // A right PUK restores the tries; then the same through the CLI (exit code and message).
  t.equal((await answer(env, 'puk.reset', { puk: PUK, newPassword: OPERATOR_CURRENT })).code, 'refused');
  t.equal((await statusJson(env)).puk.triesLeft, 10);
  const viaCli: string[] = [];
  for (const name of ['current', 'recent', 'weak']) {
    const r = await cli(env, ['puk', 'reset', '--stdin'], `${WRONG_PUK}\n${NEW_PASSWORDS[name]}\n`);
    t.equal(r.code, 1, `CLI, new password ${name}: exit 1`);
    viaCli.push(r.stderr.replace(/\d+ tries left/, 'N tries left'));
  }
  t.equal(new Set(viaCli).size, 1, `the CLI prints the same for each: ${viaCli[0]?.trim()}`);
  t.match(viaCli[0], /wrong PUK; N tries left before it blocks/);
  t.notMatch(viaCli[0], /new password|notRecent|strength|refused:/);
  t.equal((await statusJson(env)).puk.triesLeft, 7);
});

t.test('a right PUK with a refused new password gives the try back; the PUK still works', async (t) => {
  const env = await setUp(t, NO_WAITS);
  t.equal((await answer(env, 'puk.reset', { puk: WRONG_PUK, newPassword: STRONG })).code, 'refused');
  t.equal((await statusJson(env)).puk.triesLeft, 9);
  const refusals: Array<[string, string]> = [
    ['current', 'notRecent'],
    ['recent', 'notRecent'],
    ['default', 'notDefault'],
    ['weak', 'strength'],
    ['tooShort', 'minLength'],
    ['tooLong', 'maxLength'],
  ];
  for (const [name, rule] of refusals) {
    const a = await answer(env, 'puk.reset', { puk: PUK, newPassword: NEW_PASSWORDS[name] as string });
    t.equal(a.code, 'refused', `right PUK, new password ${name}: refused`);
    t.ok((a.rules as string[] | undefined)?.includes(rule), `names the rule ${rule}: ${JSON.stringify(a.rules)}`);
    t.match(a.message, /^new password refused: /);
    t.same((await statusJson(env)).puk, { set: true, triesLeft: 10, blocked: false }, 'the try is back (a right PUK restores the counter)');
  }
  const events = await securityEvents(env);
  t.equal(count(events, '"MaintenanceLoginAccepted"', '"resetPasswordPuk"', '"newPassword":"refused"'), refusals.length, 'each right PUK recorded');
  t.equal(count(events, '"ReconfigurationOfSecurityParameters"', '"by":"resetPasswordPuk"'), 0, 'no password changed');
  t.equal((await cli(env, ['login', 'operator', '--stdin'], `${OPERATOR_CURRENT}\n`)).code, 0, 'the operator password is unchanged');

  const r = await cli(env, ['puk', 'reset', '--stdin'], `${PUK}\n${STRONG}\n`);
  t.equal(r.code, 0, `the PUK still works: ${r.stderr}`);
  t.equal((await cli(env, ['login', 'operator', '--stdin'], `${STRONG}\n`)).code, 0);
  t.same((await statusJson(env)).puk, { set: true, triesLeft: 10, blocked: false });
});

t.test('passwd, passwdAs, log-password set, puk set, policy set: a wrong secret says nothing about the rest', async (t) => {
  const env = await setUp(t, NO_WAITS);
  const same = (answers: Record<string, Answer>, expected: Answer, what: string): void => {
    for (const [name, a] of Object.entries(answers)) t.strictSame(a, expected, `${what}, ${name}`);
  };

  const passwd: Record<string, Answer> = {};
  for (const [name, newPassword] of Object.entries(NEW_PASSWORDS)) {
    passwd[name] = await answer(env, 'passwd', { role: 'operator', currentPassword: 'Wrong-Current-11', newPassword });
  }
  same(passwd, { code: 'refused', message: 'wrong password for operator' }, 'passwd with a wrong current password');
  // Five failures start the operator's wait in the default rules; here the free failures are many.
  t.equal((await statusJson(env)).roles.operator.failures, Object.keys(NEW_PASSWORDS).length, 'each counted as a failed login');

  const passwdAs: Record<string, Answer> = {};
  for (const [name, newPassword] of Object.entries(NEW_PASSWORDS)) {
    passwdAs[name] = await answer(env, 'passwdAs', { role: 'operator', as: 'manufacturer', asPassword: 'Wrong-Mfr-Pass-12', newPassword });
  }
  same(passwdAs, { code: 'refused', message: 'wrong password for manufacturer' }, 'passwdAs with a wrong manufacturer password');

  const logPasswords = { valid: 'Log-Password-Long-2024', tooShort: 'short', empty: ' ' };
  const logPassword: Record<string, Answer> = {};
  for (const [name, value] of Object.entries(logPasswords)) {
    logPassword[name] = await answer(env, 'logPassword.set', { password: 'Wrong-Mfr-Pass-12', logPassword: value });
  }
  same(logPassword, { code: 'refused', message: 'wrong password for manufacturer' }, 'log-password set with a wrong manufacturer password');

  const puks = { valid: 'Another-PUK-77', tooShort: 'abc', edgeSpace: ' padded-puk-1', nonAscii: 'pässwort-123' };
  const pukSet: Record<string, Answer> = {};
  for (const [name, value] of Object.entries(puks)) pukSet[name] = await answer(env, 'puk.set', { password: 'Wrong-Mfr-Pass-12', puk: value });
  same(pukSet, { code: 'refused', message: 'wrong password for manufacturer' }, 'puk set with a wrong manufacturer password');

  const policy = {
    strongOff: await answer(env, 'policy.set', { password: 'Wrong-Mfr-Pass-12', enforceStrong: false }),
    strongOn: await answer(env, 'policy.set', { password: 'Wrong-Mfr-Pass-12', enforceStrong: true }),
  };
  same(policy, { code: 'refused', message: 'wrong password for manufacturer' }, 'policy set with a wrong manufacturer password');

  const mfrAttempts = Object.keys(NEW_PASSWORDS).length + Object.keys(logPasswords).length + Object.keys(puks).length + 2;
  const s = await statusJson(env);
  t.equal(s.roles.manufacturer.failures, mfrAttempts, 'every one counted as a failed manufacturer login');
  t.same(s.puk, { set: true, triesLeft: 10, blocked: false }, 'the PUK untouched');
  t.equal(count(await securityEvents(env), '"MaintenanceLoginFailed"', '"role":"manufacturer"', '"wrongPassword"'), mfrAttempts);

  // With the right manufacturer password the rules speak (they reveal nothing secret).
  const short = await answer(env, 'logPassword.set', { password: MFR, logPassword: 'short' });
  t.equal(short.code, 'refused');
  t.match(short.message, /^Log Password refused: /);
  const badPuk = await answer(env, 'puk.set', { password: MFR, puk: 'abc' });
  t.match(badPuk.message, /^PUK refused: a PUK needs at least 8 characters/);
  t.same(badPuk.rules, ['minLength']);
});

/** Sends `lines` in one write on one connection and resolves with each answer's error code ('ok' for a result). */
function pipeline(socketPath: string, lines: string[], timeoutMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const codes: string[] = [];
    let buffered = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`only ${codes.length} of ${lines.length} answers within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('connect', () => socket.write(lines.join('')));
    socket.on('data', (data: Buffer) => {
      buffered += data.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const message = JSON.parse(buffered.slice(0, nl)) as { ok: boolean; error?: { code: string } };
        buffered = buffered.slice(nl + 1);
        codes.push(message.ok ? 'ok' : (message.error?.code ?? '?'));
      }
      if (codes.length >= lines.length) {
        clearTimeout(timer);
        socket.destroy();
        resolve(codes);
      }
    });
  });
}

async function timedLogin(env: Env, password: string): Promise<number> {
  const t0 = performance.now();
  await call(env.socket, 'login', { role: 'operator', password }, { timeoutMs: 30_000 });
  return performance.now() - t0;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

t.test('1,000 wrong PUKs pipelined on one connection: throttled, and an operator login stays fast', async (t) => {
  // The agent's real argon2 cost and throttling rules: the flood's price is what is measured.
  const env = await makeEnv({ argon2: { memoryKiB: 19 * 1024, timeCost: 2, parallelism: 1 } });
  t.teardown(() => cleanup(env));
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  t.teardown(() => daemon.stop());
  await prepare(env);

  const idle: number[] = [];
  for (let i = 0; i < 5; i++) idle.push(await timedLogin(env, OPERATOR_CURRENT));
  const passwords = Object.values(NEW_PASSWORDS);
  const lines = Array.from(
    { length: 1000 },
    (_, i) =>
      `${JSON.stringify({ v: 1, id: i, method: 'puk.reset', params: { puk: `Wrong-PUK-${i}`, newPassword: passwords[i % passwords.length] }, origin: 'flood' })}\n`,
  );
  const flood = pipeline(env.socket, lines, 60_000);
  const during: number[] = [];
  for (let i = 0; i < 5; i++) during.push(await timedLogin(env, OPERATOR_CURRENT));
  const codes = await flood;

  t.equal(codes.length, 1000, 'every request of the flood answered');
  t.equal(codes.filter((c) => c === 'ok').length, 0);
  const checked = codes.filter((c) => c === 'refused').length;
  t.ok(checked >= 1 && checked <= 5, `only the free failures were checked (${checked})`);
  t.equal(codes.filter((c) => c === 'throttled').length, 1000 - checked, 'the rest refused unchecked: throttled (exit 4)');
  t.same((await statusJson(env)).puk, { set: true, triesLeft: 10 - checked, blocked: false }, 'a try for each checked PUK only');
  t.equal(count(await securityEvents(env), '"MaintenanceLoginFailed"', '"reason":"wrongPuk"'), checked);

  const worst = Math.max(...during);
  t.comment(`operator login idle median ${median(idle).toFixed(1)} ms; during the flood median ${median(during).toFixed(1)} ms, worst ${worst.toFixed(1)} ms`);
  t.ok(worst < 2000, `a login during the flood is answered within 2 s (${worst.toFixed(0)} ms)`);
  t.equal(daemon.proc.exitCode, null, 'the daemon is alive');
  t.ok((await timedLogin(env, OPERATOR_CURRENT)) < 2000, 'and answers after it');
});
