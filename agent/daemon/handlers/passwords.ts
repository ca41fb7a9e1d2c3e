import type { AreaHandlers, Services } from './services.js';

/** Logins, passwords, the password policy, the PUK and the Log Password. */
export function passwordHandlers(
  s: Services,
): AreaHandlers<'login' | 'passwd' | 'passwdAs' | 'policy.show' | 'policy.set' | 'puk.set' | 'puk.reset' | 'logPassword.set'> {
  return {
    // The password was checked at dispatch: a login has nothing left to do.
    login: async ({ role }) => ({ role, mustChange: false }),
    passwd: async ({ role, newPassword }, _ctx, actor) => {
      await s.credentials.changeOwnPassword(actor, newPassword);
      return { role, changed: true };
    },
    passwdAs: async ({ role, newPassword }, _ctx, actor) => {
      await s.credentials.setPasswordAs(actor, role, newPassword);
      return { role, changed: true };
    },
    'policy.show': async () => s.credentials.policy(),
    'policy.set': async ({ enforceStrong, enforcePasswordChange }, _ctx, actor) => s.credentials.setPolicy(actor, { enforceStrong, enforcePasswordChange }),
    'puk.set': async ({ puk }, _ctx, actor) => s.puk.set(actor, puk),
    'puk.reset': async ({ newPassword }, _ctx, actor) => {
      await s.puk.reset(actor, newPassword);
      return { role: 'operator', changed: true };
    },
    'logPassword.set': async ({ logPassword }, _ctx, actor) => {
      await s.logPassword.set(actor, logPassword);
      return { logPasswordSet: true };
    },
  };
}
