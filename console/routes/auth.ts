import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as v from 'valibot';
import { ROLES } from '../../policy/roles.js';
import { clearSessionCookie, form, guard, refusal, setSessionCookie, type ConsoleContext } from '../app.js';
import { suggestPassword } from '../password-suggestion.js';

const password = v.pipe(v.string(), v.minLength(1, 'is empty'), v.maxLength(4096));
const loginForm = v.object({ role: v.picklist(ROLES, 'choose a role'), password });
const changeForm = v.object({ currentPassword: password, newPassword: password, confirmPassword: password });
const forgotForm = v.object({ puk: password, newPassword: password, confirmPassword: password });

/** What the login page says about the session that ended (the daemon's reason, a fixed word). */
const ENDED: Record<string, string> = {
  idle: 'Your session timed out after a while without use. Log in again.',
  expired: 'Your session reached its time limit. Log in again.',
  passwordChanged: "Your session ended: the role's password was changed or reset. Log in with the new password.",
  logout: 'You are logged out.',
  evicted: 'Your session was ended for a newer one. Log in again.',
  unknown: 'Your session is no longer valid. Log in again.',
};

/** Login, the forced change, logout, and the operator's forgotten password (the PUK). */
export function authRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  const loginLimit = { rateLimit: { max: ctx.config.console.loginAttemptsPerMinute, timeWindow: 60_000 } };

  app.get('/login', async (req, reply) => {
    if (req.consoleSession) return reply.redirect(req.consoleSession.changeOnly ? '/change' : '/', 303);
    const ended = (req.query as { ended?: string }).ended;
    return reply.page('login', { title: 'Log in', notice: ended ? (ENDED[ended] ?? null) : null, roles: ROLES, role: 'operator' });
  });

  app.post('/login', { config: loginLimit, preHandler: app.csrfProtection }, async (req, reply) => {
    const parsed = form(loginForm, req.body);
    if (!parsed.ok) return reply.page('login', { title: 'Log in', error: 'Choose a role and give its password.', roles: ROLES, role: 'operator' }, 400);
    const { role } = parsed.value;
    try {
      const opened = await ctx.daemon.call('session.open', { role, password: parsed.value.password }, req.ip);
      // A new session (new token) at every login; the old one, if any, is closed.
      await closeQuietly(ctx, req);
      setSessionCookie(reply, opened.token);
      return reply.redirect(opened.changeOnly ? '/change' : '/', 303);
    } catch (err) {
      const r = refusal(err);
      return reply.page('login', { title: 'Log in', error: r.message, roles: ROLES, role }, r.status);
    }
  });

  app.post('/logout', { preHandler: app.csrfProtection }, async (req, reply) => {
    await closeQuietly(ctx, req);
    clearSessionCookie(reply);
    return reply.redirect('/login?ended=logout', 303);
  });

  const changePage = (req: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) =>
    reply.page('change', { title: 'Change password', suggestion: suggestPassword(), forced: req.consoleSession?.changeOnly === true, ...extra }, status);

  app.get('/change', { preHandler: guard('any', { changeOnlyAllowed: true }) }, async (req, reply) => changePage(req, reply));

  app.post('/change', { preHandler: [guard('any', { changeOnlyAllowed: true }), app.csrfProtection] }, async (req, reply) => {
    const session = req.consoleSession!;
    const parsed = form(changeForm, req.body);
    if (!parsed.ok) return changePage(req, reply, { error: 'Fill in the current password and the new one twice.' }, 400);
    if (parsed.value.newPassword !== parsed.value.confirmPassword)
      return changePage(req, reply, { error: 'The new password and its confirmation differ.' }, 400);
    try {
      await ctx.daemon.call(
        'session.passwd',
        { session: session.token, currentPassword: parsed.value.currentPassword, newPassword: parsed.value.newPassword },
        req.ip,
      );
    } catch (err) {
      const r = refusal(err);
      return changePage(req, reply, { error: r.message }, r.status);
    }
    // The change ended every session of the role, this one too: a new one with the new password.
    try {
      const opened = await ctx.daemon.call('session.open', { role: session.role, password: parsed.value.newPassword }, req.ip);
      setSessionCookie(reply, opened.token);
      return reply.redirect('/?changed=1', 303);
    } catch {
      clearSessionCookie(reply);
      return reply.redirect('/login?ended=passwordChanged', 303);
    }
  });

  const forgotPage = async (req: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) => {
    const status_ = await ctx.daemon.call('status', {}, req.ip);
    return reply.page('forgot', { title: 'Forgot password', puk: status_.puk, suggestion: suggestPassword(), ...extra }, status);
  };

  app.get('/forgot', async (req, reply) => forgotPage(req, reply));

  app.post('/forgot', { config: loginLimit, preHandler: app.csrfProtection }, async (req, reply) => {
    const parsed = form(forgotForm, req.body);
    if (!parsed.ok) return forgotPage(req, reply, { error: 'Give the PUK and the new operator password twice.' }, 400);
    if (parsed.value.newPassword !== parsed.value.confirmPassword)
      return forgotPage(req, reply, { error: 'The new password and its confirmation differ.' }, 400);
    try {
      await ctx.daemon.call('puk.reset', { puk: parsed.value.puk, newPassword: parsed.value.newPassword }, req.ip);
    } catch (err) {
      const r = refusal(err);
      return forgotPage(req, reply, { error: r.message }, r.status);
    }
    return reply.done('/login', 'The operator password was set. Log in with it.');
  });
}

async function closeQuietly(ctx: ConsoleContext, req: FastifyRequest): Promise<void> {
  const token = req.consoleSession?.token;
  if (!token) return;
  await ctx.daemon.call('session.close', { session: token }, req.ip).catch(() => undefined);
}
