import { audit, summarize } from '../../../policy/audit.js';
import { VERSION } from '../../common/version.js';
import { AUDIT_SCHEMA } from '../../wire/audit-report.js';
import { gatherAuditFacts } from '../audit-facts.js';
import type { AreaHandlers, Services } from './services.js';

/** Reading methods that need no secret: status, audit, readers, the security events. */
export function diagnosticsHandlers(s: Services): AreaHandlers<'status' | 'audit' | 'readers' | 'events'> {
  return {
    status: () => s.statusReport(),
    audit: async () => {
      const sync = s.pusher?.status();
      const syncFacts = sync ? { peer: sync.peer, inSync: sync.inSync, detail: sync.summary } : null;
      const findings = audit(await gatherAuditFacts(await s.statusReport(), s.store.current, s.config, s.configPath, syncFacts));
      return { schema: AUDIT_SCHEMA, version: VERSION, checkedAt: new Date().toISOString(), ...summarize(findings), findings };
    },
    readers: async () => {
      await s.cards.watching;
      return s.cards.status();
    },
    events: async ({ follow, limit }, ctx) => {
      const events = await s.security.recent(limit);
      if (follow) ctx.follow((push) => s.security.subscribe(push));
      return { events };
    },
  };
}
