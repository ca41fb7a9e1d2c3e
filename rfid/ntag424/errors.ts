import { CcguardError } from '../../agent/common/errors.js';

/**
 * What went wrong in an exchange with a card. Messages name the command and what a technician can
 * do; they never carry key bytes, session keys or the card's cryptograms.
 */
export type CardErrorKind =
  | 'authenticationFailed'
  | 'lengthError'
  | 'responseMac'
  | 'unexpectedStatus'
  | 'truncatedAnswer'
  | 'overlongAnswer'
  | 'malformedAnswer'
  | 'timeout'
  | 'sessionClosed';

export abstract class CardError extends CcguardError {
  readonly code = 'refused' as const;
  abstract readonly kind: CardErrorKind;
  constructor(
    readonly command: string,
    message: string,
  ) {
    super(message);
  }
  override details(): Record<string, unknown> {
    return { cardError: this.kind, command: this.command };
  }
}

export function statusHex(sw: number): string {
  return `${((sw >> 8) & 0xff).toString(16).padStart(2, '0')} ${(sw & 0xff).toString(16).padStart(2, '0')}`.toUpperCase();
}

/** The card refused the key (91 AE), or answered without proving it holds the key. */
export class CardAuthenticationError extends CardError {
  readonly kind = 'authenticationFailed' as const;
  constructor(
    command: string,
    readonly reason: 'refusedByCard' | 'cardProofWrong',
    hint: string,
  ) {
    super(
      command,
      reason === 'refusedByCard'
        ? `the card refused ${command} with an authentication error (91 AE): ${hint}`
        : `the card answered ${command} without proving it holds the key (its RndA' is wrong): ${hint}`,
    );
  }
}

/** 91 7E: the card found the command's length wrong. */
export class CardLengthError extends CardError {
  readonly kind = 'lengthError' as const;
  constructor(command: string) {
    super(
      command,
      `the card reported a length error (91 7E) for ${command}: the frame was cut or mangled between reader and card, ` +
        'or the card does not implement this command; present the card again',
    );
  }
}

/** The answer's MAC does not match: altered in transit, or not the card that authenticated. */
export class ResponseMacError extends CardError {
  readonly kind = 'responseMac' as const;
  constructor(command: string) {
    super(
      command,
      `the card's answer to ${command} carried a wrong MAC: the answer was altered on the way or comes from another ` +
        'card than the one that authenticated; present the card again, and treat it as suspect if this repeats',
    );
  }
}

const STATUS_NAMES: ReadonlyMap<number, string> = new Map([
  [0x9100, 'success'],
  [0x91af, 'additional frame expected'],
  [0x910c, 'no change'],
  [0x910e, 'out of EEPROM'],
  [0x911c, 'illegal command code'],
  [0x911e, 'integrity error'],
  [0x9140, 'no such key'],
  [0x919d, 'permission denied'],
  [0x919e, 'parameter error'],
  [0x91a0, 'application not found'],
  [0x91ad, 'authentication delay'],
  [0x91be, 'boundary error'],
  [0x91ca, 'command aborted'],
  [0x91ee, 'memory error'],
  [0x91f0, 'file not found'],
  [0x9000, 'ISO success'],
  [0x6700, 'wrong length'],
  [0x6982, 'security status not satisfied'],
  [0x6985, 'conditions of use not satisfied'],
  [0x6a82, 'application or file not found'],
  [0x6a86, 'wrong P1/P2'],
  [0x6d00, 'instruction not supported'],
  [0x6e00, 'class not supported'],
]);

export class UnexpectedStatusError extends CardError {
  readonly kind = 'unexpectedStatus' as const;
  constructor(
    command: string,
    readonly status: number,
    expected: number,
  ) {
    const name = STATUS_NAMES.get(status) ?? 'unknown status';
    super(
      command,
      `the card answered ${command} with ${statusHex(status)} (${name}) where ${statusHex(expected)} was expected: ` +
        'it is not an NTAG 424 DNA or DESFire EV2/EV3 in the expected configuration; treat the card as unreadable',
    );
  }
  override details(): Record<string, unknown> {
    return { ...super.details(), status: statusHex(this.status) };
  }
}

export class TruncatedAnswerError extends CardError {
  readonly kind = 'truncatedAnswer' as const;
  constructor(command: string, got: number, expected: number) {
    super(
      command,
      `the card's answer to ${command} was ${got} bytes where ${expected} were expected: the card was probably ` +
        'moved or pulled mid-exchange; present it again and hold it still',
    );
  }
}

export class OverlongAnswerError extends CardError {
  readonly kind = 'overlongAnswer' as const;
  constructor(command: string, got: number, limit: number) {
    super(
      command,
      `the card's answer to ${command} was ${got} bytes where at most ${limit} fit: not an NTAG 424 DNA or ` + 'DESFire answer; treat the card as unreadable',
    );
  }
}

/** Right length and MAC, but the content breaks the format (e.g. the padding of decrypted data). */
export class MalformedAnswerError extends CardError {
  readonly kind = 'malformedAnswer' as const;
  constructor(command: string, what: string) {
    super(command, `the card's answer to ${command} is not well-formed (${what}); treat the card as unreadable`);
  }
}

export class CardTimeoutError extends CardError {
  readonly kind = 'timeout' as const;
  constructor(
    command: string,
    readonly timeoutMs: number,
  ) {
    super(
      command,
      `the card did not answer ${command} within ${timeoutMs} ms: hold the card still on the reader; a card that ` +
        'never answers (mute card, emulator) counts as unreadable',
    );
  }
}

/** The secure session cannot carry more commands; only a new authentication helps. */
export class SessionClosedError extends CardError {
  readonly kind = 'sessionClosed' as const;
  constructor(command: string, reason: string) {
    super(command, `cannot send ${command}: the secure session with the card is closed (${reason}); authenticate again`);
  }
}
