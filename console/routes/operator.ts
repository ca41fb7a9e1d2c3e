import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as v from 'valibot';
import { SETTINGS_ROLES } from '../../policy/roles.js';
import { WEB_UI_MODES } from '../../policy/web-ui.js';
import { form, guard, refusal, type ConsoleContext } from '../app.js';

const webUiForm = v.object({
  mode: v.picklist(WEB_UI_MODES, 'choose 1.0, 2.0 or 2.0 only'),
  confirm: v.optional(v.picklist(['on'])),
  password: v.optional(v.pipe(v.string(), v.maxLength(4096))),
});
const httpsForm = v.object({ action: v.picklist(['on', 'off', 'rotate'], 'choose on, off or a new certificate') });

/** Operator > Web Interface and SYSTEM > HTTPS (the operator's settings; the manufacturer may set them too). */
export function operatorRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  const allowed = guard(SETTINGS_ROLES);
  const page = async (req: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200): Promise<FastifyReply> => {
    const st = await ctx.daemon.call('status', {}, req.ip);
    return reply.page('operator', { title: 'Operator', status: st, modes: WEB_UI_MODES, ...extra }, status);
  };
  const failed = (req: FastifyRequest, reply: FastifyReply, err: unknown): Promise<FastifyReply> | FastifyReply => {
    const r = refusal(err);
    if (r.sessionEnded) return reply.redirect('/login?ended=passwordChanged', 303);
    return page(req, reply, { error: r.message }, r.status);
  };

  app.get('/operator', { preHandler: allowed }, async (req, reply) => page(req, reply));

  app.post('/operator/webui', { preHandler: [allowed, app.csrfProtection] }, async (req, reply) => {
    const parsed = form(webUiForm, req.body);
    if (!parsed.ok) return page(req, reply, { error: `Not done: ${parsed.message}.` }, 400);
    const { mode, confirm, password } = parsed.value;
    if (mode === '2.0-only' && (confirm !== 'on' || !password)) {
      return page(req, reply, { error: '2.0 only needs the confirmation ticked and your password again.' }, 400);
    }
    try {
      const params = { session: req.consoleSession!.token, mode, ...(mode === '2.0-only' && password ? { password } : {}) };
      const r = await ctx.daemon.call('session.webui.set', params, req.ip);
      const undo = r.webUi === '2.0-only' ? ' Only the manufacturer can undo this, over SSH.' : '';
      return reply.done('/operator', `The web interface is now ${r.webUi === '2.0-only' ? '2.0 only' : r.webUi}.${undo}`);
    } catch (err) {
      return failed(req, reply, err);
    }
  });

  app.post('/operator/https', { preHandler: [allowed, app.csrfProtection] }, async (req, reply) => {
    const parsed = form(httpsForm, req.body);
    if (!parsed.ok) return page(req, reply, { error: `Not done: ${parsed.message}.` }, 400);
    const session = req.consoleSession!.token;
    try {
      if (parsed.value.action === 'rotate') {
        const r = await ctx.daemon.call('session.https.rotate', { session }, req.ip);
        return reply.done(
          '/operator',
          `A new certificate was made: SHA-256 ${r.certificate.sha256}. The console serves it within seconds; the browser will ask again.`,
        );
      }
      const r = await ctx.daemon.call('session.https.set', { session, enabled: parsed.value.action === 'on' }, req.ip);
      return reply.done('/operator', `HTTPS is ${r.https ? 'on' : 'off'}.`);
    } catch (err) {
      return failed(req, reply, err);
    }
  });
}
