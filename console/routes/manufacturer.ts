import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as v from 'valibot';
import { ROLES } from '../../policy/roles.js';
import { form, guard, refusal, type ConsoleContext } from '../app.js';
import { Enrolments } from '../enrolments.js';
import { suggestPassword } from '../password-suggestion.js';
import { stream } from '../sse.js';

const secret = v.pipe(v.string(), v.minLength(1, 'is empty'), v.maxLength(4096));
const checkbox = v.optional(v.picklist(['on']));
const forms = {
  rolePassword: v.object({ role: v.picklist(ROLES.filter((r) => r !== 'manufacturer')), newPassword: secret, confirmPassword: secret, password: secret }),
  policy: v.object({ enforceStrong: checkbox, enforcePasswordChange: checkbox }),
  puk: v.object({ puk: secret, confirmPuk: secret, password: secret }),
  logPassword: v.object({ logPassword: secret, confirmLogPassword: secret, password: secret }),
  enroll: v.object({ reader: v.optional(v.pipe(v.string(), v.maxLength(256))), uidOnly: checkbox, password: secret }),
  remove: v.object({ id: v.pipe(v.string(), v.regex(/^[0-9a-f]{8}$/, 'is not a card id')), password: secret }),
  password: v.object({ password: secret }),
};

const ENROL_TIMEOUT_SECONDS = 60;

