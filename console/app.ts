import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import type { Server as TlsServer } from 'node:tls';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import * as v from 'valibot';
import type { Config } from '../agent/common/config.js';
import type { Role } from '../policy/roles.js';
import { DaemonError, DaemonLink, sessionEnded } from './daemon-link.js';
import { Renderer, STATIC_DIR } from './render.js';
import type { TlsMaterial } from './tls.js';

/** The session cookie: `__Host-` binds it to this origin, path `/`, Secure (ASVS 7.1). */
export const SESSION_COOKIE = '__Host-ccguard-session';
const CSRF_COOKIE = '__Host-ccguard-csrf';
/** What a form did, shown once by the page it redirects to (post/redirect/get: a reload repeats nothing). */
const FLASH_COOKIE = '__Host-ccguard-done';
const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const COOKIE_OPTIONS = { path: '/', secure: true, httpOnly: true, sameSite: 'strict' } as const;

export interface ConsoleSession {
  token: string;
  role: Role;
  changeOnly: boolean;
  remainingSeconds: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    consoleSession: ConsoleSession | null;
    /** Why the browser's session cookie no longer works (the daemon said so), for the login page. */
    sessionEndReason: string | null;
  }
  interface FastifyReply {
    page(view: string, data?: Record<string, unknown>, status?: number): FastifyReply;
    /** Answers a done form: 303 to `path`, which shows `notice` once. */
    done(path: string, notice: string): FastifyReply;
  }
}

export interface ConsoleDeps {
  config: Config;
  tls: TlsMaterial;
  log: Logger;
  daemon?: DaemonLink;
}

export interface ConsoleContext {
  config: Config;
  daemon: DaemonLink;
  log: Logger;
  /** The certificate being served now (its fingerprint shown on the overview). */
  tls: () => TlsMaterial;
}

/** The reasons a session may end with, as the daemon names them: only these reach a page. */
const END_REASONS = new Set(['unknown', 'logout', 'idle', 'expired', 'passwordChanged', 'evicted']);

/**
 * The console's web application: fastify with its security plugins; every response, error pages
 * included, carries the headers of helmet (CSP without inline script or style, frame-ancestors
 * 'none', nosniff, no-referrer, COOP, HSTS) and `Cache-Control: no-store`.
 */
