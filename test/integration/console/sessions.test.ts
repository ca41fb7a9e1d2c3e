// Console sessions against a real daemon over the real socket: a token stands in for the password,
// only for the uid that opened it, and never reaches a log; a password changed through the CLI ends it.
import t from 'tap';
import { ATTACKER_UID, nodeAs, openToOtherUids } from '../../support/attacker.js';
import { allLogText, cleanup, cli, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon } from '../../support/harness.js';
import { call } from '../../../agent/wire/client.js';

const STRONG = { manufacturer: 'Mfr-Quartz-Nimbus-41!', operator: 'Op-Basalt-Harbor-73!' } as const;

t.test('a session token works for its uid alone, ends with a password change made elsewhere, and is never logged', async (t) => {
  const env = await makeEnv();
  await provisionWithDefaults(env);
  const daemon = await startDaemon(env);
  t.teardown(async () => {
    await daemon.stop();
    await cleanup(env);
  });
  const first = await call(env.socket, 'session.open', { role: 'operator', password: DEFAULTS.operator }, { origin: 'console', client: '127.0.0.1' });
  t.ok(first.changeOnly, 'on its default: a change-only session');
  await t.rejects(call(env.socket, 'session.https.set', { session: first.token, enabled: true }), { code: 'mustChange' });
  const changed = await call(env.socket, 'session.passwd', { session: first.token, currentPassword: DEFAULTS.operator, newPassword: STRONG.operator });
  t.same(changed, { role: 'operator', changed: true });
  await t.rejects(call(env.socket, 'session.info', { session: first.token }), { code: 'refused', body: { session: 'passwordChanged' } }, 'the change ended it');

  const { token } = await call(env.socket, 'session.open', { role: 'operator', password: STRONG.operator }, { origin: 'console' });
  t.match(await call(env.socket, 'session.info', { session: token }), { role: 'operator', changeOnly: false });
  const https = await call(env.socket, 'session.https.set', { session: token, enabled: true });
  t.equal(https.https, true, 'acts with the token instead of the password');

  // A stranger (another uid in the socket's group) who learnt the token gets nothing from it.
  const gid = await openToOtherUids(env);
  const script = `
    import { connect } from 'node:net';
    const [socket, token] = process.argv.slice(-2);
    const ask = (method, params) => new Promise((resolve) => {
      const s = connect(socket, () => s.write(JSON.stringify({ v: 1, id: 1, method, params, origin: 'stranger' }) + '\\n'));
      let text = '';
      s.on('data', (d) => { text += d; if (text.includes('\\n')) { s.destroy(); resolve(JSON.parse(text)); } });
    });
    console.log(JSON.stringify([await ask('session.https.set', { session: token, enabled: false }), await ask('session.close', { session: token })]));`;
  const r = await nodeAs(ATTACKER_UID, gid, script, [env.socket, token]);
  const [set, close] = JSON.parse(r.stdout) as Array<{ ok: boolean; error?: { code: string; session?: string } }>;
  t.match(set, { ok: false, error: { code: 'refused', session: 'unknown' } }, 'answered as an unknown token');
  t.match(close, { ok: false, error: { code: 'refused', session: 'unknown' } }, 'and cannot close it');
  t.match(await call(env.socket, 'session.info', { session: token }), { role: 'operator' }, 'the owner still has it');

  // The manufacturer resets the operator's password from the CLI: the session ends.
  const m = await cli(env, ['passwd', 'manufacturer', '--stdin'], `${DEFAULTS.manufacturer}\n${STRONG.manufacturer}\n`);
  t.equal(m.code, 0, m.stderr);
  const reset = await cli(env, ['passwd', 'operator', '--as', 'manufacturer', '--stdin'], `${STRONG.manufacturer}\nOp-Cobalt-Meadow-58!\n`);
  t.equal(reset.code, 0, reset.stderr);
  await t.rejects(call(env.socket, 'session.info', { session: token }), { code: 'refused', body: { session: 'passwordChanged' } });

  const logs = await allLogText(env);
  t.notOk(logs.includes(first.token) || logs.includes(token), 'no token in any log or event');
  t.match(
    logs,
    /"event":"SessionStarted","role":"operator","changeOnly":true,"origin":"socket:console","client":"127.0.0.1","peer":\{"uid":\d+/,
    "the browser's address beside the claimed origin and the kernel's peer",
  );
  t.match(logs, /"event":"SessionEnded".*"reason":"passwordChanged"/);
  const events = await cli(env, ['events', '--json', '--limit', '200']);
  t.notOk(events.stdout.includes(token), 'nor in the events a socket client reads');
});
