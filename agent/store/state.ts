// The store's view of the state: its schema and types live in policy/state.ts (the pure rules are
// typed by them); refusing an unprovisioned device is the agent's.
import { RefusedError } from '../common/errors.js';
import type { State } from '../../policy/state.js';

export * from '../../policy/state.js';

/** The state, or the refusal every action on an unprovisioned device gets. */
export function requireProvisioned(state: State | null): State {
  if (!state) throw new RefusedError('this device is not provisioned: run "ccguard provision --config FILE" first');
  return state;
}
