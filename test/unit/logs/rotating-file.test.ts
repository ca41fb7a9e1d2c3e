import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { RotatingFile } from '../../../agent/logs/rotating-file.js';

async function dir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ccguard-rotate-'));
  t.teardown(() => rm(d, { recursive: true, force: true }));
  return d;
}

const line = (i: number): string => `${JSON.stringify({ i, msg: 'x'.repeat(90) })}\n`;

t.test('rotation by size keeps the configured number of files and loses no recent line', async (t) => {
  const d = await dir(t);
  const path = join(d, 'ccguard.log');
  const file = new RotatingFile(path, 4096, 3);
  for (let i = 0; i < 1000; i++) file.write(line(i));
  file.close();
  const names = (await readdir(d)).sort();
  t.same(names, ['ccguard.log', 'ccguard.log.1', 'ccguard.log.2'], 'the current file and maxFiles-1 rotated ones');
  const text = (await readFile(`${path}.2`, 'utf8')) + (await readFile(`${path}.1`, 'utf8')) + (await readFile(path, 'utf8'));
  const numbers = text
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { i: number }).i);
  t.equal(numbers.at(-1), 999, 'the last line is in the current file');
  t.same(
    numbers,
    numbers.map((_, k) => numbers[0]! + k),
    'oldest to newest without a gap or a torn line',
  );
  for (const name of names) t.ok((await readFile(join(d, name))).length <= 4096, `${name} within maxFileBytes`);
});

t.test('files of an earlier, larger maxFiles go at the next rotation; one file means truncation', async (t) => {
  const d = await dir(t);
  const path = join(d, 'agent.log');
  for (const n of [1, 2, 3, 4, 5, 6]) await writeFile(`${path}.${n}`, 'old\n');
  const file = new RotatingFile(path, 1024, 2);
  for (let i = 0; i < 30; i++) file.write(line(i));
  file.close();
  t.same((await readdir(d)).sort(), ['agent.log', 'agent.log.1']);
  const single = new RotatingFile(join(d, 'one.log'), 1024, 1);
  for (let i = 0; i < 30; i++) single.write(line(i));
  single.close();
  t.notOk(
    (await readdir(d)).some((n) => n.startsWith('one.log.')),
    'no rotated copy with maxFiles 1',
  );
});

t.test('reopen follows an outside logrotate that moved the file', async (t) => {
  const d = await dir(t);
  const path = join(d, 'ccguard.log');
  const file = new RotatingFile(path, 1 << 20, 5);
  file.write(line(1));
  const { rename } = await import('node:fs/promises');
  await rename(path, `${path}-20261124`);
  file.write(line(2)); // still to the moved file, as with any daemon before SIGHUP
  file.reopen();
  file.write(line(3));
  file.close();
  t.equal(await readFile(`${path}-20261124`, 'utf8'), line(1) + line(2));
  t.equal(await readFile(path, 'utf8'), line(3));
});

t.test('a FIFO or a symlink where a log file goes is refused with the path named, without blocking', async (t) => {
  const d = await dir(t);
  const { execFileSync } = await import('node:child_process');
  const { symlink } = await import('node:fs/promises');
  const fifo = join(d, 'security.log');
  execFileSync('mkfifo', [fifo]);
  t.throws(() => new RotatingFile(fifo, 4096, 2), /security\.log is not a regular file/, 'a FIFO without a reader');
  await writeFile(join(d, 'target'), '');
  await symlink(join(d, 'target'), join(d, 'agent.log'));
  t.throws(() => new RotatingFile(join(d, 'agent.log'), 4096, 2), /agent\.log is not a regular file/, 'a symlink is not followed');
  t.equal(await readFile(join(d, 'target'), 'utf8'), '', 'nothing written through it');
  // A file that was fine at start and replaced by a FIFO before a SIGHUP: lines keep going to the open file.
  const path = join(d, 'ccguard.log');
  const file = new RotatingFile(path, 1 << 20, 2);
  file.write(line(1));
  const { rename } = await import('node:fs/promises');
  await rename(path, `${path}.moved`);
  execFileSync('mkfifo', [path]);
  t.throws(() => file.reopen(), /not a regular file/);
  file.write(line(2));
  file.close();
  t.equal((await readFile(`${path}.moved`, 'utf8')).split('\n').length - 1, 2, 'the second line went to the file still open');
});
