// The settings part of a manufacturer-defaults restore, as a pure transition.
import type { SettingsSnapshot, State } from './state.js';

/**
 * `state` with the saved settings back: policy, PUK (as saved: its tries, blocked or not), master cards,
 * HTTPS; what lives outside the state (Log Password, style file, certificate) is recorded as
 * pending so that it is finished even after a power cut.
 */
export function withRestoredSettings(state: State, settings: SettingsSnapshot, reason: string): State {
  const next = structuredClone(state);
  next.policy = { ...settings.policy };
  // As the manufacturer saved it: a PUK saved while blocked comes back blocked.
  next.puk = settings.puk === null ? null : { ...settings.puk };
  next.masterCards = structuredClone(settings.masterCards);
  next.https = { enabled: settings.https };
  next.pendingRestore = { logPassword: settings.logPassword, webUi: settings.webUi, https: settings.https, reason };
  return next;
}
