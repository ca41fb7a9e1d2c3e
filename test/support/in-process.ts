// The daemon's credential services wired in-process on a temp directory: a real store, real
// argon2id (with the tests' small parameters), the real security log, and a fake monotonic clock,
// so the Authenticator and its ordering rules are tested without a socket or a spawned daemon.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { provision } from '../../agent/cli/provision.js';
import { parseConfig, type Config } from '../../agent/common/config.js';
import { PasswordHasher } from '../../agent/common/hasher.js';
import { runAsCaller } from '../../agent/common/request-context.js';
import { Authenticator } from '../../agent/daemon/credentials/authenticator.js';
import { Credentials } from '../../agent/daemon/credentials/credentials.js';
import { ResetPuk } from '../../agent/daemon/credentials/reset-puk.js';
import { StrengthService } from '../../agent/daemon/credentials/strength.js';
import { openLogs, type Logs } from '../../agent/logs/logging.js';
import { GenerationStore } from '../../agent/store/generation-store.js';
import { stateSchema, type State } from '../../agent/store/state.js';
import { DEFAULTS, FAST_ARGON2 } from './harness.js';

export interface InProcess {
  dir: string;
  config: Config;
  store: GenerationStore<State>;
  hasher: PasswordHasher;
  logs: Logs;
  authenticator: Authenticator;
  credentials: Credentials;
  puk: ResetPuk;
  clock: { ms: number };
  /** The security events written so far, parsed. */
  events: () => Promise<Array<Record<string, unknown>>>;
  /** Runs `work` as a socket request from `origin` by peer uid `uid` would. */
  as: <T>(uid: number, work: () => Promise<T>, origin?: string) => Promise<T>;
  close: () => Promise<void>;
}

export async function inProcess(configOverrides: Record<string, unknown> = {}): Promise<InProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'ccguard-inproc-'));
  const config = parseConfig(
    { stateDir: join(dir, 'state'), socket: join(dir, 'sock'), logDir: join(dir, 'log'), argon2: FAST_ARGON2, ...configOverrides },
    'test',
  );
  await provision(config, { defaults: { ...DEFAULTS }, force: false });
  const store = new GenerationStore(config.stateDir, stateSchema);
  await store.prepare(true);
  await store.load();
  const logs = await openLogs(config.logDir, config.logs);
  const hasher = new PasswordHasher(config.argon2, config.maxConcurrentHashes);
  const clock = { ms: 1_000_000 };
  const now = (): number => clock.ms;
  const authenticator = new Authenticator({ store, hasher, security: logs.security, log: logs.log, throttle: config.throttle, now, sessions: config.sessions });
  const credentials = new Credentials({ store, hasher, strength: new StrengthService(), security: logs.security, config, authenticator });
  const puk = new ResetPuk({ store, hasher, credentials, security: logs.security });
  return {
    dir,
    config,
    store,
    hasher,
    logs,
    authenticator,
    credentials,
    puk,
    clock,
    events: async () => {
      const text = await readFile(join(config.logDir, 'security.log'), 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    as: (uid, work, origin = 'socket:test') => runAsCaller({ origin, peer: { uid, gid: uid, pid: 1 } }, work),
    close: async () => {
      logs.flush();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
