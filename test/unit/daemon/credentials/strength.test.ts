// The daemon's password-strength service: the blocklist read on first use and dropped when idle,
// and the start's warm-up, which must not take the list from a change that needs it.
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { BLOCKLIST_FILE, StrengthService } from '../../../../agent/daemon/credentials/strength.js';

const dir = await mkdtemp(join(tmpdir(), 'ccguard-strength-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const context = ['cc612-station'];

/** A service over its own copy of the blocklist: removing the copy shows whether the list is still held. */
async function service(name: string): Promise<{ strength: StrengthService; file: string }> {
  const file = join(dir, name);
  await copyFile(BLOCKLIST_FILE, file);
  const strength = new StrengthService(60_000, file);
  t.teardown(() => strength.close());
  return { strength, file };
}

t.test('a warm-up leaves no list behind: the next check reads the file again', async (t) => {
  const { strength, file } = await service('dropped.bin');
  await strength.warmUp('Warm-Up-Candidate-2026!', context);
  await rm(file);
  await t.rejects(strength.check('P@ssw0rd123', context), /password blocklist .* ENOENT: reinstall/, 'the file is needed again');
});

t.test('a check that begins during the warm-up keeps the list for the checks after it', async (t) => {
  const { strength, file } = await service('kept.bin');
  const warming = strength.warmUp('Warm-Up-Candidate-2026!', context);
  const inProgress = strength.check('P@ssw0rd123', context);
  await warming;
  t.ok((await inProgress).listed, 'the check in progress is answered');
  await rm(file);
  t.ok((await strength.check('Pedro2024!', context)).listed, 'the next check still has the list (the file is gone)');
});

t.test('a list a change loaded before the warm-up stays loaded after it', async (t) => {
  const { strength, file } = await service('before.bin');
  t.ok((await strength.check('P@ssw0rd123', context)).listed, 'a listed password is found');
  await strength.warmUp('Warm-Up-Candidate-2026!', context);
  await rm(file);
  t.ok((await strength.check('Pedro2024!', context)).listed, 'still held (the file is gone)');
});
