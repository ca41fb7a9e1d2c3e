// Log Password rules (policy/log-password.ts): 12 to 128 characters (code points, not UTF-16 units),
// no control characters, no space at either end; the first rule broken is the one reported.
import fc from 'fast-check';
import t from 'tap';
import { checkLogPassword, LOG_PASSWORD_MAX_LENGTH, LOG_PASSWORD_MIN_GUESSES_LOG10, LOG_PASSWORD_MIN_LENGTH } from '../../../policy/log-password.js';

const rule = (candidate: string): string | null => checkLogPassword(candidate)?.rule ?? null;

t.test('the limits', async (t) => {
  t.equal(LOG_PASSWORD_MIN_LENGTH, 12);
  t.equal(LOG_PASSWORD_MAX_LENGTH, 128);
  t.equal(rule('a'.repeat(11)), 'minLength');
  t.equal(rule('a'.repeat(12)), null);
  t.equal(rule('a'.repeat(128)), null);
  t.equal(rule('a'.repeat(129)), 'maxLength');
  t.equal(rule(''), 'minLength');
});

t.test('length counts characters: 12 emoji are enough, though 24 UTF-16 units', async (t) => {
  t.equal(rule('🔑'.repeat(12)), null);
  t.equal(rule('🔑'.repeat(11)), 'minLength');
  t.equal(rule('🔑'.repeat(128)), null, '256 UTF-16 units, 128 characters');
  t.equal(rule('🔑'.repeat(129)), 'maxLength');
});

t.test('characters and spaces', async (t) => {
  t.equal(rule('Harbor Violet 46'), null, 'inner spaces are fine');
  t.equal(rule(' Harbor-Violet-46'), 'edgeSpaces');
  t.equal(rule('Harbor-Violet-46 '), 'edgeSpaces');
  t.equal(rule('Harbor\tViolet-46'), 'characters');
  t.equal(rule('Harbor-Violet-46\n'), 'characters', 'a pasted line break is a control character, not an edge space');
  t.equal(rule('Harbor\u007fViolet-46'), 'characters');
  t.equal(rule('a\u0000'), 'characters', 'control characters are reported before the length');
});

t.test('each refusal has a message naming the rule', async (t) => {
  t.match(checkLogPassword('short'), { rule: 'minLength', message: /at least 12/ });
  t.match(checkLogPassword('x'.repeat(200)), { rule: 'maxLength', message: /at most 128/ });
  t.match(checkLogPassword(' padded-password '), { rule: 'edgeSpaces', message: /space/ });
});

const printable = fc.string({ unit: fc.constantFrom(...'abcXYZ019-_!#äé€🔑 '.split(/(?:)/u)), minLength: 0, maxLength: 200 });

t.test('property: accepted exactly when 12..128 characters, no control character, no edge space', async () => {
  fc.assert(
    fc.property(fc.oneof(printable, fc.string({ maxLength: 200 })), (candidate) => {
      const length = [...candidate].length;
      const expected = !/\p{Cc}/u.test(candidate) && length >= LOG_PASSWORD_MIN_LENGTH && length <= LOG_PASSWORD_MAX_LENGTH && candidate.trim() === candidate;
      return (checkLogPassword(candidate) === null) === expected;
    }),
  );
});

// Issue 24: with a strength verdict (policy/strength.ts), the blocklist and a bar above a role password's.
t.test('with a strength verdict: listed candidates and easy guesses are refused, naming the rule', async (t) => {
  const strong = { guessesLog10: 14, listed: null };
  t.equal(checkLogPassword('Harbor-Violet-46-Quill', strong), null);
  t.match(checkLogPassword('Password1234', { guessesLog10: 3.4, listed: 'breached' }), { rule: 'breached', message: /leaked/ });
  t.match(checkLogPassword('Summer2025!!', { guessesLog10: 5.4, listed: 'commonBase' }), { rule: 'commonBase', message: /common password/ });
  t.match(checkLogPassword('Log-Password-2024!', { guessesLog10: 8.4, listed: 'context' }), { rule: 'context', message: /this device or its logs/ });
  t.equal(checkLogPassword('BlueTree-2024!', { guessesLog10: LOG_PASSWORD_MIN_GUESSES_LOG10 - 0.05, listed: null })?.rule, 'strength');
  t.equal(checkLogPassword('BlueTree-2024!', { guessesLog10: LOG_PASSWORD_MIN_GUESSES_LOG10, listed: null }), null);
  t.ok(LOG_PASSWORD_MIN_GUESSES_LOG10 > 8, 'above the 10^8 guesses of a strong role password (score 3)');
  t.equal(checkLogPassword('short', { guessesLog10: 0, listed: 'breached' })?.rule, 'minLength', 'the form rules come first');
  for (const r of ['breached', 'commonBase', 'context'] as const) {
    t.notMatch(checkLogPassword('Password1234', { guessesLog10: 0, listed: r })?.message ?? '', /password1234/i, `${r} does not echo`);
  }
});
