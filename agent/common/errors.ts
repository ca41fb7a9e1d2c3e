/** Error codes carried over the socket; each maps to one exit code of the CLI contract. */
export type ErrorCode = 'refused' | 'invalid' | 'mustChange' | 'throttled' | 'unavailable' | 'internal';

export const EXIT = {
  ok: 0,
  refused: 1,
  usage: 2,
  mustChange: 3,
  throttled: 4,
  unreachable: 69,
} as const;

export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'refused':
      return EXIT.refused;
    case 'invalid':
      return EXIT.usage;
    case 'mustChange':
      return EXIT.mustChange;
    case 'throttled':
      return EXIT.throttled;
    case 'unavailable':
      return EXIT.unreachable;
    case 'internal':
      return EXIT.refused;
  }
}

export abstract class CcguardError extends Error {
  abstract readonly code: ErrorCode;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
  /** Extra fields for the socket response (never secrets). */
  details(): Record<string, unknown> {
    return {};
  }
}

/** Wrong secret, policy violation or not permitted. */
export class RefusedError extends CcguardError {
  readonly code = 'refused' as const;
  constructor(
    message: string,
    readonly rules: readonly string[] = [],
  ) {
    super(message);
  }
  override details(): Record<string, unknown> {
    return this.rules.length > 0 ? { rules: this.rules } : {};
  }
}

/** A console session token that is unknown or has ended: the console logs in again. */
export class SessionEndedError extends RefusedError {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
  override details(): Record<string, unknown> {
    return { session: this.reason };
  }
}

/** Malformed request, config or input. */
export class InvalidInputError extends CcguardError {
  readonly code = 'invalid' as const;
}

/** The password was right but must be changed before anything else. */
export class MustChangeError extends CcguardError {
  readonly code = 'mustChange' as const;
}

export class ThrottledError extends CcguardError {
  readonly code = 'throttled' as const;
  constructor(
    message: string,
    readonly waitMs: number,
  ) {
    super(message);
  }
  override details(): Record<string, unknown> {
    return { waitSeconds: Math.ceil(this.waitMs / 1000) };
  }
}

/** Locked until someone with more rights acts (e.g. a blocked PUK); no wait will help. */
export class BlockedError extends CcguardError {
  readonly code = 'throttled' as const;
}

export class DaemonUnreachableError extends CcguardError {
  readonly code = 'unavailable' as const;
}

/** Problems with files on disk (permissions, corrupt state) that stop the agent from starting. */
export class StateError extends CcguardError {
  readonly code = 'internal' as const;
}

export class ConfigError extends CcguardError {
  readonly code = 'invalid' as const;
}
