// The argon2 engine against the argon2 package (the reference implementation both build on):
// the same PHC strings, each side's hashes checked by the other, memory kept and given back.
import argon2 from 'argon2';
import t from 'tap';
import { Argon2Engine } from '../../../agent/common/argon2-engine.js';

const PARAMS = { memoryKiB: 4 * 1024, timeCost: 1, parallelism: 1 };
const PASSWORD = 'Harbor-Violet-46-Quill ünïcode';

t.test('the pool binding loads', async (t) => {
  t.equal(new Argon2Engine(2).unavailable, null);
});

t.test("hashes in the argon2 package's format; each side checks the other's", async (t) => {
  const engine = new Argon2Engine(2);
  const ours = await engine.hash(PASSWORD, PARAMS);
  t.match(ours, /^\$argon2id\$v=19\$m=4096,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  t.ok(await argon2.verify(ours, PASSWORD), 'the package verifies ours');
  const theirs = await argon2.hash(PASSWORD, { type: argon2.argon2id, memoryCost: 4096, timeCost: 1, parallelism: 1 });
  t.ok(await engine.verify(theirs, PASSWORD), 'we verify the package’s');
  t.notOk(await engine.verify(theirs, `${PASSWORD}!`), 'a wrong password does not match');
  t.notOk(await engine.verify(ours, PASSWORD.slice(0, -1)), 'nor a prefix');
  // Same salt, same parameters: byte-identical strings.
  const salt = Buffer.from(ours.split('$')[4] as string, 'base64');
  t.equal(await argon2.hash(PASSWORD, { type: argon2.argon2id, memoryCost: 4096, timeCost: 1, parallelism: 1, salt }), ours);
});

t.test('other hashes go to the package; malformed ones match nothing', async (t) => {
  const engine = new Argon2Engine(2);
  const argon2i = await argon2.hash(PASSWORD, { type: argon2.argon2i, memoryCost: 4096, timeCost: 1, parallelism: 1 });
  t.ok(await engine.verify(argon2i, PASSWORD), 'argon2i checked by the package');
  for (const bad of [
    '',
    'plain',
    '$argon2id$v=19$m=4096,t=1,p=1$short$short',
    '$argon2id$v=19$m=4096,t=1,p=1,extra=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo',
    '$argon2id$v=19$m=1,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA',
  ]) {
    t.equal(await engine.verify(bad, PASSWORD), false, `no match for ${JSON.stringify(bad)}`);
  }
});

t.test('needsRehash as the package decides it', async (t) => {
  const engine = new Argon2Engine(2);
  const hash = await engine.hash(PASSWORD, PARAMS);
  t.equal(await engine.needsRehash(hash, PARAMS), false);
  for (const other of [
    { ...PARAMS, memoryKiB: 8192 },
    { ...PARAMS, timeCost: 2 },
    { ...PARAMS, parallelism: 2 },
  ]) {
    t.equal(await engine.needsRehash(hash, other), true);
    t.equal(argon2.needsRehash(hash, { memoryCost: other.memoryKiB, timeCost: other.timeCost, parallelism: other.parallelism }), true);
  }
  const argon2i = await argon2.hash(PASSWORD, { type: argon2.argon2i, memoryCost: 4096, timeCost: 1, parallelism: 1 });
  t.equal(await engine.needsRehash(argon2i, PARAMS), argon2.needsRehash(argon2i, { memoryCost: 4096, timeCost: 1, parallelism: 1 }));
});

t.test('one mapping per concurrent hash is kept, and given back on request', async (t) => {
  const engine = new Argon2Engine(2);
  const hash = await engine.hash(PASSWORD, PARAMS);
  // The pool is per process: whatever earlier tests left, release it first.
  engine.release();
  t.equal(engine.keptBytes, 0, 'nothing kept after a release');
  await engine.verify(hash, PASSWORD);
  t.equal(engine.keptBytes, PARAMS.memoryKiB * 1024, 'one hash: one mapping kept');
  await Promise.all(Array.from({ length: 5 }, () => engine.verify(hash, PASSWORD)));
  t.ok(engine.keptBytes <= 2 * PARAMS.memoryKiB * 1024, `five at once: at most two kept (${engine.keptBytes / 1024} KiB)`);
  t.ok(await engine.verify(hash, PASSWORD), 'hashes beyond the slots still work');
  const kept = engine.keptBytes;
  t.equal(engine.release(), kept, 'release says what it gave back');
  t.equal(engine.keptBytes, 0, 'released');
});

t.test('a stored hash asking for more than a config may set matches nothing, at once', async (t) => {
  const engine = new Argon2Engine(2);
  // As a hostile state file or sync payload could hold: a time cost that would hold a hash slot for hours.
  const salt = 'c2FsdHNhbHRzYWx0c2FsdA';
  const hash = 'aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';
  for (const params of ['m=19456,t=4000000000,p=1', 'm=4194305,t=2,p=1', 'm=19456,t=2,p=17']) {
    const t0 = performance.now();
    t.equal(await engine.verify(`$argon2id$v=19$${params}$${salt}$${hash}`, PASSWORD), false, params);
    t.ok(performance.now() - t0 < 1000, `${params}: refused without hashing`);
  }
  const argon2i = `$argon2i$v=19$m=19456,t=4000000000,p=1$${salt}$${hash}`;
  t.equal(await engine.verify(argon2i, PASSWORD), false, 'another type asking for too much is not handed to the package either');
});
