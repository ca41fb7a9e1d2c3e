import type { AreaHandlers, Services } from './services.js';

/** The state's own findings: a fallback to an older generation, acknowledged by the manufacturer. */
export function stateHandlers(s: Services): AreaHandlers<'audit.acknowledgeFallback'> {
  return {
    'audit.acknowledgeFallback': async (_params, _ctx, actor) => s.fallbacks.acknowledge(actor),
  };
}
