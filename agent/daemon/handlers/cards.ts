import type { AreaHandlers, Services } from './services.js';

/** Master cards: enrolment (waits for a card), listing, removal. */
export function cardHandlers(s: Services): AreaHandlers<'masterCard.enroll' | 'masterCard.list' | 'masterCard.remove'> {
  return {
    'masterCard.enroll': async ({ timeoutSeconds, reader, uidOnly }, ctx, actor) =>
      s.cards.enroll(actor, { timeoutSeconds, reader, uidOnly }, ctx.origin, ctx.signal),
    'masterCard.list': async () => ({ masterCards: s.masterCards.list() }),
    'masterCard.remove': async ({ id }, _ctx, actor) => s.masterCards.remove(actor, id),
  };
}
