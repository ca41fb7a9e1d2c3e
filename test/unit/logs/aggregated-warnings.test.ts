import pino from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { AggregatedWarnings } from '../../../agent/logs/aggregated-warnings.js';

function capture(): { log: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ base: null, timestamp: false }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}

t.test('the first of a kind is written with its fields; the rest are counted per peer uid and written once at the end of the interval', async (t) => {
  const { log, lines } = capture();
  const warnings = new AggregatedWarnings(log, 60_000);
  for (let i = 0; i < 1000; i++) warnings.warn('invalidFrames', i % 2 === 0 ? 65534 : 33, { invalidFrames: 2 }, 'connection sent invalid frames');
  warnings.warn('unreadAnswers', 65534, {}, 'client does not read its responses; disconnecting it');
  t.equal(lines.length, 2, 'one line per kind while the interval lasts');
  t.match(lines[0], { kind: 'invalidFrames', invalidFrames: 2, msg: 'connection sent invalid frames' });
  t.match(lines[1], { kind: 'unreadAnswers' });
  warnings.close();
  t.equal(lines.length, 3, 'closing writes what was counted (the second kind had nothing more)');
  t.match(lines[2], { kind: 'invalidFrames', count: 999, peerUids: { '65534': 499, '33': 500 } });
});

t.test('a flood of distinct peer uids is counted under "other" beyond a bound', async (t) => {
  const { log, lines } = capture();
  const warnings = new AggregatedWarnings(log, 60_000);
  for (let uid = 0; uid < 1001; uid++) warnings.warn('invalidFrames', uid, {}, 'connection sent invalid frames');
  warnings.close();
  const peerUids = lines[1]?.peerUids as Record<string, number>;
  t.ok(Object.keys(peerUids).length <= 33, 'at most 32 uids and "other"');
  t.equal(
    Object.values(peerUids).reduce((a, b) => a + b, 0),
    1000,
    'every one counted',
  );
});

t.test('after the interval, the counts are written and a quiet kind is written at once again', async (t) => {
  const { log, lines } = capture();
  const warnings = new AggregatedWarnings(log, 50);
  warnings.warn('invalidFrames', 1, {}, 'm');
  warnings.warn('invalidFrames', 1, {}, 'm');
  for (let i = 0; i < 100 && lines.length < 2; i++) await sleep(20);
  t.match(lines[1], { kind: 'invalidFrames', count: 1 });
  // A quiet interval closes the window (its timer, set before this sleep's, fires first); the next is written as a first again.
  await sleep(200);
  warnings.warn('invalidFrames', 1, { n: 1 }, 'm');
  t.ok(
    lines.some((l) => typeof l.n === 'number'),
    'a warning after a quiet interval is written with its fields',
  );
  warnings.close();
});