export async function buildApp(
  deps: ConsoleDeps,
  routes: Array<(app: FastifyInstance, ctx: ConsoleContext) => void>,
): Promise<{ app: FastifyInstance; ctx: ConsoleContext }> {
  const { config, log } = deps;
  const c = config.console;
  let tls = deps.tls;
  // One instance type for the routes: fastify types an HTTPS server's instance apart from the default one.
  const app = Fastify({
    loggerInstance: log as unknown as FastifyBaseLogger,
    // No per-request lines: the console logs what it decides, never a request's cookies or form.
    logController: new LogController({ disableRequestLogging: true }),
    https: { key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2' },
    bodyLimit: c.bodyLimitBytes,
    requestTimeout: c.requestTimeoutMs,
    keepAliveTimeout: c.keepAliveTimeoutMs,
    trustProxy: false,
    return503OnClosing: true,
  }) as unknown as FastifyInstance;
  const ctx: ConsoleContext = { config, daemon: deps.daemon ?? new DaemonLink(config.socket), log, tls: () => tls };
  app.decorate('replaceTls', (next: TlsMaterial) => {
    tls = next;
    (app.server as unknown as TlsServer).setSecureContext({ key: next.key, cert: next.cert, minVersion: 'TLSv1.2' });
  });

  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'"],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
    },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    crossOriginEmbedderPolicy: { policy: 'require-corp' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: false },
    xFrameOptions: { action: 'deny' },
  });
  await app.register(cookie);
  await app.register(formbody);
  app.addHook('onRequest', async (_req, reply) => {
    reply.header('cache-control', 'no-store');
    reply.header('permissions-policy', 'camera=(), microphone=(), geolocation=(), usb=()');
  });
  // A state change must come from a page of this console: the browser's Origin (or, without it,
  // Sec-Fetch-Site) says where the form was, whatever cookies it carries (ASVS 3.5).
  app.addHook('onRequest', async (req, reply) => {
    if (req.method === 'GET' || req.method === 'HEAD') return;
    // With Referrer-Policy no-referrer, Chromium sends `Origin: null` on a form's POST: the browser's
    // Sec-Fetch-Site (which no page can set) then says whether the form was this origin's.
    const origin = req.headers.origin;
    const sameOrigin =
      origin !== undefined && origin !== 'null' ? origin === `https://${req.headers.host ?? ''}` : req.headers['sec-fetch-site'] === 'same-origin';
    if (!sameOrigin) {
      log.warn({ method: req.method, url: req.routeOptions.url ?? 'unrouted', origin: origin ?? null }, 'cross-origin request refused');
      return reply.page('error', { title: 'Refused', message: 'This form did not come from a page of this console: the request was refused.' }, 403);
    }
    return undefined;
  });

  const hmacKey = randomBytes(32).toString('hex');
  await app.register(csrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: CSRF_COOKIE,
    cookieOpts: COOKIE_OPTIONS,
    // Bound to the session: a token from another session (or from before the login) is refused.
    getUserInfo: (req: FastifyRequest) => userInfo(req),
    csrfOpts: { hmacKey },
  });
  await app.register(rateLimit, {
    global: false,
    keyGenerator: (req) => req.ip,
    errorResponseBuilder: (_req, context) => {
      const err = new Error(`too many attempts from this address: wait ${Math.ceil(context.ttl / 1000)} s`) as Error & { statusCode: number };
      err.statusCode = 429;
      return err;
    },
  });

  const renderer = new Renderer();
  app.decorateRequest('consoleSession', null);
  app.decorateRequest('sessionEndReason', null);
  app.decorateReply('page', function (this: FastifyReply, view: string, data: Record<string, unknown> = {}, status = 200) {
    const req = this.request;
    const session = req.consoleSession;
    const flash = req.cookies[FLASH_COOKIE];
    if (flash !== undefined) this.clearCookie(FLASH_COOKIE, COOKIE_OPTIONS);
    const html = renderer.render(view, {
      title: 'ccguard',
      ...data,
      notice: (data.notice as string | null | undefined) ?? (flash ? flash.slice(0, 500) : null),
      session,
      csrf: this.generateCsrf({ userInfo: userInfo(req) }),
      path: req.routeOptions.url ?? '',
    });
    return this.code(status).type('text/html; charset=utf-8').send(html);
  });

  app.decorateReply('done', function (this: FastifyReply, path: string, notice: string) {
    // The cookie holds the console's own words about what was done, never a secret or the browser's text.
    this.setCookie(FLASH_COOKIE, notice, { ...COOKIE_OPTIONS, maxAge: 60 });
    return this.redirect(path, 303);
  });

  // Who is asking: the session cookie, checked with the daemon on every request (it holds the session).
  app.addHook('preHandler', async (req, reply) => {
    if (req.url.startsWith('/static/')) return;
    const token = req.cookies[SESSION_COOKIE];
    if (token === undefined) return;
    if (!TOKEN.test(token)) {
      reply.clearCookie(SESSION_COOKIE, COOKIE_OPTIONS);
      return;
    }
    try {
      const info = await ctx.daemon.call('session.info', { session: token }, req.ip);
      req.consoleSession = { token, role: info.role, changeOnly: info.changeOnly, remainingSeconds: info.remainingSeconds };
    } catch (err) {
      const reason = sessionEnded(err);
      if (reason === null) throw err;
      req.sessionEndReason = END_REASONS.has(reason) ? reason : 'unknown';
      reply.clearCookie(SESSION_COOKIE, COOKIE_OPTIONS);
    }
  });

  const staticFiles = new Map(
    ['console.css', 'console.js'].map((name) => {
      const body = readFileSync(new URL(name, STATIC_DIR));
      return [name, { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"` }] as const;
    }),
  );
  app.get('/static/:name', async (req, reply) => {
    const name = (req.params as { name: string }).name;
    const file = staticFiles.get(name);
    if (!file) return reply.page('error', { title: 'Not found', message: 'There is no such page on this console.' }, 404);
    reply.header('cache-control', 'no-cache');
    reply.header('etag', file.etag);
    if (req.headers['if-none-match'] === file.etag) return reply.code(304).send();
    return reply.type(name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8').send(file.body);
  });

  // Browsers ask for it on their own; there is none (and no 404 line in their console for it).
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).send());

  app.setNotFoundHandler((_req, reply) => reply.page('error', { title: 'Not found', message: 'There is no such page on this console.' }, 404));
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (err.code === 'FST_CSRF_INVALID_TOKEN' || err.code === 'FST_CSRF_MISSING_SECRET') {
      return reply.page(
        'error',
        { title: 'Form expired', message: 'The form had expired or belongs to another session. Open the page again and repeat.' },
        403,
      );
    }
    if (err instanceof DaemonError && err.code === 'unavailable') {
      log.error({ err: err.message }, 'daemon not reachable');
      return reply.page(
        'error',
        { title: 'Unavailable', message: 'The ccguard daemon does not answer. Check "systemctl status ccguard" on the controller.' },
        503,
      );
    }
    // A session that ended while a page was being made (a password changed meanwhile): log in again.
    const ended = sessionEnded(err);
    if (ended !== null) {
      reply.clearCookie(SESSION_COOKIE, COOKIE_OPTIONS);
      return reply.redirect(`/login?ended=${END_REASONS.has(ended) ? ended : 'unknown'}`, 303);
    }
    // Any other answer of the daemon (busy, refused): its message, which never holds a secret.
    if (err instanceof DaemonError && err.code !== 'internal') {
      const code = { refused: 403, invalid: 400, mustChange: 403, throttled: 429, unavailable: 503 }[err.code];
      return reply.page('error', { title: err.code === 'throttled' ? 'Busy' : 'Refused', message: err.message }, code);
    }
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      log.error({ err: { message: err.message, code: err.code }, url: req.routeOptions.url ?? 'unrouted' }, 'request failed');
      return reply.page('error', { title: 'Error', message: 'The console could not answer this request; see its log.' }, 500);
    }
    // Fastify's own 4xx (body too large, bad content type, rate limit): their message is the console's, not the browser's text.
    const message = status === 429 ? err.message : status === 413 ? 'The form was too large.' : 'The request was not understood.';
    return reply.page('error', { title: status === 429 ? 'Too many attempts' : 'Bad request', message }, status);
  });

  for (const route of routes) route(app, ctx);
  return { app, ctx };
}

