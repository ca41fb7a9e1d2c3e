import type { AreaHandlers, Services } from './services.js';

/** The web interface mode, HTTPS and the manufacturer defaults. */
export function settingsHandlers(s: Services): AreaHandlers<'webui.set' | 'https.set' | 'https.rotate' | 'defaults.save'> {
  return {
    'webui.set': async ({ mode, as, password }, ctx) => ({ webUi: await s.webUi.set(mode, as, password, ctx.origin) }),
    'https.set': async ({ enabled, as, password }, ctx) => s.https.set(as, password, enabled, ctx.origin),
    'https.rotate': async ({ as, password }, ctx) => s.https.rotate(as, password, ctx.origin),
    'defaults.save': async ({ password }, ctx) => s.factory.save(password, ctx.origin),
  };
}
