// Pure transitions of the credential part of the state; the time is passed in.
import type { Role } from './roles.js';
import { HISTORY_DEPTH } from './password.js';
import type { State } from './state.js';

/** `state` with `role` on a new password: not default, history kept, throttling cleared. */
export function withNewPassword(state: State, role: Role, hash: string, mustChange: boolean, nowIso: string): State {
  const next = structuredClone(state);
  const r = next.roles[role];
  r.hash = hash;
  r.isDefault = false;
  r.mustChange = mustChange;
  r.history = [hash, ...r.history].slice(0, HISTORY_DEPTH);
  r.failures = 0;
  r.changedAt = nowIso;
  return next;
}

/** `state` with `roles` back on their default passwords: must change, throttling cleared. */
export function withDefaultPasswords(state: State, roles: readonly Role[], nowIso: string): State {
  const next = structuredClone(state);
  for (const role of roles) {
    const r = next.roles[role];
    r.hash = r.defaultHash;
    r.isDefault = true;
    r.mustChange = true;
    r.failures = 0;
    r.changedAt = nowIso;
  }
  return next;
}
