import type { Role } from '../../policy/roles.js';
import type { RfidStatus } from '../daemon/cards/card-recovery.js';
import type { RoleStatus } from '../daemon/credentials/credentials.js';

/** What `status` answers (the `status --json` contract of design.md, plus diagnostics). */
export interface StatusReport {
  version: string;
  uptimeSeconds: number;
  provisioned: boolean;
  stateGeneration: number;
  /** The newest state generation was damaged and an older one is in use: what may have been undone (until acknowledged). */
  stateFallback: null | {
    detectedAt: string;
    lostGeneration: number;
    lostWrittenAt: string | null;
    reason: string;
    usingGeneration: number;
    mayHaveLost: string[];
  };
  roles: Record<Role, RoleStatus>;
  policy: { enforceStrong: boolean; enforcePasswordChange: boolean };
  puk: { set: boolean; triesLeft: number; blocked: boolean };
  masterCards: number;
  rfid: RfidStatus;
  logPasswordSet: boolean;
  webUi: '1.0' | '2.0' | '2.0-only';
  https: boolean;
  /** SHA-256 fingerprint and expiry of the device certificate, to check a browser warning against. */
  httpsCertificate: { sha256: string; notAfter: string } | null;
  /** A double station's sync to its slave; null where no peer is configured. */
  sync: null | { peer: string; inSync: boolean; summary: string; revision: number | null; lastAckedRevision: number | null; lastError: string | null };
}
