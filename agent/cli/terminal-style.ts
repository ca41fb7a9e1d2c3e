import { styleText } from 'node:util';

type Style = Parameters<typeof styleText>[0];

/** Colour only on a terminal, never with NO_COLOR set (https://no-color.org) or TERM=dumb. */
export function colourFor(stream: NodeJS.WriteStream): (style: Style, text: string) => string {
  const on = stream.isTTY === true && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
  // Decided here (NO_COLOR included), so styleText must not second-guess it (it drops colour without TERM).
  return on ? (style, text) => styleText(style, text, { validateStream: false }) : (_style, text) => text;
}
