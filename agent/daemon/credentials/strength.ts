import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Blocklist, type BlocklistKernel } from '../../../policy/blocklist.js';
import { checkPassword, type StrengthVerdict } from '../../../policy/strength.js';
import { StateError } from '../../common/errors.js';

/** Built beside the compiled policy modules by `npm run build` (packaging/build-blocklist.mjs). */
export const BLOCKLIST_FILE = fileURLToPath(new URL('../../../policy/blocklist.bin', import.meta.url));

function loadKernel(): BlocklistKernel | Error {
  try {
    return createRequire(import.meta.url)('ccguard-blocklist-scan') as BlocklistKernel;
  } catch (err) {
    return err as Error;
  }
}

/** The native lookups (native/blocklist-scan, built by npm ci): without the JIT, the check's bulk work in JavaScript is slow. */
const kernel = loadKernel();

/** Why password checks run the slow path (the native module did not load), or null when they do not. */
export function blocklistScanUnavailable(): string | null {
  return kernel instanceof Error
    ? `the password blocklist module (native/blocklist-scan) did not load (${kernel.message}): password checks use the slower JavaScript path; reinstall with npm ci (needs a C compiler and node-gyp)`
    : null;
}

/**
 * Reads and checks the blocklist file (a few milliseconds: no parsing, only typed-array views).
 * Lookups run natively unless `native` is false or the module did not load.
 */
export async function loadBlocklist(file = BLOCKLIST_FILE, native = true): Promise<Blocklist> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new StateError(`password blocklist ${file} ${why}: reinstall the package (from a source tree: npm run build)`);
  }
  // Typed-array views need a 4-byte aligned start; a pooled small buffer may not have one.
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : Buffer.from(bytes);
  try {
    return new Blocklist(new Uint8Array(aligned.buffer, aligned.byteOffset, aligned.byteLength), native && !(kernel instanceof Error) ? kernel : null);
  } catch (err) {
    throw new StateError(`password blocklist ${file}: ${(err as Error).message}; reinstall the package`);
  }
}

/** How long the blocklist stays loaded after the last check (the daemon uses the default). */
export const BLOCKLIST_IDLE_MS = 10_000;

/**
 * Checks new passwords against the blocklist, which is read on first use (~3 MB) and dropped
 * after `idleMs` without checks, so an idle daemon does not hold it.
 */
export class StrengthService {
  #blocklist: Promise<Blocklist> | null = null;
  #idleTimer: NodeJS.Timeout | null = null;
  /** Checks begun so far: a warm-up lets the list go only if no other check began during it. */
  #begun = 0;

  constructor(
    private readonly idleMs = BLOCKLIST_IDLE_MS,
    private readonly file = BLOCKLIST_FILE,
  ) {}

  async check(password: string, context: readonly string[]): Promise<StrengthVerdict> {
    this.#blocklist ??= loadBlocklist(this.file);
    const loading = this.#blocklist;
    this.#begun++;
    try {
      return checkPassword(password, await loading, context);
    } catch (err) {
      if (this.#blocklist === loading) this.#blocklist = null; // the next check tries the file again
      throw err;
    } finally {
      this.#scheduleDrop();
    }
  }

  #scheduleDrop(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => void this.close(), this.idleMs);
    this.#idleTimer.unref();
  }

  /**
   * One check that leaves no blocklist behind it (the daemon's warm-up at each start): the list it
   * loaded is dropped at once, unless it was loaded before or another check began meanwhile.
   */
  async warmUp(password: string, context: readonly string[]): Promise<void> {
    const loadedBefore = this.#blocklist !== null;
    const mine = this.#begun + 1;
    await this.check(password, context);
    if (!loadedBefore && this.#begun === mine) await this.close();
  }

  async close(): Promise<void> {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    this.#blocklist = null;
  }
}
