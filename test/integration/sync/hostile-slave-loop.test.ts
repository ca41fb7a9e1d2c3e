// Issue 22 #6: a hostile slave (root on it, or whatever holds its pinned host key) answers every
// push so that the master would push again at once: a revision one above the one pushed, or a new
// sealing key each time. The master renumbers once, then treats the slave as in error with backoff
// and a security event; over 10 s it makes a bounded number of pushes (counted as SSH sessions the
// slave's ForceCommand saw). The attacker is root on the slave, not another uid on the master: the
// "attacker as another uid" rule of the socket rows does not apply here.
import { readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { GenerationStore } from '../../../agent/store/generation-store.js';
import { requireProvisioned, stateSchema } from '../../../agent/store/state.js';
import { call } from '../../../agent/wire/client.js';
import type { SyncStatus } from '../../../agent/wire/results.js';
import { cleanup, cli, makeEnv, provisionWithDefaults, startDaemon } from '../../support/harness.js';
import { securityEvents } from '../../support/master-card.js';
import { prepareSshd, startSshd } from '../../support/sshd.js';

/** The slave's side: reads the signed envelope, counts the session, answers as `mode` says. */
const HOSTILE = `
import { appendFileSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
const [mode, countFile] = process.argv.slice(2);
const envelope = JSON.parse(readFileSync(0, 'utf8').trim().split('\\n').at(-1));
const { revision } = JSON.parse(envelope.payload);
appendFileSync(countFile, revision + '\\n');
const result = mode === 'ahead' ? { revision: revision + 1, applied: true } : { revision, applied: true, sealingKey: randomBytes(32).toString('base64') };
process.stdout.write(JSON.stringify({ ok: true, result }) + '\\n');
`;

const WATCH_MS = 10_000;
/**
 * With a first retry of 2 s doubling: the first push, at most one more at once (the renumbered or
 * resealed revision), then retries at +2 s, +4 s after that: 4 within 10 s, 6 with slack for a
 * loaded machine. A master that loops makes one per helper process and SSH session, far more.
 */
const MAX_PUSHES = 6;

for (const mode of ['ahead', 'newSealingKey'] as const) {
  t.test(`a slave answering ${mode === 'ahead' ? 'revision = pushed + 1' : 'a new sealing key'} every time: no push loop`, async (t) => {
    const base = await makeEnv();
    t.teardown(() => cleanup(base));
    const { dir: sshdDir, hostKey, port } = await prepareSshd(base.dir);
    const master = await makeEnv((dir) => ({
      sync: {
        peer: { host: '127.0.0.1', port, user: userInfo().username, hostKey, privateKeyFile: join(dir, 'sync_key') },
        firstRetryMs: 2000,
        maxRetryMs: 8000,
        timeoutMs: 5000,
      },
    }));
    t.teardown(() => cleanup(master));
    const keygen = await cli(null, ['sync', 'keygen', '--config', master.configPath, '--json']);
    t.equal(keygen.code, 0, keygen.stderr);
    const key = JSON.parse(keygen.stdout) as { authorizedKeysLine: string };
    const script = join(base.dir, 'hostile.mjs');
    const sessions = join(base.dir, 'sessions');
    await writeFile(script, HOSTILE);
    await writeFile(sessions, '');
    const sshd = await startSshd(sshdDir, {
      port,
      authorizedKeys: `${key.authorizedKeysLine}\n`,
      forceCommand: `${process.execPath} ${script} ${mode} ${sessions}`,
    });
    t.teardown(() => sshd.stop());
    await provisionWithDefaults(master);
    // A master card: a slave's new sealing key then changes what is pushed (its key sealed anew).
    const store = new GenerationStore(master.stateDir, stateSchema);
    await store.load();
    await store.update((current) => ({
      ...structuredClone(requireProvisioned(current)),
      masterCards: [{ id: 'a1b2c3d4', uidHmac: 'ab'.repeat(32), enrolledAt: '2026-01-01T00:00:00.000Z', reader: 'R', kind: 'uidOnly' }],
    }));
    const daemon = await startDaemon(master);
    t.teardown(() => daemon.stop());

    const count = async (): Promise<number> => (await readFile(sessions, 'utf8')).split('\n').filter(Boolean).length;
    // The first session starts the watch: the helper's start is not what is measured.
    for (let i = 0; i < 200 && (await count()) === 0; i++) await sleep(100);
    t.ok((await count()) >= 1, 'the master pushed');
    const started = performance.now();
    while (performance.now() - started < WATCH_MS && (await count()) <= MAX_PUSHES * 3) await sleep(200);
    const pushes = await count();
    t.ok(pushes <= MAX_PUSHES, `${pushes} pushes in ${WATCH_MS / 1000} s (at most ${MAX_PUSHES})`);

    const status = (await call(master.socket, 'sync.status', {})) as SyncStatus;
    if (mode === 'ahead') {
      t.equal(status.inSync, false, 'the slave is not reported in sync');
      t.match(status.lastError ?? '', /AHEAD/, `the slave is reported ahead: ${status.lastError}`);
      t.match(await securityEvents(master, 'SyncPeerRejected'), [{ reason: 'slaveAhead' }], 'and a security event says so');
      const revisions = (await readFile(sessions, 'utf8')).split('\n').filter(Boolean).map(Number);
      t.ok(Math.max(...revisions) <= 3, `the master renumbered at most once (revisions pushed: ${revisions.join(', ')})`);
    } else {
      t.match(status.lastError ?? '', /sealing key again/, `the slave is reported in error: ${status.lastError}`);
      t.match(await securityEvents(master, 'SyncPeerRejected'), [{ reason: 'sealingKeyChurn' }], 'and a security event says so');
    }
  });
}
