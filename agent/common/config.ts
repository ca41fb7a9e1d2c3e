import { readFile } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import * as v from 'valibot';
import { ROLES } from '../../policy/roles.js';
import { ConfigError } from './errors.js';
import { describeIssues } from './schema-issues.js';

/** Where a packaged install keeps its config; client commands read the socket path from it. */
export const SYSTEM_CONFIG_PATH = '/etc/ccguard/config.json';

/** Built-in default paths: the system locations for root, per-user ones otherwise. */
function defaultPaths(): { stateDir: string; socket: string; logDir: string } {
  if (process.getuid?.() === 0) {
    return { stateDir: '/var/lib/ccguard', socket: '/run/ccguard/ccguard.sock', logDir: '/var/log/ccguard' };
  }
  const state = process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state');
  const runtime = process.env.XDG_RUNTIME_DIR ?? join(state, 'ccguard');
  return {
    stateDir: join(state, 'ccguard', 'state'),
    socket: join(runtime, 'ccguard.sock'),
    logDir: join(state, 'ccguard', 'log'),
  };
}

const int = (min: number, max: number) => v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));

/** The argon2 parameters a config may set, [min, max]; a stored hash outside them is checked against nothing. */
export const ARGON2_LIMITS = {
  memoryKiB: [1024, 4 * 1024 * 1024],
  timeCost: [1, 100],
  parallelism: [1, 16],
} as const satisfies Record<string, readonly [number, number]>;
const path = v.pipe(v.string(), v.minLength(1, 'must not be empty'));

