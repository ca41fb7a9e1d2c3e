import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { checkLogPassword, LOG_PASSWORD_WORDS } from '../../../policy/log-password.js';
import { contextWords } from '../../../policy/strength.js';
import { syncDirectory, writeFileAtomic } from '../../store/atomic-file.js';
import { RefusedError } from '../../common/errors.js';
import { assertPrivate, type GenerationStore } from '../../store/generation-store.js';
import type { SecurityLog } from '../../logs/logging.js';
import { Secret } from '../../common/secret.js';
import type { State } from '../../store/state.js';
import type { Actor } from './authenticator.js';
import type { StrengthService } from './strength.js';

export const LOG_PASSWORD_FILE = 'log-password';

/**
 * The Log Password that exported zips are encrypted with. Unlike login passwords it must be
 * recoverable, so it is kept as such, in its own 0600 file beside the state, and never logged.
 */
export class LogPassword {
  readonly #file: string;
  #set = false;

  constructor(
    private readonly deps: {
      store: GenerationStore<State>;
      security: SecurityLog;
      /** The blocklist and strength estimate that role passwords pass too. */
      strength: StrengthService;
      device: { name: string; serial: string };
    },
  ) {
    this.#file = join(deps.store.dir, LOG_PASSWORD_FILE);
  }

  get isSet(): boolean {
    return this.#set;
  }

  /** Reads whether one is set; refuses a file others can read. */
  async load(): Promise<void> {
    this.#set = (await this.read()) !== null;
  }

  async read(): Promise<Secret | null> {
    let text: string;
    try {
      text = await readFile(this.#file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    await assertPrivate(this.#file, false);
    return new Secret(text);
  }

  /** Puts back the Log Password of a manufacturer-defaults snapshot (null: none). */
  async restore(value: string | null): Promise<void> {
    if (value === null) {
      await rm(this.#file, { force: true });
      await syncDirectory(this.deps.store.dir);
    } else {
      await writeFileAtomic(this.#file, value, 0o600, this.deps.store.owner);
    }
    this.#set = value !== null;
  }

  /** The manufacturer password was checked at dispatch, before anything is said about the Log Password given. */
  async set(actor: Actor<'manufacturer'>, logPassword: Secret): Promise<void> {
    const candidate = logPassword.reveal();
    // The form rules first: a candidate refused by them costs no blocklist load.
    const refusal =
      checkLogPassword(candidate) ??
      checkLogPassword(
        candidate,
        await this.deps.strength.check(candidate, [...contextWords([this.deps.device.name, this.deps.device.serial]), ...LOG_PASSWORD_WORDS]),
      );
    if (refusal) throw new RefusedError(`Log Password refused: ${refusal.message}`, [refusal.rule]);
    await writeFileAtomic(this.#file, logPassword.reveal(), 0o600, this.deps.store.owner);
    this.#set = true;
    this.deps.security.record('ReconfigurationOfSecurityParameters', { change: 'logPassword', by: actor.role });
  }
}
