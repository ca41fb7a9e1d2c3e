import { styled, type Style } from '../common/ansi-style.js';
import { visible } from '../common/visible.js';

const LEVELS: Record<number, [string, Style]> = {
  10: ['TRACE', 'gray'],
  20: ['DEBUG', 'gray'],
  30: ['INFO', 'green'],
  40: ['WARN', 'yellow'],
  50: ['ERROR', 'red'],
  60: ['FATAL', 'magenta'],
};

/** Fields every line has or that say nothing to a person at a terminal. */
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'v']);

function value(v: unknown): string {
  if (v !== null && typeof v === 'object' && 'message' in v && typeof (v as { message: unknown }).message === 'string') {
    return visible(JSON.stringify((v as { message: string }).message)); // a serialized error: its message is enough here
  }
  if (typeof v === 'string') return visible(/^[^\s"=]+$/.test(v) ? v : JSON.stringify(v));
  return visible(String(JSON.stringify(v)));
}

/**
 * One readable line from one pino JSON line: local time, level, message, then the other fields
 * as key=value. Control characters are escaped, so a logged value cannot drive the terminal.
 */
export function prettyLine(json: string, colour: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return visible(json.trimEnd());
  }
  const time = typeof entry.time === 'string' || typeof entry.time === 'number' ? new Date(entry.time) : new Date();
  const clock = Number.isNaN(time.getTime()) ? '--:--:--.---' : `${time.toTimeString().slice(0, 8)}.${String(time.getMilliseconds()).padStart(3, '0')}`;
  const [name, style] = LEVELS[entry.level as number] ?? ['LOG', 'white'];
  const level = colour ? styled(style, name.padEnd(5)) : name.padEnd(5);
  const fields = Object.entries(entry)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${visible(k)}=${value(v)}`);
  const msg = typeof entry.msg === 'string' ? visible(entry.msg) : '';
  // Each part escaped on its own, so the level's colour is the only escape sequence on the line.
  return [clock, level, msg, ...fields].filter((part) => part !== '').join(' ');
}

/** A pino destination for a terminal: readable lines (a terminal's writes are synchronous on Linux). */
export class PrettyTerminal {
  readonly #colour: boolean;

  constructor(private readonly stream: NodeJS.WriteStream) {
    // Colour decided here (https://no-color.org, TERM=dumb), as the CLI does.
    this.#colour = !process.env.NO_COLOR && process.env.TERM !== 'dumb';
    // A terminal gone away (hang-up) must not stop the daemon; the log file has every line.
    stream.on('error', () => undefined);
  }

  write(line: string): boolean {
    this.stream.write(`${prettyLine(line, this.#colour)}\n`);
    return true;
  }
}