const configSchema = v.strictObject({
  stateDir: path,
  socket: v.pipe(path, v.maxBytes(107, 'a Unix socket path is at most 107 bytes')),
  logDir: path,
  device: v.optional(
    v.strictObject({
      /** Host name and serial number are given to the strength estimator as words to avoid. */
      name: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(128)), hostname),
      serial: v.optional(v.pipe(v.string(), v.maxLength(128)), ''),
    }),
    {},
  ),
  argon2: v.optional(
    v.strictObject({
      // OWASP's minimum for argon2id: 19 MiB, 2 iterations, 1 lane.
      memoryKiB: v.optional(int(...ARGON2_LIMITS.memoryKiB), 19 * 1024),
      timeCost: v.optional(int(...ARGON2_LIMITS.timeCost), 2),
      parallelism: v.optional(int(...ARGON2_LIMITS.parallelism), 1),
    }),
    {},
  ),
  /** Bounds the memory a burst of logins can take: each hash holds memoryKiB. */
  maxConcurrentHashes: v.optional(int(1, 64), 2),
  throttle: v.optional(
    v.strictObject({
      freeFailures: v.optional(int(1, 100), 5),
      baseDelayMs: v.optional(int(1, 3_600_000), 1000),
      maxDelayMs: v.optional(int(1, 24 * 3_600_000), 15 * 60 * 1000),
      /** Failures of a role from all sources but root together, after which each of those sources also waits role-wide. */
      roleCeiling: v.optional(int(1, 10_000), 20),
      /** How long after a master card tap the role-wide wait slows nobody. */
      tapGraceMs: v.optional(int(0, 24 * 3_600_000), 15 * 60 * 1000),
    }),
    {},
  ),
  socketIdleTimeoutMs: v.optional(int(1, 3_600_000), 30_000),
  /** The console's sessions, which the daemon holds (issue 26; OWASP ASVS 5.0 V7). */
  sessions: v.optional(
    v.strictObject({
      idleMs: v.optional(int(1000, 24 * 3_600_000), 15 * 60_000),
      absoluteMs: v.optional(int(1000, 7 * 24 * 3_600_000), 12 * 3_600_000),
      max: v.optional(int(1, 10_000), 64),
    }),
    {},
  ),
  socketMaxClients: v.optional(int(1, 10_000), 256),
  /** The HTTPS console (`ccguard console`, its own process and user): where it listens and how long it waits. */
  console: v.optional(
    v.strictObject({
      /** Address to listen on: `::` (every IPv6 and IPv4 address), an IPv4/IPv6 address, or `localhost`. */
      host: v.optional(v.union([v.literal('localhost'), v.pipe(v.string(), v.ip())]), '::'),
      port: v.optional(int(1, 65_535), 8443),
      /** A request's whole time (headers and body) before it is answered 408. */
      requestTimeoutMs: v.optional(int(1000, 600_000), 30_000),
      keepAliveTimeoutMs: v.optional(int(100, 600_000), 5_000),
      /** Largest request body (forms): nothing the console takes is longer. */
      bodyLimitBytes: v.optional(int(1024, 1024 * 1024), 16 * 1024),
      /** Login and PUK attempts per browser address and minute, in front of the daemon's own throttle. */
      loginAttemptsPerMinute: v.optional(int(1, 1000), 10),
      /** How often the certificate file is looked at for a new one (after `https rotate`). */
      certificateCheckMs: v.optional(int(100, 3_600_000), 2_000),
    }),
    {},
  ),
  webUi: v.optional(
    v.strictObject({
      /** The style file the web server reads; its absence means the built-in default, 1.0. */
      styleFile: v.optional(path, '/persistency/WebUIStyle_web'),
    }),
    {},
  ),
  https: v.optional(
    v.strictObject({
      certFile: v.optional(path, '/persistency/https/server.crt'),
      keyFile: v.optional(path, '/persistency/https/server.key'),
      /** Subject and DNS name of the self-signed certificate. */
      hostName: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(253)), hostname),
      ipAddresses: v.optional(v.array(v.pipe(v.string(), v.ip())), []),
    }),
    {},
  ),
  logs: v.optional(
    v.strictObject({
      /** A log file is rotated when it reaches this size (a controller's flash is small). */
      maxFileBytes: v.optional(int(64 * 1024, 1024 * 1024 * 1024), 10 * 1024 * 1024),
      /** Files kept per log, the current one included. */
      maxFiles: v.optional(int(1, 100), 5),
      /**
       * deflate level of exported zips. At 3 (zlib's last level without lazy matching) they are still
       * smaller than 7-Zip's fastest (bench:logs: 0.992 of its size; 4: 0.987) and made 13 % faster
       * (200 MB through the CLI on 2 cores: 0.91 s, 4: 1.06 s; 7z -mx=1 -mmt=1 1.69 s).
       */
      exportCompressionLevel: v.optional(int(1, 9), 3),
      /** false: exports are never encrypted (a manufacturer's choice, made only here). */
      encryptExports: v.optional(v.boolean(), true),
    }),
    {},
  ),
  rfid: v.optional(
    v.strictObject({
      holdSeconds: v.optional(v.pipe(v.number(), v.gtValue(0), v.maxValue(3600)), 120),
      dropoutGraceMs: v.optional(int(0, 60_000), 1500),
      tapResetsRoles: v.optional(v.array(v.picklist(ROLES)), () => [...ROLES]),
      /** false: no reader is watched (a station without one). */
      enabled: v.optional(v.boolean(), true),
      /** How long a card may take to answer GET DATA with its UID before it counts as unreadable. */
      uidTimeoutMs: v.optional(int(50, 30_000), 1000),
      /** How long a card may take to answer any other APDU (secure master card exchanges). */
      apduTimeoutMs: v.optional(int(50, 30_000), 500),
      /**
       * Master cards known by UID alone (copyable): `allow` tap and hold, `tapOnly` (a hold never
       * restores defaults), `refuse` (they count as no master card).
       */
      uidOnlyMasterCards: v.optional(v.picklist(['allow', 'tapOnly', 'refuse']), 'allow'),
      /** Longest wait between attempts to reach pcscd. */
      maxRetryMs: v.optional(int(100, 600_000), 5000),
    }),
    {},
  ),
  sync: v.optional(
    v.strictObject({
      /** On a double station's master: the slave controller, reached over SSH. */
      peer: v.optional(
        v.strictObject({
          host: v.pipe(v.string(), v.minLength(1), v.maxLength(253)),
          port: v.optional(int(1, 65_535), 22),
          user: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
          /** Made by `ccguard sync keygen`; its public half goes into the slave's authorized_keys. */
          privateKeyFile: path,
          /** The slave's host public key, OpenSSH format ("ssh-ed25519 AAAA…"): the only key accepted. */
          hostKey: v.optional(
            v.pipe(
              v.string(),
              v.regex(/^(ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-rsa) [A-Za-z0-9+/=]+( .*)?$/, 'must be an OpenSSH public key line, e.g. "ssh-ed25519 AAAA…"'),
            ),
          ),
          /** What the slave's authorized_keys forces anyway; run on the slave. */
          command: v.optional(v.pipe(v.string(), v.minLength(1)), 'ccguard sync receive'),
        }),
      ),
      /** On the slave: the master's sync public key (OpenSSH line); only changes it signed are applied. */
      masterKey: v.optional(
        v.pipe(v.string(), v.regex(/^ssh-ed25519 [A-Za-z0-9+/=]+( .*)?$/, 'must be the master\'s "ssh-ed25519 AAAA…" line from "ccguard sync keygen"')),
      ),
      firstRetryMs: v.optional(int(10, 600_000), 1000),
      maxRetryMs: v.optional(int(10, 3_600_000), 60_000),
      /** SSH keepalive: a slave that stops answering is given up after 3 missed intervals. */
      keepaliveMs: v.optional(int(100, 600_000), 5000),
      timeoutMs: v.optional(int(100, 600_000), 15_000),
    }),
    {},
  ),
});

export type Config = v.InferOutput<typeof configSchema>;
export type Argon2Params = Config['argon2'];

/** The config used when none is given: built-in paths, every other key at its default. */
export function builtInConfig(): Config {
  return parseConfig({}, 'built-in config');
}

/** Parses a config object, naming the offending key in the error. */
export function parseConfig(raw: unknown, source: string): Config {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(`${source}: the config must be a JSON object`);
  }
  const result = v.safeParse(configSchema, { ...defaultPaths(), ...raw });
  if (!result.success) throw new ConfigError(`${source}: ${describeIssues(result.issues, { nameUnknownKeys: true })}`);
  return result.output;
}

export async function loadConfig(path: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  return parseConfig(raw, path);
}