/** Manufacturer: the guide's Manufacturer Password page, the other roles' passwords, PUK, Log Password, master cards, defaults. */
export function manufacturerRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  const only = guard(['manufacturer']);
  const enrolments = new Enrolments();

  const page = async (req: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200): Promise<FastifyReply> => {
    const token = req.consoleSession!.token;
    const [st, cards] = await Promise.all([ctx.daemon.call('status', {}, req.ip), ctx.daemon.call('session.masterCard.list', { session: token }, req.ip)]);
    return reply.page(
      'manufacturer',
      {
        title: 'Manufacturer',
        status: st,
        cards: cards.masterCards,
        suggestion: suggestPassword(),
        roles: ROLES.filter((r) => r !== 'manufacturer'),
        ...extra,
      },
      status,
    );
  };

  /** Runs one form's action and shows the page again with what happened. */
  const act =
    <S extends v.GenericSchema>(
      schema: S,
      check: (value: v.InferOutput<S>) => string | null,
      run: (value: v.InferOutput<S>, req: FastifyRequest) => Promise<string>,
    ) =>
    async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const parsed = form(schema, req.body);
      if (!parsed.ok) return page(req, reply, { error: `Not done: ${parsed.message}.` }, 400);
      const mismatch = check(parsed.value);
      if (mismatch) return page(req, reply, { error: mismatch }, 400);
      try {
        return reply.done('/manufacturer', await run(parsed.value, req));
      } catch (err) {
        const r = refusal(err);
        if (r.sessionEnded) return reply.redirect('/login?ended=passwordChanged', 303);
        return page(req, reply, { error: r.message }, r.status);
      }
    };
  const post = (path: string, handler: (req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>): void => {
    app.post(path, { preHandler: [only, app.csrfProtection] }, handler);
  };
  const session = (req: FastifyRequest): string => req.consoleSession!.token;
  const none = (): null => null;

  app.get('/manufacturer', { preHandler: only }, async (req, reply) => page(req, reply));

  post(
    '/manufacturer/role-password',
    act(
      forms.rolePassword,
      (f) => (f.newPassword === f.confirmPassword ? null : 'The new password and its confirmation differ.'),
      async (f, req) => {
        await ctx.daemon.call('session.passwdAs', { session: session(req), password: f.password, role: f.role, newPassword: f.newPassword }, req.ip);
        return `The ${f.role} password was set; ${f.role} must change it at the next login.`;
      },
    ),
  );
  post(
    '/manufacturer/policy',
    act(forms.policy, none, async (f, req) => {
      const p = await ctx.daemon.call(
        'session.policy.set',
        { session: session(req), enforceStrong: f.enforceStrong === 'on', enforcePasswordChange: f.enforcePasswordChange === 'on' },
        req.ip,
      );
      return `Enforce strong login passwords: ${p.enforceStrong ? 'on' : 'off'}. Enforce Password change: ${p.enforcePasswordChange ? 'on' : 'off'}.`;
    }),
  );
  post(
    '/manufacturer/puk',
    act(
      forms.puk,
      (f) => (f.puk === f.confirmPuk ? null : 'The PUK and its confirmation differ.'),
      async (f, req) => {
        const r = await ctx.daemon.call('session.puk.set', { session: session(req), password: f.password, puk: f.puk }, req.ip);
        return `The Reset Password PUK is set (${r.triesLeft} tries).`;
      },
    ),
  );
  post(
    '/manufacturer/log-password',
    act(
      forms.logPassword,
      (f) => (f.logPassword === f.confirmLogPassword ? null : 'The Log Password and its confirmation differ.'),
      async (f, req) => {
        await ctx.daemon.call('session.logPassword.set', { session: session(req), password: f.password, logPassword: f.logPassword }, req.ip);
        return 'The Log Password is set: exported logs are encrypted with it (AES-256; open them with 7-Zip).';
      },
    ),
  );
  post(
    '/manufacturer/cards/remove',
    act(forms.remove, none, async (f, req) => {
      const r = await ctx.daemon.call('session.masterCard.remove', { session: session(req), password: f.password, id: f.id }, req.ip);
      return `Master card ${r.removed} removed; ${r.remaining} left.`;
    }),
  );
  post(
    '/manufacturer/defaults',
    act(forms.password, none, async (f, req) => {
      const r = await ctx.daemon.call('session.defaults.save', { session: session(req), password: f.password }, req.ip);
      return `The current settings were saved as the manufacturer defaults (${r.masterCards} master cards) at ${r.savedAt}.`;
    }),
  );
  post(
    '/manufacturer/fallback',
    act(v.object({}), none, async (_f, req) => {
      const r = await ctx.daemon.call('session.audit.acknowledgeFallback', { session: session(req) }, req.ip);
      return `The fallback to generation ${r.acknowledged.usingGeneration} is acknowledged.`;
    }),
  );

  // Enrolment: the daemon's call waits for the card; the page (live, or refreshed without JavaScript) shows its steps.
  post('/manufacturer/cards/enroll', async (req, reply) => {
    const parsed = form(forms.enroll, req.body);
    if (!parsed.ok) return page(req, reply, { error: `Not done: ${parsed.message}.` }, 400);
    const token = session(req);
    if (enrolments.get(token)?.state === 'running') return reply.redirect('/manufacturer/enrolment', 303);
    const reader = parsed.value.reader ? parsed.value.reader : null;
    const ip = req.ip;
    enrolments.start(token, reader, ENROL_TIMEOUT_SECONDS, () =>
      ctx.daemon.call(
        'session.masterCard.enroll',
        {
          session: token,
          password: parsed.value.password,
          timeoutSeconds: ENROL_TIMEOUT_SECONDS,
          uidOnly: parsed.value.uidOnly === 'on',
          ...(reader === null ? {} : { reader }),
        },
        ip,
        { timeoutMs: (ENROL_TIMEOUT_SECONDS + 30) * 1000 },
      ),
    );
    return reply.redirect('/manufacturer/enrolment', 303);
  });

  app.get('/manufacturer/enrolment', { preHandler: only }, async (req, reply) => {
    const job = enrolments.get(session(req));
    const rfid = await ctx.daemon.call('readers', {}, req.ip);
    return reply.page('enrolment', {
      title: 'Master card enrolment',
      job,
      step: rfid.enrolmentStep,
      readers: rfid.readers,
      refresh: job?.state === 'running' ? 2 : null,
    });
  });

  app.get('/live/enrolment', { preHandler: only }, async (req, reply) => {
    const token = session(req);
    return stream(req, reply, ctx, async () => {
      const job = enrolments.get(token);
      const rfid = await ctx.daemon.call('readers', {}, req.ip);
      return { state: job?.state ?? 'none', step: rfid.enrolmentStep, card: job?.card ?? null, error: job?.error ?? null };
    });
  });
}
