// The blocklist through the real daemon: refusals name the rule, echo nothing of the password,
// and use the device's name and serial from the config as context words.
import t from 'tap';
import { call, DaemonError } from '../../../agent/wire/client.js';
import { allLogText, cleanup, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon } from '../../support/harness.js';

const env = await makeEnv({ device: { name: 'ev-westgate-07', serial: 'SN-88412-QX' } });
t.teardown(() => cleanup(env));
await provisionWithDefaults(env);
const daemon = await startDaemon(env);
t.teardown(() => daemon.stop());

async function refusal(newPassword: string): Promise<DaemonError> {
  try {
    await call(env.socket, 'passwd', { role: 'installer', currentPassword: DEFAULTS.installer, newPassword });
  } catch (err) {
    if (err instanceof DaemonError) return err;
    throw err;
  }
  throw new Error('accepted');
}

const table: Array<[password: string, rule: string]> = [
  ['Rafiki@2025', 'commonBase'],
  ['Pedro2024!', 'commonBase'],
  ['Eminem@2025', 'commonBase'],
  ['Obsession@2025', 'commonBase'],
  ['Lester@2025', 'commonBase'],
  ['Iloveyou', 'breached'],
  ['Westgate2024!', 'context'],
  ['SN88412QX!', 'context'],
  ['Ccguard#2030', 'context'],
  ['Station-Charge1', 'context'],
  ['Operator@1999', 'context'],
];

for (const [password, rule] of table) {
  t.test(`${password}: refused as ${rule}, nothing of it echoed`, async (t) => {
    const err = await refusal(password);
    t.equal(err.code, 'refused');
    t.ok((err.body.rules as string[]).includes(rule), `rules ${JSON.stringify(err.body.rules)}`);
    const text = JSON.stringify(err.body).toLowerCase();
    t.notOk(text.includes(password.toLowerCase()), 'the answer does not contain the password');
    t.notOk(
      text.includes(
        password
          .toLowerCase()
          .replace(/[^a-z]/g, '')
          .slice(0, 6),
      ),
      'nor its base',
    );
  });
}

t.test('a good password is still accepted, and nothing refused reached the logs', async (t) => {
  await call(env.socket, 'passwd', { role: 'installer', currentPassword: DEFAULTS.installer, newPassword: 'Lantern-Quartz-Fjord-91' });
  await call(env.socket, 'login', { role: 'installer', password: 'Lantern-Quartz-Fjord-91' });
  const logs = (await allLogText(env)).toLowerCase();
  for (const [password] of table) t.notOk(logs.includes(password.toLowerCase()), `${password} is not in the logs`);
});
