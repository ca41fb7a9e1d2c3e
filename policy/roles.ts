/** The four roles of the vendor's security guide, most privileged first. */
export const ROLES = ['manufacturer', 'installer', 'operator', 'user'] as const;
export type Role = (typeof ROLES)[number];

/** Actions that need a role other than the one whose password is being changed. */
export type PrivilegedAction = 'password.setOther';

const PERMITTED: Record<PrivilegedAction, readonly Role[]> = {
  'password.setOther': ['manufacturer'],
};

export function mayPerform(actor: Role, action: PrivilegedAction): boolean {
  return PERMITTED[action].includes(actor);
}
