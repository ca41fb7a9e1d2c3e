import type { AreaHandlers, Services } from './services.js';

/** Master cards: enrolment (waits for a card), listing, removal. */
export function cardHandlers(s: Services): AreaHandlers<'masterCard.enroll' | 'masterCard.list' | 'masterCard.remove'> {
  return {
    'masterCard.enroll': async ({ password, timeoutSeconds, reader, uidOnly }, ctx) =>
      s.cards.enroll(password, { timeoutSeconds, reader, uidOnly }, ctx.origin, ctx.signal),
    'masterCard.list': async ({ password }, ctx) => ({ masterCards: await s.masterCards.listAs(password, ctx.origin) }),
    'masterCard.remove': async ({ password, id }, ctx) => s.masterCards.remove(password, id, ctx.origin),
  };
}
