import type { SettingsRole } from '../../../policy/roles.js';
import type { SecurityLog } from '../../logs/logging.js';
import type { GenerationStore } from '../../store/generation-store.js';
import { requireProvisioned, type State } from '../../store/state.js';
import type { ResultOf } from '../../wire/protocol.js';
import type { CertificateInfo } from '../../wire/status-report.js';
import type { HttpsCertificate } from './https-certificate.js';
import type { Actor } from '../credentials/authenticator.js';

/**
 * HTTPS on or off and the device certificate it serves. The certificate's fingerprint is read
 * once and after each change, so that `status` stays cheap.
 */
export class HttpsSettings {
  #info: CertificateInfo | null = null;

  constructor(private readonly deps: { certificate: HttpsCertificate; store: GenerationStore<State>; security: SecurityLog }) {}

  async start(): Promise<void> {
    this.#info = await this.deps.certificate.info();
  }

  get certificateInfo(): CertificateInfo | null {
    return this.#info;
  }

  get enabled(): boolean {
    return this.deps.store.current?.https.enabled ?? false;
  }

  async set(actor: Actor<SettingsRole>, enabled: boolean): Promise<ResultOf<'https.set'>> {
    if (enabled) await this.ensureCertificate(actor.role);
    await this.deps.store.update((current) => ({ ...structuredClone(requireProvisioned(current)), https: { enabled } }));
    this.deps.security.record('ReconfigurationOfSecurityParameters', { change: 'https', enabled, by: actor.role });
    return { https: enabled, certificate: this.#info };
  }

  async rotate(actor: Actor<SettingsRole>): Promise<ResultOf<'https.rotate'>> {
    const info = await this.deps.certificate.create();
    this.#info = info;
    this.deps.security.record('ReconfigurationOfSecurityParameters', { change: 'certificate', sha256: info.sha256, by: actor.role });
    return { certificate: info };
  }

  /** Makes the certificate when there is none (HTTPS switched or restored on). */
  async ensureCertificate(by: string): Promise<void> {
    const made = await this.deps.certificate.ensure();
    this.#info = made.info;
    if (made.created) {
      this.deps.security.record('ReconfigurationOfSecurityParameters', { change: 'certificate', sha256: made.info.sha256, by });
    }
  }
}
