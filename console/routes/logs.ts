import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as v from 'valibot';
import { EXPORT_ROLES } from '../../policy/roles.js';
import { SECURITY_EVENT_NAMES } from '../../agent/wire/security-events.js';
import type { SecurityEvent } from '../../agent/wire/security-event.js';
import { guard, refusal, type ConsoleContext } from '../app.js';
import { stream } from '../sse.js';

const filterSchema = v.object({
  kind: v.optional(v.union([v.literal(''), v.picklist(SECURITY_EVENT_NAMES)]), ''),
  since: v.optional(v.union([v.literal(''), v.pipe(v.string(), v.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/))]), ''),
});
/** Events read for the page (the newest); the filter applies to these. */
const EVENTS_READ = 500;
/** Rows shown: a page stays small on a station's link (the CLI's `events --limit` reads more). */
const EVENTS_SHOWN = 100;

/** Logs: the encrypted log zip (streamed), the security events filtered by kind and time, followed live. */
export function logRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  const page = async (req: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200): Promise<FastifyReply> => {
    const parsed = v.safeParse(filterSchema, req.query ?? {});
    const filter = parsed.success ? parsed.output : { kind: '', since: '' };
    const { events } = await ctx.daemon.call('events', { limit: EVENTS_READ }, req.ip);
    const since = filter.since ? Date.parse(`${filter.since}:00Z`) : null;
    const shown = events
      .filter((e: SecurityEvent) => (filter.kind ? e.event === filter.kind : true) && (since === null || Date.parse(e.time) >= since))
      .reverse()
      .slice(0, EVENTS_SHOWN);
    const role = req.consoleSession!.role;
    return reply.page(
      'logs',
      {
        title: 'Logs',
        events: shown.map(describe),
        filter,
        kinds: SECURITY_EVENT_NAMES,
        mayExport: (EXPORT_ROLES as readonly string[]).includes(role),
        ...extra,
      },
      status,
    );
  };

  app.get('/logs', { preHandler: guard('any') }, async (req, reply) => page(req, reply));

  app.post('/logs/export', { preHandler: [guard(EXPORT_ROLES), app.csrfProtection] }, async (req, reply) => {
    const body = new PassThrough();
    // A browser that goes away mid-download ends the daemon's export too (the socket call is dropped).
    const gone = new AbortController();
    body.once('close', () => gone.abort());
    let first: (() => void) | null = null;
    const started = new Promise<void>((resolve) => (first = resolve));
    const call = ctx.daemon.call('session.logs.export', { session: req.consoleSession!.token }, req.ip, {
      timeoutMs: 120_000,
      signal: gone.signal,
      onData: (data) => {
        first?.();
        // The daemon waits while the browser is slow: the zip is never held whole in memory.
        if (!body.write(data)) {
          return new Promise<void>((resolve) => {
            body.once('drain', resolve);
            body.once('close', resolve);
          });
        }
        return undefined;
      },
    });
    try {
      await Promise.race([started, call]);
    } catch (err) {
      const r = refusal(err);
      if (r.sessionEnded) return reply.redirect('/login?ended=passwordChanged', 303);
      return page(req, reply, { error: r.message }, r.status);
    }
    call.then(
      () => body.end(),
      (err: Error) => {
        ctx.log.warn({ err: err.message }, 'log export cut short');
        body.destroy(err);
      },
    );
    const device = ctx.config.device.name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || 'station';
    const time = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
    return reply.type('application/zip').header('content-disposition', `attachment; filename="ccguard-logs-${device}-${time}.zip"`).send(body);
  });

  app.get('/live/events', { preHandler: guard('any') }, async (req, reply) => {
    // Following: the newest events once a second (the daemon's follow stream would hold one of its few follower slots per tab).
    let last = '';
    return stream(req, reply, ctx, async () => {
      const { events } = await ctx.daemon.call('events', { limit: 20 }, req.ip);
      const fresh = last ? events.filter((e) => e.time > last) : [];
      last = events.at(-1)?.time ?? last;
      return fresh.map(describe);
    });
  });

  app.get('/live/status', { preHandler: guard('any') }, async (req, reply) =>
    stream(req, reply, ctx, async () => {
      const rfid = await ctx.daemon.call('readers', {}, req.ip);
      return { hold: rfid.hold, holdSeconds: ctx.config.rfid.holdSeconds, readers: rfid.readers, enrolmentStep: rfid.enrolmentStep };
    }),
  );
}

/** One event as the page lists it: time, name, and its other fields as words. */
function describe(e: SecurityEvent): { time: string; event: string; details: string } {
  const { time, event, ...rest } = e as SecurityEvent & Record<string, unknown>;
  const details = Object.entries(rest)
    .filter(([key]) => key !== 'peer')
    .map(([key, value]) => `${key}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`)
    .join('; ');
  return { time: String(time), event: String(event), details };
}
