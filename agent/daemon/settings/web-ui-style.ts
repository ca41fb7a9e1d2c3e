import type { SettingsRole } from '../../../policy/roles.js';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import { decideModeChange, modeFromStyleFile, type WebUiMode } from '../../../policy/web-ui.js';
import { writeFileAtomic } from '../../store/atomic-file.js';
import { RefusedError, StateError } from '../../common/errors.js';
import type { SecurityLog } from '../../logs/logging.js';
import type { Actor } from '../credentials/authenticator.js';

/**
 * The web interface mode, held in the style file the controller's web server reads. ccguard
 * writes it atomically and watches it: a deletion or edit from outside (the manufacturer's SSH
 * revert) shows in `status` and the security log at once, and is never written back.
 */
export class WebUiStyle {
  #mode: WebUiMode = '1.0';
  #watcher: FSWatcher | null = null;
  #rereads: Promise<WebUiMode> = Promise.resolve('1.0');

  constructor(
    private readonly path: string,
    private readonly security: SecurityLog,
    private readonly log: Logger,
  ) {}

  get mode(): WebUiMode {
    return this.#mode;
  }

  async start(): Promise<void> {
    this.#mode = await this.#read();
    try {
      this.#watcher = watch(dirname(this.path), { persistent: false }, (_event, name) => {
        if (name === null || name === basename(this.path)) void this.#reread();
      });
      this.#watcher.on('error', (err) => this.log.warn({ err, path: this.path }, 'watching the style file failed'));
    } catch (err) {
      this.log.warn({ err, dir: dirname(this.path) }, 'cannot watch the style file directory; changes from outside show only after a restart');
    }
  }

  close(): void {
    this.#watcher?.close();
  }

  /** The actor (operator or manufacturer, its password checked at dispatch) sets the mode. */
  async set(actor: Actor<SettingsRole>, requested: WebUiMode): Promise<WebUiMode> {
    const by = actor.role;
    const current = await this.#reread();
    const decision = decideModeChange(current, requested);
    if (!decision.allowed) {
      throw new RefusedError(
        `the web interface is in 2.0-only mode, which ccguard never leaves: the legacy interface stays off until the ` +
          `manufacturer deletes ${this.path} over SSH ("ccguard webui revert --host HOST")`,
      );
    }
    if (!decision.change) return current;
    // Set first, so that the watcher sees our own write as no change.
    this.#mode = requested;
    try {
      await writeFileAtomic(this.path, `${requested}\n`, 0o644);
    } catch (err) {
      this.#mode = current;
      throw new StateError(
        `cannot write the web interface style file ${this.path} (${(err as NodeJS.ErrnoException).code ?? String(err)}); check webUi.styleFile in the config`,
      );
    }
    this.security.record('ReconfigurationOfSecurityParameters', { change: 'webUi', from: current, to: requested, by });
    return requested;
  }

  /** A factory restore puts back the manufacturer's mode, 2.0-only included or left. */
  async restore(mode: WebUiMode, reason: string): Promise<void> {
    const current = await this.#reread();
    if (current === mode) return;
    this.#mode = mode;
    await writeFileAtomic(this.path, `${mode}\n`, 0o644);
    this.security.record('ReconfigurationOfSecurityParameters', { change: 'webUi', from: current, to: mode, by: reason });
  }

  async #read(): Promise<WebUiMode> {
    let content: string | null;
    try {
      content = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn({ err, path: this.path }, 'cannot read the style file');
      content = null;
    }
    const { mode, recognised } = modeFromStyleFile(content);
    if (!recognised) this.log.warn({ path: this.path }, 'style file holds an unknown mode; the web server uses its default, 1.0');
    return mode;
  }

  /** Picks up a change made outside ccguard and records it; one at a time, as one write can fire several events. */
  #reread(): Promise<WebUiMode> {
    const run = this.#rereads.then(async () => {
      const before = this.#mode;
      const now = await this.#read();
      if (now !== before) {
        this.#mode = now;
        this.security.record('ReconfigurationOfSecurityParameters', { change: 'webUi', from: before, to: now, by: 'outside ccguard', path: this.path });
      }
      return now;
    });
    this.#rereads = run.catch(() => this.#mode);
    return run;
  }
}
