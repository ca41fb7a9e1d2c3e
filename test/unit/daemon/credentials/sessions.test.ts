import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import * as v from 'valibot';
import { MustChangeError, SessionEndedError } from '../../../../agent/common/errors.js';
import { Secret } from '../../../../agent/common/secret.js';
import { authenticateAtDispatch, type ActingHandlers } from '../../../../agent/daemon/handlers/authenticate.js';
import type { Actor } from '../../../../agent/daemon/credentials/authenticator.js';
import type { RequestContext } from '../../../../agent/daemon/socket/index.js';
import { methods, type Method } from '../../../../agent/wire/protocol.js';
import { DEFAULTS } from '../../../support/harness.js';
import { inProcess, type InProcess } from '../../../support/in-process.js';

const NEW = { manufacturer: 'Quartz-Lantern-Harbor-61!', operator: 'Maple-Orbit-Cascade-84!' } as const;
const UID = 1000;
const ctx = { origin: 'socket:console', peer: { uid: UID, gid: UID, pid: 1 }, signal: new AbortController().signal } as unknown as RequestContext;

type Role = 'manufacturer' | 'operator';

async function rig(t: Test, limits = { idleMs: 60_000, absoluteMs: 600_000, max: 4 }) {
  const env = await inProcess({ throttle: { baseDelayMs: 1, maxDelayMs: 1 }, sessions: limits });
  t.teardown(env.close);
  const reached: Array<{ method: Method; actor: Actor | null }> = [];
  const stub = Object.fromEntries(
    (Object.keys(methods) as Method[]).map((method) => [
      method,
      async (_p: unknown, _c: RequestContext, actor: Actor | null) => void reached.push({ method, actor }),
    ]),
  ) as unknown as ActingHandlers;
  const handlers = authenticateAtDispatch(stub, env.authenticator);
  const call = (method: Method, params: Record<string, unknown>, uid = UID) =>
    env.as(uid, async () => (handlers[method] as (p: unknown, c: RequestContext) => Promise<unknown>)(v.parse(methods[method].params, params), ctx));
  // The manufacturer off its default, so that its sessions are full ones.
  const m = await env.as(0, () => env.authenticator.password('manufacturer', new Secret(DEFAULTS.manufacturer), true));
  await env.as(0, () => env.credentials.changeOwnPassword(m, new Secret(NEW.manufacturer)));
  const open = async (role: Role = 'manufacturer', password: string = role === 'manufacturer' ? NEW.manufacturer : DEFAULTS.operator) =>
    env.as(UID, async () => env.authenticator.openSession(await env.authenticator.password(role, new Secret(password), true)));
  return { env, reached, call, open };
}

/** The refusal of an ended session, with why. */
const ended = (reason: string) => ({ name: 'SessionEndedError', reason }) as unknown as Error;

const use = (env: InProcess, token: Secret, allowMustChange = false, uid = UID) => env.as(uid, async () => env.authenticator.session(token, allowMustChange));

t.test('a session token is 256 random bits, stands in for the password, and is never written to a log', async (t) => {
  const { env, open, call, reached } = await rig(t);
  const { token, changeOnly, view } = await open();
  t.match(token.reveal(), /^[A-Za-z0-9_-]{43}$/, '43 base64url characters');
  t.notOk(changeOnly);
  t.equal(view.role, 'manufacturer');
  t.not((await open()).token.reveal(), token.reveal(), 'each session its own token');
  await call('session.policy.set', { session: token.reveal(), enforceStrong: true });
  t.match(reached.pop(), { method: 'session.policy.set', actor: { role: 'manufacturer' } });
  t.ok(await env.as(UID, async () => env.authenticator.closeSession(token)));
  await t.rejects(use(env, token), ended('logout'), 'closed: refused, and says why');
  env.logs.flush();
  for (const file of ['security.log', 'ccguard.log']) {
    const text = await readFile(join(env.config.logDir, file), 'utf8').catch(() => '');
    t.notOk(text.includes(token.reveal()), `${file} does not hold the token`);
  }
  const events = await env.events();
  t.ok(events.some((e) => e.event === 'SessionStarted' && e.role === 'manufacturer' && e.changeOnly === false));
  t.ok(events.some((e) => e.event === 'SessionEnded' && e.reason === 'logout'));
});

t.test('another uid cannot use or close the token: it is answered as an unknown one', async (t) => {
  const { env, open } = await rig(t);
  const { token } = await open();
  await t.rejects(use(env, token, false, 65534), ended('unknown'));
  t.notOk(await env.as(65534, async () => env.authenticator.closeSession(token)), 'not closed by the stranger');
  t.equal((await use(env, token)).actor.role, 'manufacturer', 'still its owner’s');
});

t.test('idle and absolute expiry on the monotonic clock', async (t) => {
  const { env, open } = await rig(t, { idleMs: 1000, absoluteMs: 3000, max: 8 });
  const idle = await open();
  env.clock.ms += 999;
  await use(env, idle.token);
  env.clock.ms += 999;
  await use(env, idle.token);
  env.clock.ms += 1000;
  await t.rejects(use(env, idle.token), ended('idle'), 'unused for the idle limit: ended');
  // A live page's stream checks the session without using it: it does not keep it alive.
  const watched = await open();
  env.clock.ms += 600;
  await env.as(UID, async () => env.authenticator.session(watched.token, false, false));
  env.clock.ms += 600;
  await t.rejects(use(env, watched.token), ended('idle'), 'checked but not used: idle all the same');
  const busy = await open();
  for (let i = 0; i < 3; i++) {
    env.clock.ms += 900;
    await use(env, busy.token);
  }
  env.clock.ms += 300;
  await t.rejects(use(env, busy.token), ended('expired'), 'used all along, still ended at the absolute limit');
  const events = await env.events();
  t.ok(events.some((e) => e.event === 'SessionEnded' && e.reason === 'idle'));
  t.ok(events.some((e) => e.event === 'SessionEnded' && e.reason === 'expired'));
});

