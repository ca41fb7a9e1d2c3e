import type { AreaHandlers, Services } from './services.js';

/** Logins, passwords, the password policy, the PUK and the Log Password. */
export function passwordHandlers(
  s: Services,
): AreaHandlers<'login' | 'passwd' | 'passwdAs' | 'policy.show' | 'policy.set' | 'puk.set' | 'puk.reset' | 'logPassword.set'> {
  return {
    login: async ({ role, password }, ctx) => {
      await s.credentials.login(role, password, ctx.origin);
      return { role, mustChange: false };
    },
    passwd: async ({ role, currentPassword, newPassword }, ctx) => {
      await s.credentials.changeOwnPassword(role, currentPassword, newPassword, ctx.origin);
      return { role, changed: true };
    },
    passwdAs: async ({ role, as, asPassword, newPassword }, ctx) => {
      await s.credentials.setPasswordAs(as, asPassword, role, newPassword, ctx.origin);
      return { role, changed: true };
    },
    'policy.show': async () => s.credentials.policy(),
    'policy.set': async ({ password, enforceStrong, enforcePasswordChange }, ctx) =>
      s.credentials.setPolicy(password, { enforceStrong, enforcePasswordChange }, ctx.origin),
    'puk.set': async ({ password, puk }, ctx) => s.puk.set(password, puk, ctx.origin),
    'puk.reset': async ({ puk, newPassword }, ctx) => {
      await s.puk.reset(puk, newPassword, ctx.origin);
      return { role: 'operator', changed: true };
    },
    'logPassword.set': async ({ password, logPassword }, ctx) => {
      await s.logPassword.set(password, logPassword, ctx.origin);
      return { logPasswordSet: true };
    },
  };
}
