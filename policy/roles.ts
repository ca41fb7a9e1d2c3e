/** The four roles of the vendor's security guide, most privileged first. */
export const ROLES = ['manufacturer', 'installer', 'operator', 'user'] as const;
export type Role = (typeof ROLES)[number];

/** Roles that may change the station's settings (web interface mode, HTTPS) with their own password. */
export const SETTINGS_ROLES = ['operator', 'manufacturer'] as const satisfies readonly Role[];
export type SettingsRole = (typeof SETTINGS_ROLES)[number];

/** Roles that may export the logs, with their own password. */
export const EXPORT_ROLES = ['operator', 'installer', 'manufacturer'] as const satisfies readonly Role[];
export type ExportRole = (typeof EXPORT_ROLES)[number];

/**
 * The one permission table: each action a socket method performs for a role, and the roles that
 * may perform it. The contract (agent/wire/protocol.ts) names a method's action; the daemon asks
 * `mayPerform` before it checks any secret, so a role that may not act costs nobody a try.
 */
export const PERMISSIONS = {
  /** Logging in and changing one's own password: every role, for itself. */
  'password.own': ROLES,
  'password.setOther': ['manufacturer'],
  'passwordPolicy.set': ['manufacturer'],
  'puk.set': ['manufacturer'],
  /** With the Reset Password PUK instead of a password: a new operator password. */
  'puk.reset': ['operator'],
  'logPassword.set': ['manufacturer'],
  'masterCards.manage': ['manufacturer'],
  'defaults.save': ['manufacturer'],
  'stateFallback.acknowledge': ['manufacturer'],
  'settings.change': SETTINGS_ROLES,
  'logs.export': EXPORT_ROLES,
} as const satisfies Record<string, readonly Role[]>;

export type Action = keyof typeof PERMISSIONS;
/** The roles an action allows, as a type: what a method's `as` parameter may name. */
export type RolesFor<A extends Action> = (typeof PERMISSIONS)[A][number];

export function mayPerform(role: Role, action: Action): boolean {
  return (PERMISSIONS[action] as readonly Role[]).includes(role);
}

/**
 * Who may call a socket method, as its contract entry declares it:
 * - `open`: nobody needs to prove anything (reading methods; a sync push carries its own signature);
 * - `password`: a role's password, the role named by the `role` parameter (`roleFrom: 'role'`), by
 *   `as` (`roleFrom: 'as'`), or fixed by the method (`role`); `secret` names the parameter holding
 *   the password; `mustChange: 'allow'` lets a role that must change its password in (to change it);
 * - `puk`: the Reset Password PUK in the parameter `secret`;
 * - `session`: a console session's token in the parameter `token` stands in for the password of the
 *   session's role; `reauth` names the parameter with that password again, asked always or only
 *   when the parameter `when.param` has one of `when.values` (a sensitive action inside a session);
 *   `mustChange: 'allow'` lets a change-only session in (to change the password or log out);
 *   `use: 'peek'` checks the session without counting as its use (a live page's stream must not keep
 *   an idle session alive).
 */
export type Access =
  | { readonly kind: 'open' }
  | {
      readonly kind: 'password';
      readonly action: Action;
      readonly roleFrom: 'role' | 'as' | Role;
      readonly secret: string;
      readonly mustChange?: 'allow';
    }
  | { readonly kind: 'puk'; readonly action: 'puk.reset'; readonly secret: string }
  | {
      readonly kind: 'session';
      readonly action: Action;
      readonly token: string;
      readonly reauth?: { readonly secret: string; readonly when?: { readonly param: string; readonly values: readonly string[] } };
      readonly mustChange?: 'allow';
      readonly use?: 'peek';
    };
