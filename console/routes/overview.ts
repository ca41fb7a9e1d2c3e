import type { FastifyInstance } from 'fastify';
import type { AuditReport } from '../../agent/wire/audit-report.js';
import type { StatusReport } from '../../agent/wire/status-report.js';
import { guard, type ConsoleContext } from '../app.js';

export interface ChecklistItem {
  id: string;
  label: string;
  /** null: does not apply to this station (no double station). */
  done: boolean | null;
  detail: string;
}

/** The guide's security tips as a handover checklist, from the daemon's status. */
export function handoverChecklist(s: StatusReport): ChecklistItem[] {
  const roles = Object.entries(s.roles);
  const onDefault = roles.filter(([, r]) => r.isDefault).map(([name]) => name);
  return [
    {
      id: 'manufacturer',
      label: 'Manufacturer password changed',
      done: !s.roles.manufacturer.isDefault,
      detail: s.roles.manufacturer.isDefault ? 'still the default' : 'changed',
    },
    {
      id: 'defaults',
      label: 'Every role off its default password',
      done: onDefault.length === 0,
      detail: onDefault.length === 0 ? 'none on its default' : `on the default: ${onDefault.join(', ')}`,
    },
    {
      id: 'recovery',
      label: 'A recovery path set up (PUK or master card)',
      done: (s.puk.set && !s.puk.blocked) || s.masterCards > 0,
      detail: `PUK ${s.puk.set ? (s.puk.blocked ? 'blocked' : 'set') : 'not set'}; ${s.masterCards} master card${s.masterCards === 1 ? '' : 's'}`,
    },
    { id: 'legacy', label: 'Legacy web interface off (2.0 only)', done: s.webUi === '2.0-only', detail: `mode ${s.webUi}` },
    { id: 'https', label: 'HTTPS on', done: s.https, detail: s.https ? 'on' : 'off' },
    { id: 'logPassword', label: 'Log Password set', done: s.logPasswordSet, detail: s.logPasswordSet ? 'set' : 'not set' },
    {
      id: 'sync',
      label: 'Slave in sync (double station)',
      done: s.sync === null ? null : s.sync.inSync,
      detail: s.sync === null ? 'not a double station' : s.sync.summary,
    },
  ];
}

/** Audit findings grouped by severity, most severe first. */
function bySeverity(audit: AuditReport): Array<{ severity: string; findings: AuditReport['findings'] }> {
  const order = Object.keys(audit.counts);
  return order.map((severity) => ({ severity, findings: audit.findings.filter((f) => f.severity === severity) })).filter((g) => g.findings.length > 0);
}

/** The overview (everything at a glance, the hold bar live) and the printable handover checklist. */
export function overviewRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/', { preHandler: guard('any') }, async (req, reply) => {
    const [status, audit] = await Promise.all([ctx.daemon.call('status', {}, req.ip), ctx.daemon.call('audit', {}, req.ip)]);
    const changed = (req.query as { changed?: string }).changed === '1';
    return reply.page('overview', {
      title: 'Overview',
      status,
      audit: bySeverity(audit),
      auditCounts: audit.counts,
      holdSeconds: ctx.config.rfid.holdSeconds,
      served: ctx.tls().sha256,
      notice: changed ? 'The password was changed; you are logged in with the new one.' : null,
    });
  });

  app.get('/handover', { preHandler: guard('any') }, async (req, reply) => {
    const status = await ctx.daemon.call('status', {}, req.ip);
    const items = handoverChecklist(status);
    return reply.page('handover', {
      title: 'Handover checklist',
      items,
      ready: items.every((i) => i.done !== false),
      device: ctx.config.device.name,
      checkedAt: new Date().toISOString(),
    });
  });
}
