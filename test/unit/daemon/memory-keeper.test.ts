// The memory keeper's idle rule, with a fake monotonic clock (the engine's release is tested in test/unit/common/argon2-engine.test.ts).
import pino from 'pino';
import t from 'tap';
import { MemoryKeeper } from '../../../agent/daemon/memory-keeper.js';

function rig(): { hashes: { busy: boolean; idleSince: number; released: number; releaseMemory(): number }; clock: { now: number }; keeper: MemoryKeeper } {
  const clock = { now: 0 };
  const hashes = {
    busy: false,
    idleSince: 1_000,
    released: 0,
    releaseMemory(): number {
      this.released++;
      return 19 * 2 ** 20;
    },
  };
  const keeper = new MemoryKeeper({ idleMs: 10_000, hashes, log: pino({ level: 'silent' }), now: () => clock.now });
  return { hashes, clock, keeper };
}

t.test('gives memory back once no hash has run for idleMs, once per quiet spell', async (t) => {
  const { hashes, clock, keeper } = rig();
  clock.now = 5_000;
  t.same(keeper.releaseIfIdle(), { released: false, reason: 'recent' }, 'not 4 s after the last hash');
  clock.now = 20_000;
  hashes.busy = true;
  t.same(keeper.releaseIfIdle(), { released: false, reason: 'busy' }, 'not while a hash runs');
  hashes.busy = false;
  t.match(keeper.releaseIfIdle(), { released: true, hashBytes: 19 * 2 ** 20 }, 'quiet for 10 s: the hash memory goes back');
  clock.now = 40_000;
  t.same(keeper.releaseIfIdle(), { released: false, reason: 'alreadyReleased' }, 'not again for the same quiet spell');
  hashes.idleSince = 35_000;
  clock.now = 44_000;
  t.same(keeper.releaseIfIdle(), { released: false, reason: 'recent' }, 'a new hash starts a new spell');
  clock.now = 45_000;
  t.match(keeper.releaseIfIdle(), { released: true }, 'which is given back in its turn');
  t.equal(hashes.released, 2);
});
