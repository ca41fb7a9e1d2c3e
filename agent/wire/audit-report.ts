import type { Finding, Severity } from '../../policy/audit.js';

/** Names the shape of `audit --json` (schemas/audit.schema.json); bumped on an incompatible change. */
export const AUDIT_SCHEMA = 'ccguard-audit/1';

export interface AuditReport {
  schema: typeof AUDIT_SCHEMA;
  version: string;
  checkedAt: string;
  /** No high finding: `ccguard audit` exits 0. */
  passed: boolean;
  counts: Record<Severity, number>;
  findings: Finding[];
}
