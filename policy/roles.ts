/** The four roles of the vendor's security guide, most privileged first. */
export const ROLES = ['manufacturer', 'installer', 'operator', 'user'] as const;
export type Role = (typeof ROLES)[number];

/** Actions that need a role other than the one whose password is being changed. */
export type PrivilegedAction = 'password.setOther';

const PERMITTED: Record<PrivilegedAction, readonly Role[]> = {
  'password.setOther': ['manufacturer'],
};

/** Roles that may change the station's settings (web interface mode, HTTPS) with their own password. */
export const SETTINGS_ROLES = ['operator', 'manufacturer'] as const satisfies readonly Role[];
export type SettingsRole = (typeof SETTINGS_ROLES)[number];

/** Roles that may export the logs, with their own password. */
export const EXPORT_ROLES = ['operator', 'installer', 'manufacturer'] as const satisfies readonly Role[];
export type ExportRole = (typeof EXPORT_ROLES)[number];

export function mayPerform(actor: Role, action: PrivilegedAction): boolean {
  return PERMITTED[action].includes(actor);
}