t.test("every session of a role ends when its password changes or is reset; other roles' stay", async (t) => {
  const { env, open } = await rig(t);
  const first = await open();
  const second = await open();
  const operator = await open('operator');
  const m = await env.as(0, () => env.authenticator.password('manufacturer', new Secret(NEW.manufacturer), false));
  await env.as(0, () => env.credentials.changeOwnPassword(m, new Secret('Velvet-Anchor-Meadow-27!')));
  await t.rejects(use(env, first.token), ended('passwordChanged'));
  await t.rejects(use(env, second.token), ended('passwordChanged'));
  t.equal((await use(env, operator.token, true)).actor.role, 'operator', "the operator's session stays");
  // A double station's slave takes the master's password for a role (sync receive).
  const synced = await open('manufacturer', 'Velvet-Anchor-Meadow-27!');
  await env.credentials.applyFromMaster((current) => ({
    ...current,
    roles: { ...current.roles, manufacturer: { ...current.roles.manufacturer, changedAt: new Date(Date.now() + 1000).toISOString() } },
  }));
  await t.rejects(use(env, synced.token), ended('passwordChanged'), 'a password the master pushed ends it');
  // A card tap puts the roles back on their defaults.
  await env.credentials.resetToDefaults(['operator']);
  await t.rejects(use(env, operator.token, true), SessionEndedError, 'reset: ended');
  const changed = (await env.events()).filter((e) => e.event === 'SessionEnded' && e.reason === 'passwordChanged');
  t.equal(changed.length, 4, 'recorded for each, as the change was written');
});

t.test('a role on its default password gets a change-only session', async (t) => {
  const { env, open, call, reached } = await rig(t);
  const { token, changeOnly } = await open('operator');
  t.ok(changeOnly);
  await t.rejects(use(env, token), MustChangeError, 'refused for anything but the change');
  await t.rejects(call('session.https.set', { session: token.reveal(), enabled: true }), MustChangeError);
  await call('session.passwd', { session: token.reveal(), currentPassword: DEFAULTS.operator, newPassword: NEW.operator });
  t.match(reached.pop(), { method: 'session.passwd', actor: { role: 'operator' } }, 'the change itself is let in');
  await call('session.info', { session: token.reveal() });
  t.match(reached.pop(), { method: 'session.info' });
});

t.test('a sensitive action in a session needs the password again, checked and throttled like any', async (t) => {
  const { env, open, call, reached } = await rig(t);
  const { token } = await open();
  const session = token.reveal();
  await t.rejects(call('session.webui.set', { session, mode: '2.0-only' }), /needs the manufacturer password again/);
  await t.rejects(call('session.webui.set', { session, mode: '2.0-only', password: 'Wrong-Password-11!' }), /wrong password/);
  t.same(reached, [], 'no handler reached');
  await call('session.webui.set', { session, mode: '2.0' });
  t.match(reached.pop(), { method: 'session.webui.set' }, '2.0 needs no password again');
  await call('session.webui.set', { session, mode: '2.0-only', password: NEW.manufacturer });
  t.match(reached.pop(), { method: 'session.webui.set' }, '2.0-only with it');
  await t.rejects(call('session.puk.set', { session, password: 'Wrong-Password-11!', puk: 'Puk-Value-2024' }), /wrong password/);
  t.ok(env.store.current!.roles.manufacturer.failures > 0, 'the wrong one counted as a failure');
});

t.test('an operator session cannot call a manufacturer method: the permission table applies', async (t) => {
  const { env, open, call, reached } = await rig(t);
  const op = await open('operator');
  const m = await env.as(0, () => env.authenticator.password('operator', new Secret(DEFAULTS.operator), true));
  await env.as(0, () => env.credentials.changeOwnPassword(m, new Secret(NEW.operator)));
  await t.rejects(use(env, op.token, true), ended('passwordChanged'));
  const { token } = await open('operator', NEW.operator);
  await t.rejects(call('session.policy.set', { session: token.reveal(), enforceStrong: false }), /operator may not call session.policy.set/);
  t.same(reached, []);
});

t.test('at most `max` sessions: the least recently used is ended for a new one', async (t) => {
  const { env, open } = await rig(t, { idleMs: 60_000, absoluteMs: 600_000, max: 2 });
  const a = await open();
  env.clock.ms += 10;
  const b = await open();
  env.clock.ms += 10;
  await use(env, a.token);
  env.clock.ms += 10;
  const c = await open();
  await t.rejects(use(env, b.token), ended('evicted'), 'the least recently used is gone');
  await use(env, a.token);
  await use(env, c.token);
  t.equal(env.authenticator.openSessions, 2);
  t.ok((await env.events()).some((e) => e.event === 'SessionEnded' && e.reason === 'evicted'));
});
