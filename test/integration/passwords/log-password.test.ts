// The Log Password through the real daemon's socket (issue 24): it passes the blocklist and the
// strength estimate with a bar above a role password's, the refusal names the rule and echoes
// nothing of the candidate, and a strong one (random characters, a passphrase) is accepted.
import t from 'tap';
import { call, DaemonError } from '../../../agent/wire/client.js';
import { allLogText, cleanup, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon, statusJson } from '../../support/harness.js';

const MFR = 'Quartz-Fjord-91-Lantern';
const env = await makeEnv({ device: { name: 'ev-westgate-07', serial: 'SN48213795' } });
t.teardown(() => cleanup(env));
await provisionWithDefaults(env);
const daemon = await startDaemon(env);
t.teardown(() => daemon.stop());
await call(env.socket, 'passwd', { role: 'manufacturer', currentPassword: DEFAULTS.manufacturer, newPassword: MFR });

async function refusal(logPassword: string): Promise<DaemonError> {
  try {
    await call(env.socket, 'logPassword.set', { password: MFR, logPassword });
  } catch (err) {
    if (err instanceof DaemonError) return err;
    throw err;
  }
  throw new Error('accepted');
}

const table: Array<[logPassword: string, rule: string]> = [
  ['Password1234', 'breached'],
  ['Summer2025!!', 'commonBase'],
  ['Emoclew2025!!', 'commonBase'],
  ['Anna-15.09.2009', 'commonBase'],
  ['!Autostrom2024', 'commonBase'],
  ['Log-Password-2024!', 'context'],
  ['Westgate#48213795', 'context'],
  ['Export-Ccguard-2025', 'context'],
  // Listed nowhere, but a few words and a date: a wordlist run's work at PBKDF2-SHA1 × 1000.
  ['BlueTree2024!', 'strength'],
  ['Qwerty!Monkey1', 'strength'],
  ['short-pass', 'minLength'],
];

for (const [logPassword, rule] of table) {
  t.test(`${logPassword}: refused as ${rule}, nothing of it echoed`, async (t) => {
    const err = await refusal(logPassword);
    t.equal(err.code, 'refused');
    t.same(err.body.rules, [rule]);
    t.match(err.message, /^Log Password refused: a Log Password /);
    t.notOk(JSON.stringify(err.body).toLowerCase().includes(logPassword.toLowerCase()), 'the answer does not contain it');
  });
}

t.test('strong ones are accepted; nothing refused reached the logs', async (t) => {
  t.equal((await statusJson(env)).logPasswordSet, false, 'no refusal set one');
  for (const good of ['q7#Vm2!pL9@xR4zK', 'Zircon Tundra Falcon Mosaic', 'cobalt-meadow-sparrow-willow-ember-glacier-lantern-harbor']) {
    await call(env.socket, 'logPassword.set', { password: MFR, logPassword: good });
  }
  t.equal((await statusJson(env)).logPasswordSet, true);
  const logs = (await allLogText(env)).toLowerCase();
  for (const [logPassword] of table) t.notOk(logs.includes(logPassword.toLowerCase()), `${logPassword} is not in the logs`);
});
