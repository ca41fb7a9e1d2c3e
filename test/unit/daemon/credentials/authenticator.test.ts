import t from 'tap';
import { BlockedError, MustChangeError, RefusedError, ThrottledError } from '../../../../agent/common/errors.js';
import { Secret } from '../../../../agent/common/secret.js';
import { DEFAULTS } from '../../../support/harness.js';
import { inProcess, type InProcess } from '../../../support/in-process.js';

const STRONG = 'Quartz-Nimbus-4417!';
const PUK = 'Puk-Right-2024-x9';
const secret = (s: string): Secret => new Secret(s);

async function withPassword(env: InProcess, role: 'manufacturer' | 'operator', password: string): Promise<void> {
  const actor = await env.authenticator.password(role, secret(DEFAULTS[role]), true);
  await env.credentials.changeOwnPassword(actor, secret(password));
}

t.test('a right password gives an Actor; the event names the request context, not a parameter', async (t) => {
  const env = await inProcess();
  t.teardown(env.close);
  await withPassword(env, 'operator', STRONG);
  const actor = await env.as(4242, () => env.authenticator.password('operator', secret(STRONG), false), 'socket:web');
  t.same({ role: actor.role, via: actor.via }, { role: 'operator', via: 'password' });
  t.ok(Object.isFrozen(actor), 'an Actor cannot be edited into another role');
  const accepted = (await env.events()).filter((e) => e.event === 'MaintenanceLoginAccepted' && e.origin === 'socket:web');
  t.equal(accepted.length, 1);
  t.match(accepted[0], { role: 'operator', mustChange: false, peer: { uid: 4242 } });
});

t.test('a role on its default password gets in only to change it', async (t) => {
  const env = await inProcess();
  t.teardown(env.close);
  await t.rejects(env.authenticator.password('installer', secret(DEFAULTS.installer), false), MustChangeError);
  const actor = await env.authenticator.password('installer', secret(DEFAULTS.installer), true);
  t.equal(actor.role, 'installer');
});

t.test('a wrong password is counted durably before the answer; five free, then waits checked by the monotonic clock', async (t) => {
  const env = await inProcess({ throttle: { baseDelayMs: 1000 } });
  t.teardown(env.close);
  for (let i = 1; i <= 5; i++) {
    await t.rejects(env.authenticator.password('user', secret('Wrong-Guess-1'), true), /^wrong password for user/, `guess ${i}`);
    t.equal(env.store.current?.roles.user.failures, i, `failure ${i} stored before the answer`);
  }
  // Inside the wait even the right password is refused unchecked, and not counted.
  await t.rejects(env.authenticator.password('user', secret(DEFAULTS.user), true), ThrottledError);
  t.equal(env.store.current?.roles.user.failures, 5);
  t.ok(env.authenticator.waitMs('user', env.store.current!.roles.user) > 0, 'status shows the wait');
  env.clock.ms += 1001;
  const actor = await env.authenticator.password('user', secret(DEFAULTS.user), true);
  t.equal(actor.role, 'user');
  t.equal(env.store.current?.roles.user.failures, 0, 'a right password clears the count');
  const failed = (await env.events()).filter((e) => e.event === 'MaintenanceLoginFailed');
  t.equal(failed.filter((e) => e.reason === 'wrongPassword').length, 5);
  t.equal(failed.filter((e) => e.reason === 'throttled').length, 0, 'throttled refusals are noise, not in security.log');
});

t.test('parallel guesses cannot exceed the free allowance', async (t) => {
  const env = await inProcess({ throttle: { baseDelayMs: 60_000 } });
  t.teardown(env.close);
  const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => env.authenticator.password('user', secret('Wrong-Guess-2'), true)));
  const checked = outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof RefusedError && !(o.reason instanceof ThrottledError));
  t.equal(checked.length, 5, 'five checked');
  t.equal(outcomes.length - checked.length, 15, 'the rest throttled unchecked');
  t.equal(env.store.current?.roles.user.failures, 5);
});

t.test('PUK: tries taken before the check, a right PUK gives its try back, a refused new password costs nothing', async (t) => {
  const env = await inProcess({ throttle: { baseDelayMs: 1, maxDelayMs: 1 } });
  t.teardown(env.close);
  await t.rejects(env.authenticator.puk(secret(PUK)), /no Reset Password PUK is set/);
  await withPassword(env, 'manufacturer', STRONG);
  const manufacturer = await env.authenticator.password('manufacturer', secret(STRONG), false);
  await env.puk.set(manufacturer, secret(PUK));

  await t.rejects(env.authenticator.puk(secret('Puk-Wrong-2024-x9')), /wrong PUK; 9 tries left/);
  t.equal(env.puk.status().triesLeft, 9);
  const viaPuk = await env.authenticator.puk(secret(PUK));
  t.same({ role: viaPuk.role, via: viaPuk.via }, { role: 'operator', via: 'puk' });
  t.equal(env.puk.status().triesLeft, 10, 'a right PUK restores the counter');

  await t.rejects(env.puk.reset(viaPuk, secret('short')), /new password refused/);
  t.equal(env.puk.status().triesLeft, 10, 'the refused new password cost no try');
  await env.puk.reset(viaPuk, secret(STRONG.replace('Quartz', 'Basalt')));
  const operator = await env.authenticator.password('operator', secret(STRONG.replace('Quartz', 'Basalt')), false);
  t.equal(operator.role, 'operator', 'the new operator password works');
  const events = await env.events();
  t.equal(events.filter((e) => e.event === 'MaintenanceLoginAccepted' && e.method === 'resetPasswordPuk' && e.newPassword === 'refused').length, 1);

  const notPuk = await env.authenticator.password('operator', secret(STRONG.replace('Quartz', 'Basalt')), false);
  await t.rejects(env.puk.reset(notPuk as never, secret(STRONG)), /needs the PUK/, 'a password actor cannot use the PUK path');
});

t.test('PUK: ten wrong tries block it for good, a right PUK then is refused unchecked', async (t) => {
  const env = await inProcess({ throttle: { baseDelayMs: 1, maxDelayMs: 1 } });
  t.teardown(env.close);
  await withPassword(env, 'manufacturer', STRONG);
  await env.puk.set(await env.authenticator.password('manufacturer', secret(STRONG), false), secret(PUK));
  for (let i = 1; i <= 10; i++) {
    env.clock.ms += 10;
    const err = await env.authenticator.puk(secret(`Puk-Wrong-${i}-abcdef`)).catch((e: unknown) => e);
    t.type(err, i < 10 ? RefusedError : BlockedError, `wrong PUK ${i}`);
  }
  t.same(env.puk.status(), { set: true, triesLeft: 0, blocked: true });
  env.clock.ms += 10;
  await t.rejects(env.authenticator.puk(secret(PUK)), BlockedError);
  t.equal((await env.events()).filter((e) => e.event === 'ResetPasswordPukBlocked').length, 1);
});
