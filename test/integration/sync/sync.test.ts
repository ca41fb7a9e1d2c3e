// A double station: master and slave agents, and a real OpenSSH sshd on 127.0.0.1 whose
// ForceCommand runs the slave's `ccguard sync receive`.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import ssh2 from 'ssh2';
import { call } from '../../../agent/wire/client.js';
import type { SyncStatus } from '../../../agent/wire/results.js';
import { BIN, cleanup, cli, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon, type Env } from '../../support/harness.js';
import { nonConforming, schemaErrors } from '../../support/json-schema.js';
import { prepareSshd, startSshd, type Sshd } from '../../support/sshd.js';

const NEW = ['Harbor-Violet-46-Quill', 'Cobalt-Meadow-27-Anchor', 'Saffron-Ridge-83-Mosaic'] as const;

const syncStatus = async (env: Env): Promise<SyncStatus> => (await call(env.socket, 'sync.status', {})) as SyncStatus;
const login = async (env: Env, role: string, password: string): Promise<number> => (await cli(env, ['login', role, '--stdin'], `${password}\n`)).code;

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  for (;;) {
    const value = await probe();
    if (ok(value)) return { value, ms: performance.now() - started };
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await sleep(100);
  }
}

async function events(env: Env, name?: string): Promise<Array<Record<string, unknown>>> {
  const r = (await call(env.socket, 'events', { limit: 10_000 })) as { events: Array<Record<string, unknown>> };
  return r.events.filter((e) => name === undefined || e.event === name);
}

/** Runs the slave's `ccguard sync receive` as sshd would, with `stdin` as the push. */
function receive(slave: Env, stdin: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(BIN, ['sync', 'receive'], { env: { ...process.env, CCGUARD_SOCKET: slave.socket } });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout }));
    child.stdin.end(stdin);
  });
}

