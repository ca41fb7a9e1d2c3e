import * as v from 'valibot';
import { SEVERITIES } from '../../policy/audit.js';
import { count } from './status-report.js';

/** Names the shape of `audit --json` (schemas/audit.schema.json); bumped on an incompatible change. */
export const AUDIT_SCHEMA = 'ccguard-audit/1';

const text = v.pipe(v.string(), v.minLength(1));

export const findingSchema = v.strictObject({
  id: v.pipe(
    v.string(),
    v.regex(
      /^(not-provisioned|default-password\.(manufacturer|installer|operator|user)|manufacturer-unchanged|strong-passwords-off|forced-change-off|no-recovery-path|puk-blocked|tap-resets-manufacturer|no-log-password|legacy-web-interface|https-off|slave-out-of-sync|loose-permissions\..+|argon2-below-owasp|state-fallback|rfid-unavailable|master-card-clone-attempts|master-card-enrolment-pending|master-card-uid-only\.[0-9a-f]{8})$/,
    ),
    v.description('stable identifier; a role, path or peer may follow a dot'),
  ),
  severity: v.picklist(SEVERITIES),
  title: text,
  meaning: text,
  fix: v.pipe(text, v.description('the exact command or config change that clears the finding')),
  provision: v.nullable(v.pipe(v.string(), v.regex(/^EN 303 645 [0-9.]+-[0-9]+$/))),
});

export const auditReportSchema = v.strictObject({
  schema: v.literal(AUDIT_SCHEMA),
  version: v.pipe(v.string(), v.description('ccguard version of the daemon')),
  checkedAt: v.pipe(v.string(), v.isoTimestamp()),
  passed: v.pipe(v.boolean(), v.description('true when no high finding is open (exit code 0)')),
  counts: v.strictObject(Object.fromEntries(SEVERITIES.map((s) => [s, count])) as Record<(typeof SEVERITIES)[number], typeof count>),
  findings: v.pipe(v.array(findingSchema), v.description('most severe first')),
});
export type AuditReport = v.InferOutput<typeof auditReportSchema>;
