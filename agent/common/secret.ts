import { inspect } from 'node:util';

/**
 * A secret as it travels through the agent. Serialising or inspecting it yields a placeholder,
 * so a secret that reaches a log call or an error by mistake is still not written out.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return '[secret]';
  }
  toString(): string {
    return '[secret]';
  }
  [inspect.custom](): string {
    return 'Secret([secret])';
  }
}