t.test('master and slave over SSH: changes reach the slave, it catches up, a wrong pin and a replay change nothing', async (t) => {
  const base = await makeEnv();
  t.teardown(() => cleanup(base));
  const { dir: sshdDir, hostKey, port } = await prepareSshd(base.dir);
  const peer = { host: '127.0.0.1', port, user: userInfo().username, hostKey };
  const timing = { firstRetryMs: 200, maxRetryMs: 1000, keepaliveMs: 1000, timeoutMs: 5000 };

  const master = await makeEnv((dir) => ({ sync: { peer: { ...peer, privateKeyFile: join(dir, 'sync_key') }, ...timing } }));
  t.teardown(() => cleanup(master));
  const keygen = await cli(null, ['sync', 'keygen', '--config', master.configPath, '--json']);
  t.equal(keygen.code, 0, keygen.stderr);
  const key = JSON.parse(keygen.stdout) as { publicKey: string; authorizedKeysLine: string; created: boolean };
  t.match(key, { created: true, publicKey: /^ssh-ed25519 [A-Za-z0-9+/=]+ ccguard-sync@/ });
  t.equal(key.authorizedKeysLine, `restrict,command="ccguard sync receive" ${key.publicKey}`);
  const secondRun = await cli(null, ['sync', 'keygen', '--config', master.configPath, '--json']);
  t.equal(secondRun.code, 0, `second keygen: ${secondRun.stderr}`);
  const again = JSON.parse(secondRun.stdout || '{}') as { publicKey: string; created: boolean };
  t.same([again.created, again.publicKey], [false, key.publicKey], 'a second keygen shows the same key');

  const slave = await makeEnv({ sync: { masterKey: key.publicKey } });
  t.teardown(() => cleanup(slave));
  await provisionWithDefaults(master);
  await provisionWithDefaults(slave);
  const slaveDaemon = await startDaemon(slave);
  t.teardown(() => slaveDaemon.stop());
  const sshdOptions = { port, authorizedKeys: `${key.authorizedKeysLine}\n`, forceCommand: `env CCGUARD_SOCKET=${slave.socket} ${BIN} sync receive` };
  let sshd: Sshd = await startSshd(sshdDir, sshdOptions);
  t.teardown(() => sshd.stop());
  const masterDaemon = await startDaemon(master);
  t.teardown(() => masterDaemon.stop());

  // On start the master pushes its state.
  const first = await until(
    'first sync',
    () => syncStatus(master),
    (s) => s.inSync,
  );
  t.match(first.value, { peer: `${peer.user}@127.0.0.1:${port}`, revision: 1, lastAckedRevision: 1, lastError: null });
  t.equal(await login(slave, 'operator', DEFAULTS.operator), 3, "the slave has the master's default hashes (must change)");

  // A password change on the master: the slave accepts the new password within seconds.
  t.equal((await cli(master, ['passwd', 'operator', '--stdin'], `${DEFAULTS.operator}\n${NEW[0]}\n`)).code, 0);
  const changed = await until(
    'slave accepts the new password',
    () => login(slave, 'operator', NEW[0]),
    (code) => code === 0,
  );
  t.ok(changed.ms < 5000, `slave accepted it after ${Math.round(changed.ms)} ms`);
  t.equal(await login(slave, 'operator', DEFAULTS.operator), 1, 'the old one no longer works on the slave');
  // Throttling stays local.
  await login(master, 'installer', 'Wrong-Password-123');
  await sleep(500);
  t.equal(((await call(slave.socket, 'status', {})) as { roles: { installer: { failures: number } } }).roles.installer.failures, 0);

  // The slave unreachable during changes: the master keeps working and catches the slave up later.
  await sshd.stop();
  const before = performance.now();
  t.equal((await cli(master, ['passwd', 'operator', '--stdin'], `${NEW[0]}\n${NEW[1]}\n`)).code, 0);
  t.ok(performance.now() - before < 3000, 'a password change does not wait for the slave');
  t.equal((await cli(master, ['policy', 'set', '--strong', 'off', '--stdin'], `${DEFAULTS.manufacturer}\n`)).code, 3, 'manufacturer must change first');
  const down = await until(
    'push failure',
    () => syncStatus(master),
    (s) => !s.inSync && s.lastError !== null,
  );
  t.match(down.value.lastError, /cannot reach .*127\.0\.0\.1:\d+/);
  const human = await cli(master, ['sync', 'status']);
  t.match(human.stdout, /state +OUT OF SYNC/);
  t.equal(
    await schemaErrors('sync-status.schema.json', JSON.parse((await cli(master, ['sync', 'status', '--json'])).stdout)),
    null,
    'sync status --json (out of sync) conforms to schemas/sync-status.schema.json',
  );
  t.equal(
    await schemaErrors('status.schema.json', JSON.parse((await cli(master, ['status', '--json'])).stdout)),
    null,
    'status --json with its sync (out of sync) conforms',
  );
  t.equal(await login(slave, 'operator', NEW[0]), 0, 'meanwhile the slave still has the previous password');
  sshd = await startSshd(sshdDir, sshdOptions);
  const caughtUp = await until(
    'slave catches up',
    () => login(slave, 'operator', NEW[1]),
    (code) => code === 0,
    20_000,
  );
  t.pass(`caught up ${Math.round(caughtUp.ms)} ms after sshd came back`);
  const synced = await until(
    'in sync',
    () => syncStatus(master),
    (s) => s.inSync,
  );
  t.equal(synced.value.lastError, null);
  t.equal(
    await schemaErrors('sync-status.schema.json', JSON.parse((await cli(master, ['sync', 'status', '--json'])).stdout)),
    null,
    'sync status --json (in sync) conforms',
  );
  t.equal(
    await schemaErrors('status.schema.json', JSON.parse((await cli(master, ['status', '--json'])).stdout)),
    null,
    'status --json with its sync (in sync) conforms',
  );

  // A replayed older revision (validly signed) changes nothing; a forged one is refused.
  const privateKey = ssh2.utils.parseKey(await readFile(join(master.dir, 'sync_key')));
  if (privateKey instanceof Error || Array.isArray(privateKey)) throw new Error('cannot parse the sync key');
  const slaveState = (await call(slave.socket, 'status', {})) as { stateGeneration: number };
  const oldPayload = JSON.stringify({
    kind: 'ccguard-sync/1',
    revision: 1,
    roles: Object.fromEntries(
      (['manufacturer', 'installer', 'operator', 'user'] as const).map((r) => [
        r,
        {
          hash: `$argon2id$v=19$m=1024,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$${'A'.repeat(43)}`,
          defaultHash: `$argon2id$x`,
          isDefault: true,
          mustChange: true,
          history: [],
          changedAt: 'x',
        },
      ]),
    ),
    policy: { enforceStrong: false, enforcePasswordChange: false },
    puk: null,
    masterCards: [],
  });
  const signature = privateKey.sign(Buffer.from(oldPayload));
  if (signature instanceof Error) throw signature;
  const replay = await receive(slave, JSON.stringify({ payload: oldPayload, signature: signature.toString('base64') }));
  t.equal(replay.code, 0);
  t.match(JSON.parse(replay.stdout), { ok: true, result: { applied: false, revision: synced.value.revision } });
  t.equal(((await call(slave.socket, 'status', {})) as { stateGeneration: number }).stateGeneration, slaveState.stateGeneration, 'no write at all');
  t.equal(await login(slave, 'operator', NEW[1]), 0);
  t.match(await events(slave, 'AttemptedReplayAttacks'), [{ channel: 'sync', revision: 1, have: synced.value.revision }]);
  const forged = await receive(
    slave,
    JSON.stringify({ payload: oldPayload.replace('"revision":1', '"revision":99'), signature: signature.toString('base64') }),
  );
  t.equal(forged.code, 1);
  t.match(JSON.parse(forged.stdout), { ok: false, error: { code: 'refused', message: /signature is not from the master key/ } });
  t.equal(await login(slave, 'operator', NEW[1]), 0);

  // A master whose pin is not the slave's host key never connects.
  const wrongPin = await makeEnv({ sync: { peer: { ...peer, hostKey: key.publicKey, privateKeyFile: join(master.dir, 'sync_key') }, ...timing } });
  t.teardown(() => cleanup(wrongPin));
  await provisionWithDefaults(wrongPin);
  const wrongDaemon = await startDaemon(wrongPin);
  t.teardown(() => wrongDaemon.stop());
  const refused = await until(
    'pin refusal',
    () => syncStatus(wrongPin),
    (s) => s.lastError !== null,
  );
  t.match(refused.value.lastError, /host key of .* is not the one pinned in sync\.peer\.hostKey/);
  t.match(await events(wrongPin, 'SyncPeerRejected'), [{ reason: 'hostKeyMismatch' }]);
  const audit = JSON.parse((await cli(wrongPin, ['audit', '--json'])).stdout) as { findings: Array<{ id: string; severity: string }> };
  t.match(
    audit.findings.find((f) => f.id === 'slave-out-of-sync'),
    { severity: 'high' },
  );
  t.equal(await login(slave, 'operator', NEW[1]), 0, 'the slave is unchanged');
  t.equal(await login(slave, 'operator', DEFAULTS.operator), 1);
  for (const env of [master, slave, wrongPin]) {
    t.same(await nonConforming('event.schema.json', await events(env)), [], 'every sync-related event conforms to schemas/event.schema.json');
  }
});
