import { Secret } from '../../common/secret.js';
import type { AreaHandlers, Services } from './services.js';
import type { ActingHandlers } from './authenticate.js';

/** The password parameter of a twin whose handler never reads it: the session stood in for it at dispatch. */
const NONE = new Secret('');

type SessionMethod = Extract<keyof ActingHandlers, `session.${string}`>;

/**
 * The console's sessions: open, look at, close; and each password method again for the session's
 * role (dispatch turned the token, and the password again where the contract asks it, into the
 * `Actor`), answered by the same handler as its password twin.
 */
export function sessionHandlers(s: Services, twins: ActingHandlers): AreaHandlers<SessionMethod> {
  return {
    'session.open': async (_params, _ctx, actor) => {
      const { token, view, changeOnly } = s.authenticator.openSession(actor);
      return { token: token.reveal(), ...view, changeOnly };
    },
    'session.info': async ({ session }) => {
      const { view, changeOnly } = s.authenticator.session(session, true);
      return { ...view, changeOnly };
    },
    'session.check': async ({ session }) => {
      const { view, changeOnly } = s.authenticator.session(session, true, false);
      return { ...view, changeOnly };
    },
    'session.close': async ({ session }) => ({ closed: s.authenticator.closeSession(session) }),
    'session.passwd': async ({ currentPassword, newPassword }, ctx, actor) => twins.passwd({ role: actor.role, currentPassword, newPassword }, ctx, actor),
    'session.passwdAs': async ({ password, role, newPassword }, ctx, actor) =>
      twins.passwdAs({ role, as: 'manufacturer', asPassword: password, newPassword }, ctx, actor),
    'session.policy.set': async ({ enforceStrong, enforcePasswordChange }, ctx, actor) =>
      twins['policy.set']({ password: NONE, enforceStrong, enforcePasswordChange }, ctx, actor),
    'session.puk.set': async ({ password, puk }, ctx, actor) => twins['puk.set']({ password, puk }, ctx, actor),
    'session.logPassword.set': async ({ password, logPassword }, ctx, actor) => twins['logPassword.set']({ password, logPassword }, ctx, actor),
    'session.webui.set': async ({ mode }, ctx, actor) => twins['webui.set']({ mode, as: actor.role, password: NONE }, ctx, actor),
    'session.https.set': async ({ enabled }, ctx, actor) => twins['https.set']({ enabled, as: actor.role, password: NONE }, ctx, actor),
    'session.https.rotate': async (_params, ctx, actor) => twins['https.rotate']({ as: actor.role, password: NONE }, ctx, actor),
    'session.logs.export': async ({ unencrypted }, ctx, actor) => twins['logs.export']({ as: actor.role, password: NONE, unencrypted }, ctx, actor),
    'session.masterCard.enroll': async ({ password, timeoutSeconds, reader, uidOnly }, ctx, actor) =>
      twins['masterCard.enroll']({ password, timeoutSeconds, reader, uidOnly }, ctx, actor),
    'session.masterCard.list': async (_params, ctx, actor) => twins['masterCard.list']({ password: NONE }, ctx, actor),
    'session.masterCard.remove': async ({ password, id }, ctx, actor) => twins['masterCard.remove']({ password, id }, ctx, actor),
    'session.defaults.save': async ({ password }, ctx, actor) => twins['defaults.save']({ password }, ctx, actor),
    'session.audit.acknowledgeFallback': async (_params, ctx, actor) => twins['audit.acknowledgeFallback']({ password: NONE }, ctx, actor),
  };
}