/** What a CSRF token is bound to: the session (its token's digest), or none before a login. */
function userInfo(req: FastifyRequest): string {
  const token = req.consoleSession?.token;
  return token ? createHash('sha256').update(token).digest('base64url') : 'anonymous';
}

/** Sets the session cookie of a new session (a new token at every login: ASVS 7.2.4). */
export function setSessionCookie(reply: FastifyReply, token: string): void {
  reply.setCookie(SESSION_COOKIE, token, COOKIE_OPTIONS);
}

export function clearSessionCookie(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, COOKIE_OPTIONS);
}

/** Parses a form with its schema: the console's edge, like the daemon's. */
export function form<S extends v.GenericSchema>(schema: S, body: unknown): { ok: true; value: v.InferOutput<S> } | { ok: false; message: string } {
  const result = v.safeParse(schema, body ?? {});
  if (result.success) return { ok: true, value: result.output };
  const issue = result.issues[0];
  const key = issue?.path?.map((p) => String(p.key)).join('.') ?? 'form';
  return { ok: false, message: `${key}: ${issue?.message ?? 'invalid'}` };
}

/**
 * Lets a route through only with a live session of one of `roles`; a change-only session only to
 * the change page. A page without a session goes to the login page (saying why the last one ended).
 */
export function guard(roles: readonly Role[] | 'any', options: { changeOnlyAllowed?: boolean } = {}) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const session = req.consoleSession;
    if (!session) {
      if (req.method === 'GET' && !req.url.startsWith('/live/')) {
        const reason = req.sessionEndReason;
        return reply.redirect(reason ? `/login?ended=${reason}` : '/login', 303);
      }
      return reply.page('error', { title: 'Not logged in', message: 'Log in first.' }, 401);
    }
    if (session.changeOnly && !options.changeOnlyAllowed) return reply.redirect('/change', 303);
    if (roles !== 'any' && !roles.includes(session.role)) {
      return reply.page('error', { title: 'Not for this role', message: `This page is not for the ${session.role} role.` }, 403);
    }
    return undefined;
  };
}

/** A daemon refusal as the page shows it: its message (which names the rules in words, never the password). */
export function refusal(err: unknown): { message: string; status: number; sessionEnded: boolean; mustChange: boolean } {
  if (err instanceof DaemonError) {
    const status = { refused: 403, invalid: 400, mustChange: 403, throttled: 429, unavailable: 503, internal: 500 }[err.code];
    if (err.code === 'unavailable' || err.code === 'internal') throw err;
    return { message: err.message, status, sessionEnded: sessionEnded(err) !== null, mustChange: err.code === 'mustChange' };
  }
  throw err;
}
