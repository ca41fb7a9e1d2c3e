import { randomBytes, randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as v from 'valibot';
import { DEFAULT_PASSWORD_GROUP_LENGTH, DEFAULT_PASSWORD_GROUPS, formatDefaultPassword, LABEL_ALPHABET } from '../../policy/default-password.js';
import { MIN_PASSWORD_LENGTH, normalizePassword } from '../../policy/password.js';
import { ROLES, type Role } from '../../policy/roles.js';
import type { Config } from '../common/config.js';
import { describeIssues } from '../common/schema-issues.js';
import { InvalidInputError, RefusedError } from '../common/errors.js';
import { GenerationStore } from '../store/generation-store.js';
import { PasswordHasher } from '../common/hasher.js';
import { PROVISIONED_POLICY, stateSchema, type RoleRecord, type State } from '../store/state.js';
import { daemonAnswers } from '../wire/client.js';

export type RolePasswords = Record<Role, string>;

const defaultsSchema = v.strictObject(Object.fromEntries(ROLES.map((r) => [r, v.string()])) as Record<Role, v.StringSchema<undefined>>);

/** Reads a `--defaults` file: exactly the four roles, each a usable password. */
export async function readDefaultsFile(path: string): Promise<RolePasswords> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new InvalidInputError(`cannot read defaults file ${path}: ${(err as Error).message}`);
  }
  const parsed = v.safeParse(defaultsSchema, raw);
  if (!parsed.success) throw new InvalidInputError(`defaults file ${path}: ${describeIssues(parsed.issues, { nameUnknownKeys: true })}`);
  const out = {} as RolePasswords;
  for (const role of ROLES) {
    const n = normalizePassword(parsed.output[role]);
    if (!n.ok) throw new InvalidInputError(`defaults file ${path}: ${role}: ${n.refusal.message}`);
    if ([...n.value].length < MIN_PASSWORD_LENGTH) {
      throw new InvalidInputError(`defaults file ${path}: ${role}: a default password needs at least ${MIN_PASSWORD_LENGTH} characters`);
    }
    out[role] = n.value;
  }
  return out;
}

export function generateDefaults(): RolePasswords {
  const draw = (): string =>
    formatDefaultPassword(Array.from({ length: DEFAULT_PASSWORD_GROUPS * DEFAULT_PASSWORD_GROUP_LENGTH }, () => randomInt(LABEL_ALPHABET.length)));
  return Object.fromEntries(ROLES.map((r) => [r, draw()])) as RolePasswords;
}

export interface ProvisionResult {
  stateDir: string;
  generation: number;
  /** The passwords to print for the label, when they were generated here. */
  generated: RolePasswords | null;
}

/**
 * Creates a device's state: per-role default passwords (stored only as argon2id hashes), every
 * role must change, strong passwords enforced. Runs without the daemon, straight on the state
 * directory; a daemon on an unprovisioned state picks the new state up by itself.
 */
export async function provision(config: Config, options: { defaults: RolePasswords | null; force: boolean }): Promise<ProvisionResult> {
  const store = new GenerationStore(config.stateDir, stateSchema);
  await store.prepare(true);
  const loaded = await store.load();
  if (loaded.state && !options.force) {
    throw new RefusedError(
      `${config.stateDir} is already provisioned (generation ${loaded.generation}); ` +
        'give --force to replace it, which resets every password to a new default',
    );
  }
  if (options.force && (await daemonAnswers(config.socket))) {
    throw new RefusedError(`a daemon is serving ${config.socket}: stop it before re-provisioning with --force`);
  }
  const passwords = options.defaults ?? generateDefaults();
  const hasher = new PasswordHasher(config.argon2, config.maxConcurrentHashes);
  const now = new Date().toISOString();
  const hashes = await Promise.all(ROLES.map((r) => hasher.hash(passwords[r])));
  const roles = Object.fromEntries(
    ROLES.map((role, i): [Role, RoleRecord] => {
      const hash = hashes[i] as string;
      return [role, { hash, defaultHash: hash, isDefault: true, mustChange: true, history: [hash], failures: 0, failuresBySource: {}, changedAt: now }];
    }),
  ) as Record<Role, RoleRecord>;
  const state: State = {
    format: 1,
    provisionedAt: now,
    deviceSecret: randomBytes(32).toString('hex'),
    // Kept across --force: secure master cards personalised with it stay recoverable (their keys can
    // be derived again and put back); a new one would leave them locked with keys nobody knows.
    cardMasterKey: loaded.state?.cardMasterKey ?? randomBytes(16).toString('hex'),
    pendingEnrolment: null,
    roles,
    policy: { ...PROVISIONED_POLICY },
    puk: null,
    https: { enabled: false },
    masterCards: [],
    manufacturerDefaults: null,
    syncRevision: null,
    syncReceived: null,
    pendingRestore: null,
    fallback: null,
    syncPeerSealingKey: null,
    syncSealingKeyPair: null,
  };
  await store.update(() => state);
  return { stateDir: config.stateDir, generation: store.generation, generated: options.defaults ? null : passwords };
}
