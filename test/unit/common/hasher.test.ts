// The hasher's suspect lane (policy/throttle.ts laneFor) with the real argon2 binding: however
// many checks of unproven secrets are queued, a routine one waits for at most one of them.
import t from 'tap';
import { PasswordHasher } from '../../../agent/common/hasher.js';

// The order of completion is decided by the queues, not by how the OS shares the cores among
// hashes running at once (a loaded machine may favour either): the suspect checks verify against
// a hash some 12 times costlier than the routine one (verify takes the cost from the hash), so the
// routine verify, running beside one suspect check, ends first however the cores are shared.
const hasher = new PasswordHasher({ memoryKiB: 4 * 1024, timeCost: 1, parallelism: 1 }, 2);
const costly = new PasswordHasher({ memoryKiB: 16 * 1024, timeCost: 3, parallelism: 1 }, 2);

t.test('a routine verify overtakes queued suspect ones; suspect ones run one at a time', async (t) => {
  const hash = await hasher.hash('Harbor-Violet-46-Quill');
  const costlyHash = await costly.hash('Harbor-Violet-46-Quill');
  const done: string[] = [];
  const track = (name: string, p: Promise<boolean>): Promise<boolean> => p.then((ok) => (done.push(name), ok));
  const suspects = Array.from({ length: 6 }, (_, i) => track(`suspect${i}`, hasher.verify(costlyHash, `Wrong-Guess-${i}`, 'suspect')));
  const routine = track('routine', hasher.verify(hash, 'Harbor-Violet-46-Quill', 'routine'));
  t.equal(await routine, true, 'the routine verify is right');
  t.same(await Promise.all(suspects), [false, false, false, false, false, false]);
  t.equal(done.indexOf('routine'), 0, `the routine verify is not queued behind any suspect one (${done.join(', ')})`);
  t.same(
    done.filter((d) => d !== 'routine'),
    ['suspect0', 'suspect1', 'suspect2', 'suspect3', 'suspect4', 'suspect5'],
    'suspect ones in order',
  );
});

t.test('without lanes the same routine verify would wait behind them (the reference)', async (t) => {
  const hash = await hasher.hash('Harbor-Violet-46-Quill');
  const costlyHash = await costly.hash('Harbor-Violet-46-Quill');
  const done: string[] = [];
  const track = (name: string, p: Promise<boolean>): Promise<boolean> => p.then((ok) => (done.push(name), ok));
  // Queued on the routine lane, the guesses share its FIFO slots with the login.
  const guesses = Array.from({ length: 6 }, (_, i) => track(`guess${i}`, hasher.verify(costlyHash, `Wrong-Guess-${i}`)));
  await track('routine', hasher.verify(hash, 'Harbor-Violet-46-Quill'));
  await Promise.all(guesses);
  t.ok(done.indexOf('routine') >= 5, `FIFO: the login comes last (${done.join(', ')})`);
});
