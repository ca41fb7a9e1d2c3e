import type { SettingsRole } from '../../../policy/roles.js';
import type { Secret } from '../../common/secret.js';
import type { SecurityLog } from '../../logs/logging.js';
import type { GenerationStore } from '../../store/generation-store.js';
import { requireProvisioned, type State } from '../../store/state.js';
import type { Credentials } from '../credentials/credentials.js';
import type { ResultOf } from '../../wire/protocol.js';
import type { CertificateInfo } from '../../wire/status-report.js';
import type { HttpsCertificate } from './https-certificate.js';

/**
 * HTTPS on or off and the device certificate it serves. The certificate's fingerprint is read
 * once and after each change, so that `status` stays cheap.
 */
export class HttpsSettings {
  #info: CertificateInfo | null = null;

  constructor(
    private readonly deps: { certificate: HttpsCertificate; store: GenerationStore<State>; credentials: Credentials; security: SecurityLog },
  ) {}

  async start(): Promise<void> {
    this.#info = await this.deps.certificate.info();
  }

  get certificateInfo(): CertificateInfo | null {
    return this.#info;
  }

  get enabled(): boolean {
    return this.deps.store.current?.https.enabled ?? false;
  }

  async set(as: SettingsRole, password: Secret, enabled: boolean, origin: string): Promise<ResultOf<'https.set'>> {
    await this.deps.credentials.login(as, password, origin);
    if (enabled) await this.ensureCertificate(as, origin);
    await this.deps.store.update((current) => ({ ...structuredClone(requireProvisioned(current)), https: { enabled } }));
    this.deps.security.record('ReconfigurationOfSecurityParameters', { change: 'https', enabled, by: as, origin });
    return { https: enabled, certificate: this.#info };
  }

  async rotate(as: SettingsRole, password: Secret, origin: string): Promise<ResultOf<'https.rotate'>> {
    await this.deps.credentials.login(as, password, origin);
    const info = await this.deps.certificate.create();
    this.#info = info;
    this.deps.security.record('ReconfigurationOfSecurityParameters', { change: 'certificate', sha256: info.sha256, by: as, origin });
    return { certificate: info };
  }

  /** Makes the certificate when there is none (HTTPS switched or restored on). */
  async ensureCertificate(by: string, origin?: string): Promise<void> {
    const made = await this.deps.certificate.ensure();
    this.#info = made.info;
    if (made.created) {
      this.deps.security.record('ReconfigurationOfSecurityParameters', { change: 'certificate', sha256: made.info.sha256, by, ...(origin ? { origin } : {}) });
    }
  }
}
