// A double station for the secure-card sync tests: one private pcscd, an sshd prepared on loopback,
// a master whose sync peer is that sshd and a slave that trusts the master's sync key, both
// provisioned; no daemon started yet (each test starts them in the order it needs).
import { readdir, readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Test } from 'tap';
import * as v from 'valibot';
import { stateSchema, type State } from '../../agent/store/state.js';
import { cleanup, cli, makeEnv, provisionWithDefaults, type Env } from './harness.js';
import { PcscPeer } from './pcsc.js';
import { prepareSshd } from './sshd.js';

export interface DoubleStation {
  /** A scratch directory of the test's (card state files). */
  dir: string;
  peer: PcscPeer;
  sshdDir: string;
  /** The sshd's loopback port, for `startSshd`. */
  port: number;
  master: Env;
  slave: Env;
  /** The master's sync key: its public half (the slave's `sync.masterKey`) and the sshd's authorized_keys line. */
  key: { publicKey: string; authorizedKeysLine: string };
}

export async function doubleStation(t: Test): Promise<DoubleStation> {
  const base = await makeEnv();
  t.teardown(() => cleanup(base));
  const peer = await PcscPeer.startWithRetry(base.dir);
  t.teardown(() => peer.stop());
  const { dir: sshdDir, hostKey, port } = await prepareSshd(base.dir);
  const rfid = { holdSeconds: 60, dropoutGraceMs: 500, maxRetryMs: 500, apduTimeoutMs: 500 };
  const timing = { firstRetryMs: 200, maxRetryMs: 1000, keepaliveMs: 1000, timeoutMs: 5000 };
  const master = await makeEnv((dir) => ({
    rfid,
    sync: { peer: { host: '127.0.0.1', port, user: userInfo().username, hostKey, privateKeyFile: join(dir, 'sync_key') }, ...timing },
  }));
  t.teardown(() => cleanup(master));
  const keygen = await cli(null, ['sync', 'keygen', '--config', master.configPath, '--json']);
  if (keygen.code !== 0) throw new Error(`sync keygen: ${keygen.stderr}`);
  const key = JSON.parse(keygen.stdout) as DoubleStation['key'];
  const slave = await makeEnv({ rfid, sync: { masterKey: key.publicKey } });
  t.teardown(() => cleanup(slave));
  await provisionWithDefaults(master);
  await provisionWithDefaults(slave);
  return { dir: base.dir, peer, sshdDir, port, master, slave, key };
}

/** The newest state generation, read without touching the directory a running daemon writes to. */
export async function stateOf(env: Env): Promise<State> {
  for (let attempt = 0; ; attempt++) {
    try {
      const newest = (await readdir(env.stateDir))
        .filter((n) => /^state\.\d{12}\.json$/.test(n))
        .sort()
        .pop();
      const text = await readFile(join(env.stateDir, newest ?? 'none'), 'utf8');
      return v.parse(stateSchema, JSON.parse(text.slice(text.indexOf('\n') + 1)));
    } catch (err) {
      if (attempt >= 20) throw err;
      await sleep(50); // replaced by the next generation meanwhile
    }
  }
}
