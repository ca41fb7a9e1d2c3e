// A transport that plays back a worked example: each command must be exactly the example's,
// and gets the example's answer. For the application notes' byte-exact vectors.
import type { Transport } from '../../rfid/ntag424/transport.js';

export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
export const toHex = (b: Buffer): string => b.toString('hex').toUpperCase();

export interface Script {
  transport: Transport;
  /** Commands the script still expects; 0 once the example has been played through. */
  remaining(): number;
}

export function scripted(steps: ReadonlyArray<readonly [command: string, answer: string]>): Script {
  let next = 0;
  return {
    transport: async (apdu) => {
      const step = steps[next++];
      if (step === undefined) throw new Error(`unscripted command ${toHex(apdu)}`);
      const [command, answer] = step;
      if (toHex(apdu) !== command.replace(/\s+/g, '').toUpperCase()) {
        throw new Error(`command ${next} differs from the example:\n  sent     ${toHex(apdu)}\n  expected ${command}`);
      }
      return hex(answer);
    },
    remaining: () => steps.length - next,
  };
}

/** A random source that gives the example's RndA (a fresh copy each time: the library wipes it). */
export const fixedRandom =
  (value: string) =>
  (size: number): Buffer => {
    const b = hex(value);
    if (b.length !== size) throw new Error(`example random is ${b.length} bytes, ${size} asked`);
    return b;
  };
