/**
 * The hardening audit: the station's facts against the vendor's security tips. Each finding says
 * what it means, the exact command that fixes it and the EN 303 645 provision it serves.
 */
import { ROLES, type Role } from './roles.js';
import type { WebUiMode } from './web-ui.js';

export const SEVERITIES = ['high', 'medium', 'low', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Finding {
  id: string;
  severity: Severity;
  title: string;
  meaning: string;
  /** The exact command (or config change) that clears the finding. */
  fix: string;
  /** The ETSI EN 303 645 provision the check serves, or null. */
  provision: string | null;
}

export interface LooseFile {
  path: string;
  /** Permission bits found and the most they may be. */
  mode: number;
  allowed: number;
}

export interface AuditFacts {
  provisioned: boolean;
  roles: Record<Role, { isDefault: boolean }>;
  /** The manufacturer's password was never changed since provisioning (the label's value, or a batch's). */
  manufacturerNeverChanged: boolean;
  policy: { enforceStrong: boolean; enforcePasswordChange: boolean };
  puk: { set: boolean; blocked: boolean };
  masterCards: number;
  /** The card readers cannot be used (no PC/SC binding): why, and the command that enables them; null otherwise. */
  rfidUnavailable: null | { reason: string; enableCommand: string | null };
  /** The master cards known by UID alone (copyable), and what rfid.uidOnlyMasterCards lets them do. Absent: none. */
  uidOnlyMasterCards?: { ids: readonly string[]; rule: 'allow' | 'tapOnly' | 'refuse' };
  /** Cards that showed a secure master card's UID but failed its authentication, recently. */
  cloneAttempts?: null | { count: number; lastReader: string; lastAt: string };
  /** A secure card's enrolment that was cut off, until that card is presented again. */
  pendingEnrolment?: null | { reader: string; startedAt: string };
  tapResetsRoles: readonly Role[];
  logPasswordSet: boolean;
  webUi: WebUiMode;
  https: boolean;
  /** A double station's slave: null where no peer is configured. */
  sync: null | { peer: string; inSync: boolean; detail: string };
  looseFiles: LooseFile[];
  argon2: { memoryKiB: number; timeCost: number; parallelism: number };
  configPath: string | null;
  /** The state fell back to an older generation (the newest was damaged), not yet acknowledged. */
  stateFallback: null | { lostGeneration: number; lostWrittenAt: string | null; reason: string; mayHaveLost: readonly string[] };
}

/** OWASP Password Storage Cheat Sheet: argon2id configurations of equal strength (memory KiB, iterations), p=1. */
export const OWASP_ARGON2_MINIMUMS: ReadonlyArray<{ memoryKiB: number; timeCost: number }> = [
  { memoryKiB: 47_104, timeCost: 1 },
  { memoryKiB: 19_456, timeCost: 2 },
  { memoryKiB: 12_288, timeCost: 3 },
  { memoryKiB: 9_216, timeCost: 4 },
  { memoryKiB: 7_168, timeCost: 5 },
];

const octal = (mode: number): string => `0${(mode & 0o777).toString(8)}`;

export function audit(facts: AuditFacts): Finding[] {
  const findings: Finding[] = [];
  const add = (f: Finding): void => void findings.push(f);
  const config = facts.configPath ?? 'the config file';

  if (!facts.provisioned) {
    add({
      id: 'not-provisioned',
      severity: 'high',
      title: 'the station is not provisioned',
      meaning: 'no per-device passwords exist yet; nothing else can be checked',
      fix: 'ccguard provision --config /etc/ccguard/config.json',
      provision: 'EN 303 645 5.1-1',
    });
    return findings;
  }

  if (facts.stateFallback) {
    const f = facts.stateFallback;
    const lost = f.mayHaveLost.length > 0 ? f.mayHaveLost.join(', ') : 'nothing that could be told apart';
    add({
      id: 'state-fallback',
      severity: 'high',
      title: 'the newest state was damaged and an older one is in use',
      meaning:
        `generation ${f.lostGeneration}${f.lostWrittenAt ? ` (written ${f.lostWrittenAt})` : ''} was rejected (${f.reason}); ` +
        `changes made in it may be undone: ${lost}. A password changed then may be back to its previous value`,
      fix: 'check those settings (change the passwords again), then: ccguard acknowledge-fallback',
      provision: 'EN 303 645 5.7-1',
    });
  }

  for (const role of ROLES) {
    if (!facts.roles[role].isDefault) continue;
    add({
      id: `default-password.${role}`,
      severity: 'high',
      title: `${role} is still on its default password`,
      meaning: 'the default on the device label can only be used to change it, but anyone who reads the label can do that first',
      fix: `ccguard passwd ${role}`,
      provision: 'EN 303 645 5.1-1',
    });
  }
  if (facts.manufacturerNeverChanged) {
    add({
      id: 'manufacturer-unchanged',
      severity: 'high',
      title: 'the manufacturer password was never changed since provisioning',
      meaning: 'the most powerful role still has the password set at the factory',
      fix: 'ccguard passwd manufacturer',
      provision: 'EN 303 645 5.1-1',
    });
  }
  if (!facts.policy.enforceStrong) {
    add({
      id: 'strong-passwords-off',
      severity: 'medium',
      title: 'strong passwords are not enforced',
      meaning: 'new passwords need not mix lower and upper case, digits and special characters',
      fix: 'ccguard policy set --strong on',
      provision: 'EN 303 645 5.1-5',
    });
  }
  if (!facts.policy.enforcePasswordChange) {
    add({
      id: 'forced-change-off',
      severity: 'medium',
      title: 'the operator is not forced to change a password handed over',
      meaning: 'a password the manufacturer set for the operator stays usable as it is',
      fix: 'ccguard policy set --force-change on',
      provision: 'EN 303 645 5.1-4',
    });
  }
  const uidOnly = facts.uidOnlyMasterCards ?? { ids: [], rule: 'allow' as const };
  // Refused UID-only cards recover nothing.
  const usableMasterCards = facts.masterCards - (uidOnly.rule === 'refuse' ? uidOnly.ids.length : 0);
  if (!facts.puk.set && usableMasterCards === 0) {
    add({
      id: 'no-recovery-path',
      severity: 'medium',
      title: 'no recovery path is set up',
      meaning: 'neither a PUK nor a master card is there: a lost password means a service visit',
      fix: 'ccguard puk set   (or: ccguard master-card enroll)',
      provision: 'EN 303 645 5.1-4',
    });
  }
  if (facts.puk.blocked) {
    add({
      id: 'puk-blocked',
      severity: 'high',
      title: 'the Reset Password PUK is blocked',
      meaning: 'its tries are used up (someone guessed); the operator has no PUK recovery until it is set again',
      fix: 'ccguard puk set',
      provision: 'EN 303 645 5.1-5',
    });
  }
  if (facts.cloneAttempts) {
    const c = facts.cloneAttempts;
    add({
      id: 'master-card-clone-attempts',
      severity: 'high',
      title: `${c.count} card${c.count === 1 ? '' : 's'} showed a secure master card's UID but could not prove its key`,
      meaning: `a copy of a master card's UID (a clone, an emulator) was presented, last on ${c.lastReader} at ${c.lastAt}; it reset nothing. Someone is trying to take over the station`,
      fix: 'check who had access to the station and to its master cards ("ccguard events" lists each TamperDetectionActivated); the finding clears 24 h after the last attempt or at a restart',
      provision: 'EN 303 645 5.7-1',
    });
  }
  for (const id of uidOnly.ids) {
    const replace = `ccguard master-card enroll --reader READER   (an NTAG 424 DNA), then: ccguard master-card remove ${id}`;
    if (uidOnly.rule === 'refuse') {
      add({
        id: `master-card-uid-only.${id}`,
        severity: 'info',
        title: `master card ${id} is known by its UID alone and is ignored`,
        meaning: 'rfid.uidOnlyMasterCards is "refuse": the card does nothing, its record is left over',
        fix: `ccguard master-card remove ${id}`,
        provision: null,
      });
      continue;
    }
    const restores = uidOnly.rule === 'allow';
    add({
      id: `master-card-uid-only.${id}`,
      severity: restores ? 'high' : 'medium',
      title: `master card ${id} is known by its UID alone: it can be copied`,
      meaning:
        'its UID is sent in clear to any reader nearby and fits on a "magic" card or a phone; a copy ' +
        (restores
          ? 'resets every password and, held, restores the manufacturer defaults'
          : 'resets the passwords (rfid.uidOnlyMasterCards "tapOnly": its hold restores nothing)'),
      fix: replace,
      provision: 'EN 303 645 5.4-1',
    });
  }
  if (facts.pendingEnrolment) {
    const p = facts.pendingEnrolment;
    add({
      id: 'master-card-enrolment-pending',
      severity: 'info',
      title: `a secure master card's enrolment on ${p.reader} was cut off (${p.startedAt})`,
      meaning:
        'the card was pulled or power was lost while its keys were changed; presenting it again finishes the enrolment (during "master-card enroll") or puts its factory keys back',
      fix: `present that card on any reader, or: ccguard master-card enroll --reader "${p.reader}"`,
      provision: null,
    });
  }
  if (facts.masterCards > 0 && facts.tapResetsRoles.includes('manufacturer')) {
    add({
      id: 'tap-resets-manufacturer',
      severity: 'info',
      title: 'a master card tap also resets the manufacturer password',
      meaning: 'as the vendor guide describes; one vendor firmware leaves the manufacturer out',
      fix: `remove "manufacturer" from rfid.tapResetsRoles in ${config}, then restart ccguard`,
      provision: null,
    });
  }
  if (facts.rfidUnavailable !== null) {
    add({
      id: 'rfid-unavailable',
      // Enrolled master cards are a recovery path the station cannot use.
      severity: facts.masterCards > 0 ? 'medium' : 'low',
      title: 'the card readers cannot be used',
      meaning: `no master card works on this station: ${facts.rfidUnavailable.reason}`,
      fix: facts.rfidUnavailable.enableCommand ?? 'install libpcsclite1 and pcscd, then restart ccguard',
      provision: null,
    });
  }
  if (!facts.logPasswordSet) {
    add({
      id: 'no-log-password',
      severity: 'medium',
      title: 'no Log Password is set',
      meaning: 'log exports cannot be encrypted, and the logs hold personal data (card sessions, logins)',
      fix: 'ccguard log-password set',
      provision: 'EN 303 645 6-1',
    });
  }
  if (facts.webUi !== '2.0-only') {
    add({
      id: 'legacy-web-interface',
      severity: facts.webUi === '1.0' ? 'medium' : 'low',
      title: facts.webUi === '1.0' ? 'the legacy web interface (1.0) is in use' : 'the legacy web interface is still reachable',
      meaning: 'interface 1.0 is the older attack surface; 2.0-only switches it off for good',
      fix: 'ccguard webui set 2.0-only',
      provision: 'EN 303 645 5.6-1',
    });
  }
  if (!facts.https) {
    add({
      id: 'https-off',
      severity: 'high',
      title: 'HTTPS is off',
      meaning: 'passwords typed into the web interface cross the network in the clear',
      fix: 'ccguard https enable',
      provision: 'EN 303 645 5.5-1',
    });
  }
  if (facts.sync !== null && !facts.sync.inSync) {
    add({
      id: 'slave-out-of-sync',
      severity: 'high',
      title: `the slave controller ${facts.sync.peer} is out of sync`,
      meaning: `its passwords may differ from this controller's (${facts.sync.detail})`,
      fix: 'ccguard sync status   (then bring the slave back online; the master catches up by itself)',
      provision: 'EN 303 645 5.1-1',
    });
  }
  for (const file of facts.looseFiles) {
    const fixedMode = file.mode & file.allowed;
    add({
      id: `loose-permissions.${file.path}`,
      severity: 'high',
      title: `${file.path} has mode ${octal(file.mode)}`,
      meaning: `accounts other than ccguard's have access it must not give; at most ${octal(file.allowed)} is allowed`,
      fix: `chmod ${octal(fixedMode)} ${file.path}`,
      provision: 'EN 303 645 5.4-1',
    });
  }
  const { memoryKiB, timeCost, parallelism } = facts.argon2;
  if (!OWASP_ARGON2_MINIMUMS.some((m) => memoryKiB >= m.memoryKiB && timeCost >= m.timeCost) || parallelism < 1) {
    add({
      id: 'argon2-below-owasp',
      severity: 'high',
      title: `argon2id at ${memoryKiB} KiB, ${timeCost} iteration${timeCost === 1 ? '' : 's'} is below OWASP's minimum`,
      meaning: 'stolen password hashes are cheaper to crack than the OWASP minimum allows (19 MiB with 2 iterations)',
      fix: `set argon2.memoryKiB to 19456 and argon2.timeCost to 2 in ${config}, then restart ccguard (hashes are upgraded at each next login)`,
      provision: 'EN 303 645 5.4-1',
    });
  }
  // Most severe first; the order of the checks within a severity.
  return findings.sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity));
}

/** Counts per severity; the audit passes when nothing high is found. */
export function summarize(findings: readonly Finding[]): { counts: Record<Severity, number>; passed: boolean } {
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, findings.filter((f) => f.severity === s).length])) as Record<Severity, number>;
  return { counts, passed: counts.high === 0 };
}
