// The console's security checks (issue 26 §4) against a real daemon and a real console over HTTPS on
// 127.0.0.1: headers and cookie flags on every route, CSRF, Origin, sessions ended elsewhere or idle,
// and a crawl without a session. HTTP-level checks use a raw client; the cross-site form a browser.
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'node:tls';
import t, { type Test } from 'tap';
import { allLogText, cli, DEFAULTS, statusJson } from '../../support/harness.js';
import { consoleRig, csrfOf, fetchRaw, RawClient, RIG_OPERATOR, type RawResponse } from '../../support/console.js';
import { launchBrowser } from '../../support/browser.js';

const MFR = 'Quartz-Lantern-Harbor-61!';
const IDLE_MS = 8000;
const LOGINS_PER_MINUTE = 40;
let mfr = MFR;

/** Every page and action of the console, as (method, path). */
const GETS = [
  '/',
  '/login',
  '/change',
  '/forgot',
  '/manufacturer',
  '/manufacturer/enrolment',
  '/operator',
  '/logs',
  '/handover',
  '/live/status',
  '/live/events',
  '/live/enrolment',
];
const POSTS = [
  '/login',
  '/logout',
  '/change',
  '/forgot',
  '/manufacturer/role-password',
  '/manufacturer/policy',
  '/manufacturer/puk',
  '/manufacturer/log-password',
  '/manufacturer/cards/enroll',
  '/manufacturer/cards/remove',
  '/manufacturer/defaults',
  '/manufacturer/fallback',
  '/operator/webui',
  '/operator/https',
  '/logs/export',
];

function securityHeaders(t: Test, r: RawResponse, what: string): void {
  const h = r.headers;
  const csp = String(h['content-security-policy'] ?? '');
  t.match(csp, /default-src 'none'/, `${what}: CSP default-src 'none'`);
  t.match(csp, /script-src 'self'(;|$)/, `${what}: scripts from the console only (no inline)`);
  t.match(csp, /style-src 'self'(;|$)/, `${what}: styles from the console only (no inline)`);
  t.match(csp, /frame-ancestors 'none'/, `${what}: frame-ancestors 'none'`);
  t.notMatch(csp, /unsafe-inline|unsafe-eval/, `${what}: nothing unsafe`);
  t.equal(h['x-content-type-options'], 'nosniff', `${what}: nosniff`);
  t.equal(h['referrer-policy'], 'no-referrer', `${what}: no-referrer`);
  t.equal(h['cross-origin-opener-policy'], 'same-origin', `${what}: COOP`);
  t.match(String(h['strict-transport-security']), /max-age=\d{7,}/, `${what}: HSTS`);
  t.equal(h['cache-control'] === 'no-store' || h['cache-control'] === 'no-cache', true, `${what}: not kept by caches`);
}

