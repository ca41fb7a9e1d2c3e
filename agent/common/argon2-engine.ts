// argon2id hashes and checks through native/argon2-pool, whose working memory stays mapped
// between hashes (a login costs its hash, not thousands of page faults) and is given back on
// request. Hashes are PHC strings exactly as the argon2 package writes them, so hashes made by
// either check with the other. The argon2 package stays for what the pool does not do: hashes
// of other types or versions, and every hash where the pool's binding did not load.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { deserialize, serialize } from '@phc/format';
import { ARGON2_LIMITS, type Argon2Params } from './config.js';

type Argon2 = typeof import('argon2');

interface PoolBinding {
  hashRaw(password: Buffer, salt: Buffer, hashLength: number, memoryKiB: number, timeCost: number, parallelism: number): Promise<Buffer>;
  keep(slots: number): void;
  release(): number;
  keptBytes(): number;
}

const SALT_BYTES = 16;
const HASH_BYTES = 32;
const VERSION = 0x13;
const salt = promisify(randomBytes);

function loadPool(): PoolBinding | Error {
  try {
    return createRequire(import.meta.url)('ccguard-argon2-pool') as PoolBinding;
  } catch (err) {
    return err as Error;
  }
}

/** Parameters a config could have set: a hash asking for more (a hostile state file or sync payload) would hold a hash slot for as long as it likes. */
function withinLimits(params: Argon2Params): boolean {
  return (Object.keys(ARGON2_LIMITS) as Array<keyof typeof ARGON2_LIMITS>).every((k) => params[k] >= ARGON2_LIMITS[k][0] && params[k] <= ARGON2_LIMITS[k][1]);
}

/** The parts of an argon2id v1.3 PHC string the pool can check, or null for anything else. */
function parsed(encoded: string): { params: Argon2Params; salt: Buffer; hash: Buffer } | null {
  try {
    const phc = deserialize(encoded);
    const { m, t, p } = phc.params ?? {};
    if (phc.id !== 'argon2id' || phc.version !== VERSION || !phc.salt || !phc.hash) return null;
    if (typeof m !== 'number' || typeof t !== 'number' || typeof p !== 'number' || Object.keys(phc.params ?? {}).length !== 3) return null;
    if (phc.salt.length < 8 || phc.salt.length > 64 || phc.hash.length < 4 || phc.hash.length > 64) return null;
    const params = { memoryKiB: m, timeCost: t, parallelism: p };
    return withinLimits(params) ? { params, salt: phc.salt, hash: phc.hash } : null;
  } catch {
    return null;
  }
}

/** An argon2 PHC string whose m, t or p lies outside what a config may set (whatever its type). */
function outOfLimits(encoded: string): boolean {
  try {
    const { m, t, p } = deserialize(encoded).params ?? {};
    return !(typeof m === 'number' && typeof t === 'number' && typeof p === 'number' && withinLimits({ memoryKiB: m, timeCost: t, parallelism: p }));
  } catch {
    return true; // not a PHC string: no match either way
  }
}

/** Loaded on first use, to keep an idle daemon small. */
export class Argon2Engine {
  #loaded: PoolBinding | Error | null = null;
  #argon2: Promise<Argon2> | null = null;

  /** `slots`: hash-sized mappings kept between hashes (the hashes that may run at once). */
  constructor(private readonly slots: number) {}

  get #pool(): PoolBinding | Error {
    if (this.#loaded === null) {
      this.#loaded = loadPool();
      if (!(this.#loaded instanceof Error)) this.#loaded.keep(this.slots);
    }
    return this.#loaded;
  }

  /** Why hashes map their memory afresh (the pool's binding did not load), or null. */
  get unavailable(): string | null {
    const pool = this.#pool;
    return pool instanceof Error ? `the argon2 memory pool (native/argon2-pool) did not load: ${pool.message}; reinstall with npm ci` : null;
  }

  #package(): Promise<Argon2> {
    this.#argon2 ??= import('argon2');
    return this.#argon2;
  }

  async hash(password: string, params: Argon2Params): Promise<string> {
    const pool = this.#pool;
    if (pool instanceof Error) {
      const argon2 = await this.#package();
      return argon2.hash(password, { type: argon2.argon2id, memoryCost: params.memoryKiB, timeCost: params.timeCost, parallelism: params.parallelism });
    }
    const s = await salt(SALT_BYTES);
    const hash = await pool.hashRaw(Buffer.from(password, 'utf8'), s, HASH_BYTES, params.memoryKiB, params.timeCost, params.parallelism);
    return serialize({ id: 'argon2id', version: VERSION, params: { m: params.memoryKiB, t: params.timeCost, p: params.parallelism }, salt: s, hash });
  }

  /** Constant-time comparison. A malformed hash counts as no match. */
  async verify(encoded: string, password: string): Promise<boolean> {
    const pool = this.#pool;
    if (outOfLimits(encoded)) return false;
    const known = pool instanceof Error ? null : parsed(encoded);
    if (pool instanceof Error || !known) return (await this.#package()).verify(encoded, password).catch(() => false);
    const { params, hash } = known;
    try {
      const computed = await pool.hashRaw(Buffer.from(password, 'utf8'), known.salt, hash.length, params.memoryKiB, params.timeCost, params.parallelism);
      return timingSafeEqual(computed, hash);
    } catch {
      return false; // parameters the reference code refuses (a memory cost below 8 KiB per lane, …)
    }
  }

  /** True when `encoded` was made with other parameters than `params` (or is not argon2id v1.3). */
  async needsRehash(encoded: string, params: Argon2Params): Promise<boolean> {
    const known = parsed(encoded);
    if (!known)
      return (await this.#package()).needsRehash(encoded, { memoryCost: params.memoryKiB, timeCost: params.timeCost, parallelism: params.parallelism });
    const k = known.params;
    return k.memoryKiB !== params.memoryKiB || k.timeCost !== params.timeCost || k.parallelism !== params.parallelism;
  }

  /** Unmaps the idle slots; the bytes given back. */
  release(): number {
    const pool = this.#loaded;
    return pool === null || pool instanceof Error ? 0 : pool.release();
  }

  /** Bytes the pool holds mapped now. */
  get keptBytes(): number {
    const pool = this.#loaded;
    return pool === null || pool instanceof Error ? 0 : pool.keptBytes();
  }
}
