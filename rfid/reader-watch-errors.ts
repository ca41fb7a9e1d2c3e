import { CcguardError } from '../agent/common/errors.js';

/** The card this channel was opened for is no longer on the reader. */
export class CardGoneError extends CcguardError {
  readonly code = 'refused' as const;
  constructor(reader: string) {
    super(`the card left ${reader} (or another was placed) before the exchange ended; present it again`);
  }
}

/** The card did not answer an APDU within rfid.apduTimeoutMs. */
export class CardNoAnswerError extends CcguardError {
  readonly code = 'refused' as const;
  constructor(reader: string, ms: number) {
    super(`the card on ${reader} did not answer within ${ms} ms (mute or slow card, or pulled mid-exchange); present it again`);
  }
}
