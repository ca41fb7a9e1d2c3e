// The reader gate: at most one native PC/SC call per reader, whatever a card does; a stalled call
// keeps its reader busy (it holds a pool thread) until it ends, and nothing more is sent meanwhile.
import t from 'tap';
import { ReaderGate } from '../../../rfid/card-link.js';
import { CardNoAnswerError } from '../../../rfid/reader-watch-errors.js';

/** A native call the test ends by hand. */
function pending<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

t.test('a stalled call times out, keeps its reader busy, and refuses the next call unsent', async (t) => {
  const gate = new ReaderGate();
  const stuck = pending<Buffer>();
  let calls = 0;
  const native = (): Promise<Buffer> => {
    calls++;
    return stuck.promise;
  };
  await t.rejects(gate.run('R1', 20, native), CardNoAnswerError, 'the caller gets its timeout');
  t.ok(gate.busy('R1'), 'the native call still runs');
  await t.rejects(gate.run('R1', 20, native), CardNoAnswerError, 'a second call is refused');
  t.equal(calls, 1, 'and never sent');
  // Another reader is not affected.
  t.same(await gate.run('R2', 1000, async () => Buffer.from([0x90, 0])), Buffer.from([0x90, 0]));
  // The stalled call ends (the card left): the reader is free again.
  const idle = gate.idle('R1');
  stuck.resolve(Buffer.alloc(0));
  await idle;
  t.notOk(gate.busy('R1'));
  t.same(await gate.run('R1', 1000, async () => Buffer.from([1])), Buffer.from([1]));
});

t.test('a failed native call frees the reader; its error reaches the caller', async (t) => {
  const gate = new ReaderGate();
  await t.rejects(
    gate.run('R1', 1000, () => Promise.reject(new Error('SCARD_W_REMOVED_CARD'))),
    /REMOVED/,
  );
  t.notOk(gate.busy('R1'));
  await t.resolves(gate.idle('R1'));
});

t.test('calls one after the other on one reader never overlap', async (t) => {
  const gate = new ReaderGate();
  let running = 0;
  let most = 0;
  const native = async (): Promise<number> => {
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, 2));
    running--;
    return most;
  };
  const results = await Promise.allSettled(Array.from({ length: 20 }, () => gate.run('R1', 1000, native)));
  t.equal(most, 1, 'never two at once');
  t.ok(results.filter((r) => r.status === 'rejected').length >= 19, 'concurrent extras are refused, not queued');
});