t.test('the console over HTTPS: headers, cookies, CSRF, Origin, sessions, a crawl without a session', async (t) => {
  const rig = await consoleRig(() => ({ sessions: { idleMs: IDLE_MS }, console: { loginAttemptsPerMinute: LOGINS_PER_MINUTE } }));
  t.teardown(rig.stop);
  const m = await cli(rig.env, ['passwd', 'manufacturer', '--stdin'], `${DEFAULTS.manufacturer}\n${MFR}\n`);
  t.equal(m.code, 0, m.stderr);

  // The certificate served is the device's, as the daemon reports it.
  const st = await statusJson(rig.env);
  const first = await fetchRaw(`${rig.url}/login`);
  t.equal(first.fingerprint, st.httpsCertificate?.sha256, 'the console serves the device certificate (fingerprint as status shows it)');

  await t.test('headers on every route, a 404 and errors included; cookies __Host-, Secure, HttpOnly, SameSite=Strict', async (t) => {
    const anonymous = new RawClient(rig.url);
    for (const path of [...GETS, '/no/such/page', '/static/console.css', '/static/nothing.js']) {
      const r = await anonymous.get(path);
      securityHeaders(t, r, `GET ${path} (${r.status})`);
    }
    for (const path of POSTS) securityHeaders(t, await anonymous.post(path, {}), `POST ${path}`);
    const user = new RawClient(rig.url);
    const login = await user.login('manufacturer', MFR);
    t.equal(login.status, 303, 'logged in');
    const cookies = ([] as string[]).concat(login.headers['set-cookie'] ?? []);
    const session = cookies.find((c) => c.startsWith('__Host-ccguard-session='));
    t.ok(session, 'the session cookie has the __Host- prefix');
    for (const flag of ['Secure', 'HttpOnly', 'SameSite=Strict', 'Path=/']) t.match(session, flag, `session cookie: ${flag}`);
    t.notMatch(session, /Domain=/i, 'no Domain (host-only)');
    const csrfCookie = ([] as string[]).concat(first.headers['set-cookie'] ?? []).find((c) => c.startsWith('__Host-ccguard-csrf='));
    for (const flag of ['Secure', 'HttpOnly', 'SameSite=Strict']) t.match(csrfCookie, flag, `CSRF cookie: ${flag}`);
    for (const path of GETS.filter((p) => !p.startsWith('/live/') && p !== '/forgot' && p !== '/manufacturer/enrolment')) {
      securityHeaders(t, await user.get(path), `GET ${path} logged in`);
    }
    // A new session (a new token) at each login.
    const before = user.cookies.get('__Host-ccguard-session');
    await user.post('/logout', { _csrf: csrfOf((await user.get('/')).body) });
    await user.login('manufacturer', MFR);
    t.not(user.cookies.get('__Host-ccguard-session'), before, 'a new token at the next login');
    t.ok(user.cookies.get('__Host-ccguard-session'));
  });

  await t.test('CSRF: refused without a token and with another session’s; accepted with its own', async (t) => {
    const a = new RawClient(rig.url);
    const b = new RawClient(rig.url);
    t.equal((await a.login('operator', RIG_OPERATOR)).status, 303);
    t.equal((await b.login('operator', RIG_OPERATOR)).status, 303);
    const tokenA = csrfOf((await a.get('/operator')).body);
    const tokenB = csrfOf((await b.get('/operator')).body);
    const without = await a.post('/operator/https', { action: 'off' });
    t.equal(without.status, 403, 'no token: refused');
    const foreign = await a.post('/operator/https', { _csrf: tokenB, action: 'off' });
    t.equal(foreign.status, 403, "another session's token: refused");
    t.equal((await statusJson(rig.env)).https, true, 'nothing changed');
    const own = await a.post('/operator/https', { _csrf: tokenA, action: 'on' });
    t.equal(own.status, 303, 'its own token: done, and back to the page');
    t.equal(own.headers.location, '/operator');
    t.match((await a.get('/operator')).body, /HTTPS is on/, 'which says what was done, once');
    t.notMatch((await a.get('/operator')).body, /HTTPS is on\./, 'and only once');
  });

  await t.test('a cross-origin POST is refused, whatever it carries; no state change on GET', async (t) => {
    const a = new RawClient(rig.url);
    await a.login('operator', RIG_OPERATOR);
    const token = csrfOf((await a.get('/operator')).body);
    const evil = await a.post('/operator/https', { _csrf: token, action: 'off' }, { origin: 'https://evil.example' });
    t.equal(evil.status, 403, 'another Origin: refused');
    const crossSite = await a.post('/operator/https', { _csrf: token, action: 'off' }, { origin: 'null', 'sec-fetch-site': 'cross-site' });
    t.equal(crossSite.status, 403, 'Origin null from another site: refused');
    const noOrigin = await a.post('/operator/https', { _csrf: token, action: 'off' }, {});
    t.equal(noOrigin.status, 403, 'neither Origin nor Sec-Fetch-Site: refused');
    const viaGet = await a.get('/operator/https?action=off');
    t.equal(viaGet.status, 404, 'no action answers a GET');
    t.equal((await statusJson(rig.env)).https, true, 'HTTPS still on');

    // The same from a page of another site in a real browser (a logged-in context): SameSite and Origin both stop it.
    const browser = await launchBrowser();
    t.teardown(browser.close);
    const context = await browser.context();
    const page = await context.newPage();
    await page.goto(`${rig.url}/login`);
    await page.selectOption('#role', 'operator');
    await page.fill('#password', RIG_OPERATOR);
    await page.click('main button[type=submit]');
    await page.waitForURL(`${rig.url}/`);
    const attacker = await context.newPage();
    await attacker.setContent(
      `<form id="f" method="post" action="${rig.url}/operator/https"><input name="action" value="off"><input name="_csrf" value="${token}"></form>`,
    );
    const [response] = await Promise.all([attacker.waitForNavigation(), attacker.evaluate('document.getElementById("f").submit()')]);
    t.equal(response?.status(), 403, 'the cross-site form is refused');
    t.equal((await statusJson(rig.env)).https, true, 'HTTPS still on');
  });

  await t.test('a password changed elsewhere ends the console session', async (t) => {
    const a = new RawClient(rig.url);
    await a.login('manufacturer', MFR);
    t.equal((await a.get('/manufacturer')).status, 200);
    const changed = await cli(rig.env, ['passwd', 'manufacturer', '--stdin'], `${MFR}\nVelvet-Anchor-Meadow-27!\n`);
    t.equal(changed.code, 0, changed.stderr);
    mfr = 'Velvet-Anchor-Meadow-27!';
    const after = await a.get('/manufacturer');
    t.equal(after.status, 303);
    t.equal(after.headers.location, '/login?ended=passwordChanged');
    t.match((await a.get('/login?ended=passwordChanged')).body, /password was changed or reset/);
  });

  await t.test('an idle session ends after the configured time', async (t) => {
    const a = new RawClient(rig.url);
    await a.login('operator', RIG_OPERATOR);
    t.equal((await a.get('/')).status, 200);
    await sleep(IDLE_MS + 500);
    const after = await a.get('/');
    t.equal(after.status, 303);
    t.equal(after.headers.location, '/login?ended=idle');
  });

  await t.test('a crawl of every route without a session gets the login page or a refusal, never data', async (t) => {
    const stranger = new RawClient(rig.url);
    const fingerprint = st.httpsCertificate?.sha256 ?? 'none';
    for (const path of GETS) {
      const r = await stranger.get(path);
      const ok = (r.status === 303 && r.headers.location === '/login') || r.status === 401 || path === '/login' || path === '/forgot';
      t.ok(ok, `GET ${path}: ${r.status} ${String(r.headers.location ?? '')}`);
      t.notMatch(r.body, fingerprint, `GET ${path}: no station data`);
      t.notMatch(r.body, /Audit findings|Master cards|Security events/, `GET ${path}: no page of a session`);
    }
    for (const path of POSTS) {
      const r = await stranger.post(path, { _csrf: csrfOf((await stranger.get('/login')).body), action: 'off', mode: '2.0', enabled: 'on' });
      t.ok([303, 401, 403, 400].includes(r.status), `POST ${path}: ${r.status}`);
      t.notMatch(r.body, fingerprint, `POST ${path}: no station data`);
    }
    t.equal((await statusJson(rig.env)).https, true, 'nothing changed');
  });

  await t.test('no secret in a log, an event, a URL or an error page', async (t) => {
    const a = new RawClient(rig.url);
    const wrong = await a.login('manufacturer', 'Wrong-Secret-Guess-11!');
    t.equal(wrong.status, 403);
    t.notMatch(wrong.body, 'Wrong-Secret-Guess-11!', 'the page does not repeat the password');
    await a.login('manufacturer', mfr);
    const token = a.cookies.get('__Host-ccguard-session') ?? 'none';
    t.equal(token.length, 43, 'logged in');
    const logs = (await allLogText(rig.env)) + rig.output();
    for (const secret of [MFR, mfr, RIG_OPERATOR, 'Wrong-Secret-Guess-11!', token]) t.notMatch(logs, secret, 'not in the daemon’s or the console’s logs');
  });

  await t.test('a form larger than the body limit is refused, with the same headers', async (t) => {
    const a = new RawClient(rig.url);
    const token = csrfOf((await a.get('/login')).body);
    const r = await a.post('/login', { _csrf: token, role: 'operator', password: 'x'.repeat(20 * 1024) });
    t.equal(r.status, 413);
    t.match(r.body, /The form was too large/);
    securityHeaders(t, r, 'POST /login (413)');
  });

  await t.test('TLS 1.2 or later only; a new certificate (https rotate) is served without a restart', async (t) => {
    const old = await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: Number(new URL(rig.url).port), rejectUnauthorized: false, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' });
      socket.once('secureConnect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
    t.not(old, 'connected', `TLS 1.1 is refused (${old})`);
    const pid = rig.proc.pid;
    const before = (await fetchRaw(`${rig.url}/login`)).fingerprint;
    const rotated = await cli(rig.env, ['https', 'rotate', '--stdin', '--json'], `${RIG_OPERATOR}\n`);
    t.equal(rotated.code, 0, rotated.stderr);
    const now = (await statusJson(rig.env)).httpsCertificate?.sha256;
    t.not(now, before, 'a new certificate');
    let served = before;
    for (let i = 0; i < 50 && served !== now; i++) {
      await sleep(100);
      served = (await fetchRaw(`${rig.url}/login`)).fingerprint;
    }
    t.equal(served, now, 'the console serves it within seconds');
    t.equal(rig.proc.pid, pid, 'same process');
    t.equal(rig.proc.exitCode, null, 'no restart');
  });

  await t.test('logins per browser address are limited in front of the daemon’s throttle', async (t) => {
    const a = new RawClient(rig.url);
    let status = 0;
    for (let i = 0; i < LOGINS_PER_MINUTE + 1 && status !== 429; i++) status = (await a.login('user', `Wrong-Guess-${i}-Xy!`)).status;
    t.equal(status, 429, 'too many attempts from this address: 429 before the daemon is asked again');
  });
});
