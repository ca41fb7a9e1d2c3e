import t, { type Test } from 'tap';
import * as v from 'valibot';
import { MustChangeError } from '../../../../agent/common/errors.js';
import type { Actor } from '../../../../agent/daemon/credentials/authenticator.js';
import { authenticateAtDispatch, type ActingHandlers } from '../../../../agent/daemon/handlers/authenticate.js';
import type { RequestContext } from '../../../../agent/daemon/socket/index.js';
import { methods, type Method } from '../../../../agent/wire/protocol.js';
import { DEFAULTS } from '../../../support/harness.js';
import { inProcess } from '../../../support/in-process.js';

const WRONG = 'Wrong-Secret-123!';
/** A well-formed token no session has. */
const TOKEN = 'A'.repeat(43);
const ENVELOPE = { payload: 'e30', signature: 'AA' };

/** A valid request for every method, with `secret` in each secret parameter and `role` where one is named. */
function sample(method: Method, secret: string, role = 'manufacturer'): Record<string, unknown> {
  const samples: Record<Method, Record<string, unknown>> = {
    status: {},
    login: { role, password: secret },
    passwd: { role, currentPassword: secret, newPassword: 'Next-Password-99!' },
    passwdAs: { role: 'operator', as: 'manufacturer', asPassword: secret, newPassword: 'Next-Password-99!' },
    'policy.show': {},
    'policy.set': { password: secret, enforceStrong: true },
    'puk.set': { password: secret, puk: 'Puk-Value-2024' },
    'puk.reset': { puk: secret, newPassword: 'Next-Password-99!' },
    'webui.set': { mode: '2.0', as: role, password: secret },
    'https.set': { enabled: true, as: role, password: secret },
    'https.rotate': { as: role, password: secret },
    'logPassword.set': { password: secret, logPassword: 'Harbor-Quill-Sextant-73' },
    'logs.export': { as: role, password: secret },
    'masterCard.enroll': { password: secret },
    'masterCard.list': { password: secret },
    'masterCard.remove': { password: secret, id: '0123abcd' },
    'defaults.save': { password: secret },
    readers: {},
    audit: {},
    'audit.acknowledgeFallback': { password: secret },
    'sync.status': {},
    'sync.apply': { envelope: ENVELOPE },
    events: {},
    'session.open': { role, password: secret },
    'session.info': { session: TOKEN },
    'session.close': { session: TOKEN },
    'session.check': { session: TOKEN },
    'session.passwd': { session: TOKEN, currentPassword: secret, newPassword: 'Next-Password-99!' },
    'session.passwdAs': { session: TOKEN, password: secret, role: 'operator', newPassword: 'Next-Password-99!' },
    'session.policy.set': { session: TOKEN, enforceStrong: true },
    'session.puk.set': { session: TOKEN, password: secret, puk: 'Puk-Value-2024' },
    'session.logPassword.set': { session: TOKEN, password: secret, logPassword: 'Harbor-Quill-Sextant-73' },
    'session.webui.set': { session: TOKEN, mode: '2.0-only', password: secret },
    'session.https.set': { session: TOKEN, enabled: true },
    'session.https.rotate': { session: TOKEN },
    'session.logs.export': { session: TOKEN },
    'session.masterCard.enroll': { session: TOKEN, password: secret },
    'session.masterCard.list': { session: TOKEN },
    'session.masterCard.remove': { session: TOKEN, password: secret, id: '0123abcd' },
    'session.defaults.save': { session: TOKEN, password: secret },
    'session.audit.acknowledgeFallback': { session: TOKEN },
  };
  return v.parse(methods[method].params, samples[method]) as Record<string, unknown>;
}

const ctx = { origin: 'socket:test', peer: null, signal: new AbortController().signal } as unknown as RequestContext;

async function rig(t: Test) {
  const env = await inProcess({ throttle: { baseDelayMs: 1, maxDelayMs: 1 } });
  t.teardown(env.close);
  const reached: Array<{ method: Method; actor: Actor | null }> = [];
  const stub = Object.fromEntries(
    (Object.keys(methods) as Method[]).map((method) => [
      method,
      async (_p: unknown, _c: RequestContext, actor: Actor | null) => void reached.push({ method, actor }),
    ]),
  ) as unknown as ActingHandlers;
  return { env, reached, handlers: authenticateAtDispatch(stub, env.authenticator) };
}

t.test('no handler of a method that needs a secret is reached with a wrong one', async (t) => {
  const { env, reached, handlers } = await rig(t);
  for (const method of Object.keys(methods) as Method[]) {
    if (methods[method].auth.kind === 'open' || method === 'puk.reset') continue;
    env.clock.ms += 10;
    const call = handlers[method] as (p: unknown, c: RequestContext) => Promise<unknown>;
    await t.rejects(call(sample(method, WRONG), ctx), { code: 'refused' }, `${method} refused`);
  }
  t.same(reached, [], 'no handler ran');
});

t.test('open methods reach their handler with no actor; authenticated ones with the role their access names', async (t) => {
  const { reached, handlers } = await rig(t);
  await (handlers.status as (p: unknown, c: RequestContext) => Promise<unknown>)(sample('status', ''), ctx);
  t.same(reached.pop(), { method: 'status', actor: null });
  await (handlers.passwd as (p: unknown, c: RequestContext) => Promise<unknown>)(sample('passwd', DEFAULTS.installer, 'installer'), ctx);
  t.match(reached.pop(), { method: 'passwd', actor: { role: 'installer', via: 'password' } }, 'passwd lets a must-change role in');
  await t.rejects(
    (handlers['webui.set'] as (p: unknown, c: RequestContext) => Promise<unknown>)(sample('webui.set', DEFAULTS.operator, 'operator'), ctx),
    MustChangeError,
    'any other method refuses a role that must change its password',
  );
  t.same(reached, []);
});

t.test('the permission table is asked before the secret: a role that may not act costs no try', async (t) => {
  const { env, reached, handlers } = await rig(t);
  // The schema already refuses an installer here; dispatch refuses it again without checking a password.
  const params = { ...sample('webui.set', WRONG, 'operator'), as: 'installer' };
  for (let i = 0; i < 8; i++) {
    await t.rejects((handlers['webui.set'] as (p: unknown, c: RequestContext) => Promise<unknown>)(params, ctx), /installer may not call webui.set/);
  }
  t.equal(env.store.current?.roles.installer.failures, 0, 'no failure counted');
  t.notOk(env.authenticator.waitMs('installer', env.store.current!.roles.installer) > 0);
  t.same(reached, []);
});
