import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { exportLogs } from '../../../agent/logs/log-export.js';

const openFds = async (): Promise<number> => (await readdir('/proc/self/fd')).length;

t.test('abort(reason) mid-entry: the archive fails with the reason, every file is closed, nothing more is read', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ccguard-log-export-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const name of ['a.log', 'b.log', 'c.log']) await writeFile(join(dir, name), randomBytes(8 * 1024 * 1024));
  const fds = await openFds();
  const zip = await exportLogs(dir, null, 4);
  t.equal(await openFds(), fds + 3, 'every file opened up front');
  const reason = new Error('the client closed the connection during the transfer');
  const failed = new Promise<Error>((resolve) => zip.archive.once('error', resolve));
  let received = 0;
  zip.archive.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > 2 * 1024 * 1024 && received - chunk.length <= 2 * 1024 * 1024) zip.abort(reason);
  });
  t.equal(await failed, reason, 'the archive fails with the reason');
  const done = zip.doneBytes();
  t.ok(done < zip.totalBytes, `read ${done} of ${zip.totalBytes} bytes`);
  await sleep(300);
  t.equal(zip.doneBytes(), done, 'nothing read after the abort');
  t.equal(await openFds(), fds, 'every file closed');
});
