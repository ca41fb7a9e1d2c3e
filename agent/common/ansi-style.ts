import { inspect } from 'node:util';

/**
 * The few terminal styles ccguard uses. Not `util.styleText`: it came in Node 20.12, and the
 * armhf build runs on Node 20.11.0, the last 20.x the registry has for armv7l (issue 25).
 */
export type Style = 'bold' | 'cyan' | 'gray' | 'green' | 'magenta' | 'red' | 'white' | 'yellow';

/** `text` wrapped in the style's SGR codes (util.inspect's table, present in every Node). */
export function styled(style: Style, text: string): string {
  const codes = inspect.colors[style];
  return codes ? `\u001b[${codes[0]}m${text}\u001b[${codes[1]}m` : text;
}
