import { readFile } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ROLES } from '../policy/roles.js';
import { ConfigError } from './errors.js';

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

const positiveInt = z.number().int().positive();

const configSchema = z
  .object({
    stateDir: z.string().min(1),
    socket: z.string().min(1).max(107, 'a Unix socket path is at most 107 bytes'),
    logDir: z.string().min(1),
    device: z
      .object({
        /** Host name and serial number are given to the strength estimator as words to avoid. */
        name: z.string().min(1).max(128).default(hostname()),
        serial: z.string().max(128).default(''),
      })
      .strict()
      .prefault({}),
    argon2: z
      .object({
        // OWASP's minimum for argon2id: 19 MiB, 2 iterations, 1 lane.
        memoryKiB: z.number().int().min(1024).max(4 * 1024 * 1024).default(19 * 1024),
        timeCost: z.number().int().min(1).max(100).default(2),
        parallelism: z.number().int().min(1).max(16).default(1),
      })
      .strict()
      .prefault({}),
    /** Bounds the memory a burst of logins can take: each hash holds memoryKiB. */
    maxConcurrentHashes: z.number().int().min(1).max(64).default(2),
    throttle: z
      .object({
        freeFailures: z.number().int().min(1).max(100).default(5),
        baseDelayMs: positiveInt.default(1000),
        maxDelayMs: positiveInt.default(15 * 60 * 1000),
      })
      .strict()
      .prefault({}),
    socketIdleTimeoutMs: positiveInt.default(30_000),
    socketMaxClients: z.number().int().min(1).max(10_000).default(256),
    rfid: z
      .object({
        holdSeconds: z.number().positive().max(3600).default(120),
        dropoutGraceMs: z.number().int().min(0).max(60_000).default(1500),
        tapResetsRoles: z.array(z.enum(ROLES)).default([...ROLES]),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type Argon2Params = Config['argon2'];

/** The config used when none is given: built-in paths, every other key at its default. */
export function builtInConfig(): Config {
  return configSchema.parse(defaultPaths());
}

/** Parses a config object, naming the offending key in the error. */
export function parseConfig(raw: unknown, source: string): Config {
  const withPaths = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? { ...defaultPaths(), ...raw } : raw;
  const result = configSchema.safeParse(withPaths);
  if (!result.success) throw new ConfigError(`${source}: ${describeIssues(result.error)}`);
  return result.data;
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

/** One line per problem, each naming the key, e.g. `argon2.memoryKiB: expected number, got string`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const key = issue.path.map(String).join('.');
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((k) => (key ? `${key}.${k}` : k));
        return `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}`;
      }
      return `${key || '(top level)'}: ${issue.message}`;
    })
    .join('; ');
}
