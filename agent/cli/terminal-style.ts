import { styled, type Style } from '../common/ansi-style.js';

/** Colour only on a terminal, never with NO_COLOR set (https://no-color.org) or TERM=dumb. */
export function colourFor(stream: NodeJS.WriteStream): (style: Style, text: string) => string {
  const on = stream.isTTY === true && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
  return on ? styled : (_style, text) => text;
}
