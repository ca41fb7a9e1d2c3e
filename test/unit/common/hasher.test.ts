// The hasher's suspect lane (policy/throttle.ts laneFor) with the real argon2 binding: however
// many checks of unproven secrets are queued, a routine one waits for at most one of them.
import t from 'tap';
import { PasswordHasher } from '../../../agent/common/hasher.js';

// Costly enough that the order of completion is decided by the queues, not by chance.
const hasher = new PasswordHasher({ memoryKiB: 8 * 1024, timeCost: 2, parallelism: 1 }, 2);

t.test('a routine verify overtakes queued suspect ones; suspect ones run one at a time', async (t) => {
  const hash = await hasher.hash('Harbor-Violet-46-Quill');
  const done: string[] = [];
  const track = (name: string, p: Promise<boolean>): Promise<boolean> => p.then((ok) => (done.push(name), ok));
  const suspects = Array.from({ length: 6 }, (_, i) => track(`suspect${i}`, hasher.verify(hash, `Wrong-Guess-${i}`, 'suspect')));
  const routine = track('routine', hasher.verify(hash, 'Harbor-Violet-46-Quill', 'routine'));
  t.equal(await routine, true, 'the routine verify is right');
  t.same(await Promise.all(suspects), [false, false, false, false, false, false]);
  // It starts behind at most one suspect check; that one and the next may end around it on a loaded machine.
  t.ok(done.indexOf('routine') <= 2, `the routine verify is not queued behind the suspect ones (${done.join(', ')})`);
  t.same(done.filter((d) => d !== 'routine'), ['suspect0', 'suspect1', 'suspect2', 'suspect3', 'suspect4', 'suspect5'], 'suspect ones in order');
});

t.test('without lanes the same routine verify would wait behind them (the reference)', async (t) => {
  const hash = await hasher.hash('Harbor-Violet-46-Quill');
  const done: string[] = [];
  const track = (name: string, p: Promise<boolean>): Promise<boolean> => p.then((ok) => (done.push(name), ok));
  // Queued on the routine lane, the guesses share its FIFO slots with the login.
  const guesses = Array.from({ length: 6 }, (_, i) => track(`guess${i}`, hasher.verify(hash, `Wrong-Guess-${i}`)));
  await track('routine', hasher.verify(hash, 'Harbor-Violet-46-Quill'));
  await Promise.all(guesses);
  t.ok(done.indexOf('routine') >= 5, `FIFO: the login comes last (${done.join(', ')})`);
});
