import type { AreaHandlers, Services } from './services.js';

/** The web interface mode, HTTPS and the manufacturer defaults. */
export function settingsHandlers(s: Services): AreaHandlers<'webui.set' | 'https.set' | 'https.rotate' | 'defaults.save'> {
  return {
    'webui.set': async ({ mode }, _ctx, actor) => ({ webUi: await s.webUi.set(actor, mode) }),
    'https.set': async ({ enabled }, _ctx, actor) => s.https.set(actor, enabled),
    'https.rotate': async (_params, _ctx, actor) => s.https.rotate(actor),
    'defaults.save': async (_params, _ctx, actor) => s.factory.save(actor),
  };
}
