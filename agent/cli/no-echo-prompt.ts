import { InvalidInputError } from '../common/errors.js';

/**
 * One line from the terminal without echo, for secrets. Replaces the `read` package, whose
 * `mute-stream` needs Node ≥ 20.17 while the armhf build runs on 20.11.0 (issue 25). Raw mode: the
 * terminal echoes nothing; Enter ends, Backspace deletes, Ctrl-C and Ctrl-D abort.
 */
export async function promptNoEcho(label: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WritableStream = process.stderr): Promise<string> {
  // Echo off before the prompt shows: whoever answers the prompt the moment it appears (a fast
  // typist, an expect script) must not have the answer echoed in the gap between the two.
  const wasRaw = input.isRaw;
  input.setRawMode(true);
  output.write(label);
  input.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let value = '';
      const done = (err?: Error): void => {
        input.off('data', onData);
        input.off('end', onEnd);
        output.write('\n');
        if (err) reject(err);
        else resolve(value);
      };
      const onEnd = (): void => done(new InvalidInputError(`${label.trim()} input ended`));
      const onData = (chunk: Buffer): void => {
        const chars = [...chunk.toString('utf8')];
        for (const [i, ch] of chars.entries()) {
          if (ch === '\r' || ch === '\n') {
            // Typed ahead (a pasted pair of lines): the rest is the next prompt's.
            if (i + 1 < chars.length) input.unshift(Buffer.from(chars.slice(i + 1).join(''), 'utf8'));
            return done();
          }
          if (ch === '\u0003') return done(new InvalidInputError('cancelled'));
          if (ch === '\u0004') return done(value.length === 0 ? new InvalidInputError('cancelled') : undefined);
          if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
          else if (ch >= ' ') value += ch;
        }
      };
      input.on('data', onData);
      input.on('end', onEnd);
    });
  } finally {
    input.setRawMode(wasRaw);
    input.pause();
  }
}
