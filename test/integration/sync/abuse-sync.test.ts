// A hostile slave (or whatever answers at the slave's address with the pinned host key): its answer
// is checked like any input. A revision the state could not hold is ignored, its text reaches the
// master's status and log only cleaned and cut, and the master's state stays loadable.
import { writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { call } from '../../../agent/wire/client.js';
import type { SyncStatus } from '../../../agent/wire/results.js';
import { allLogText, cleanup, cli, makeEnv, provisionWithDefaults, startDaemon, statusJson } from '../../support/harness.js';
import { prepareSshd, startSshd } from '../../support/sshd.js';

const ANSWERS = [
  ['a fractional revision', '{"ok":true,"result":{"revision":1.5,"applied":true}}'],
  ['a revision past any real one', '{"ok":true,"result":{"revision":9007199254740993,"applied":true}}'],
  [
    'a refusal with escape sequences and a forged line',
    `{"ok":false,"error":{"code":"refused","message":"\\u001b[31mEVIL\\n2026-01-01 LogExported by=installer ${'x'.repeat(5000)}"}}`,
  ],
] as const;

for (const [what, answer] of ANSWERS) {
  t.test(`a slave answering ${what}: the master stays sound`, async (t) => {
    const base = await makeEnv();
    t.teardown(() => cleanup(base));
    const { dir: sshdDir, hostKey, port } = await prepareSshd(base.dir);
    const master = await makeEnv((dir) => ({
      sync: {
        peer: { host: '127.0.0.1', port, user: userInfo().username, hostKey, privateKeyFile: join(dir, 'sync_key') },
        firstRetryMs: 200,
        maxRetryMs: 1000,
        timeoutMs: 5000,
      },
    }));
    t.teardown(() => cleanup(master));
    const keygen = await cli(null, ['sync', 'keygen', '--config', master.configPath, '--json']);
    const key = JSON.parse(keygen.stdout) as { authorizedKeysLine: string };
    await writeFile(join(base.dir, 'answer.json'), `${answer}\n`);
    const sshd = await startSshd(sshdDir, {
      port,
      authorizedKeys: `${key.authorizedKeysLine}\n`,
      forceCommand: `sh -c 'cat >/dev/null; cat ${join(base.dir, 'answer.json')}'`,
    });
    t.teardown(() => sshd.stop());
    await provisionWithDefaults(master);
    let daemon = await startDaemon(master);
    t.teardown(() => daemon.stop());

    let status: SyncStatus | null = null;
    for (let i = 0; i < 100; i++) {
      status = (await call(master.socket, 'sync.status', {})) as SyncStatus;
      if (status.lastAckedRevision !== null || status.lastError !== null) break;
      await sleep(100);
    }
    t.ok(status, 'the master pushed and heard back');
    if (status?.lastAckedRevision !== null)
      t.ok(
        Number.isSafeInteger(status?.lastAckedRevision) && (status?.lastAckedRevision ?? 0) < 2 ** 40,
        `acknowledged revision is one the state can hold (${status?.lastAckedRevision})`,
      );
    if (status?.lastError) {
      t.notMatch(status.lastError, /\u001b|\n/, 'no escape or newline of the slave in the status');
      t.ok(status.lastError.length < 400, "the slave's text is cut");
    }
    t.notMatch(await allLogText(master), /\\u001b\[31m|x{1000}/, 'nor in the logs');
    // The state the master wrote meanwhile still loads after a restart.
    await daemon.stop();
    daemon = await startDaemon(master);
    const s = await statusJson(master);
    t.equal(s.provisioned, true, 'the master restarts on its state');
    t.equal(s.stateFallback, null, 'with no generation rejected');
  });
}
