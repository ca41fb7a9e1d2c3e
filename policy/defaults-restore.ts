// The settings part of a manufacturer-defaults restore, as a pure transition.
import { PUK_TRIES } from './puk.js';
import type { SettingsSnapshot, State } from '../agent/store/state.js';

/**
 * `state` with the saved settings back: policy, PUK (with a fresh try counter), master cards,
 * HTTPS; what lives outside the state (Log Password, style file, certificate) is recorded as
 * pending so that it is finished even after a power cut.
 */
export function withRestoredSettings(state: State, settings: SettingsSnapshot, reason: string): State {
  const next = structuredClone(state);
  next.policy = { ...settings.policy };
  next.puk = settings.puk === null ? null : { ...settings.puk, triesLeft: PUK_TRIES, blocked: false };
  next.masterCards = structuredClone(settings.masterCards);
  next.https = { enabled: settings.https };
  next.pendingRestore = { logPassword: settings.logPassword, webUi: settings.webUi, https: settings.https, reason };
  return next;
}
