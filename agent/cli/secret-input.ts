import { InvalidInputError } from '../common/errors.js';
import { promptNoEcho } from './no-echo-prompt.js';

export interface SecretPrompt {
  label: string;
  /** Ask twice on a terminal (for new secrets); --stdin gives it once. */
  confirm?: boolean;
}

async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Reads secrets, never from argv: with `fromStdin`, one per line in the order of `prompts`;
 * otherwise from no-echo prompts on the terminal.
 */
export async function readSecrets(prompts: readonly SecretPrompt[], fromStdin: boolean): Promise<string[]> {
  if (fromStdin) {
    const lines = (await readAllStdin()).split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
    const secrets = lines.slice(0, prompts.length);
    if (secrets.length < prompts.length || secrets.some((s) => s.length === 0)) {
      const expected = prompts.map((p) => p.label.toLowerCase()).join(', then ');
      throw new InvalidInputError(`--stdin expects ${prompts.length} non-empty line(s): ${expected}`);
    }
    return secrets;
  }
  if (!process.stdin.isTTY) {
    throw new InvalidInputError('no terminal to prompt on: give the secrets on standard input, one per line, with --stdin');
  }
  const secrets: string[] = [];
  for (const prompt of prompts) {
    const value = await promptNoEcho(`${prompt.label}: `);
    if (value.length === 0) throw new InvalidInputError(`${prompt.label}: nothing entered`);
    if (prompt.confirm) {
      const again = await promptNoEcho(`${prompt.label} (again): `);
      if (again !== value) throw new InvalidInputError(`${prompt.label}: the two entries differ`);
    }
    secrets.push(value);
  }
  return secrets;
}
