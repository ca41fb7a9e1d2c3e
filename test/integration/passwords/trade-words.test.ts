// Issue 24's examples through the real daemon's socket, as an attacker targeting chargers would try
// them (passwdAs, with the device's name and serial in the config): the trade's words and brands in
// English and German, reversed words, the serial split at letter/digit boundaries, dates with separators.
import t from 'tap';
import { call, DaemonError } from '../../../agent/wire/client.js';
import { cleanup, DEFAULTS, makeEnv, provisionWithDefaults, startDaemon } from '../../support/harness.js';

const MFR = 'Quartz-Fjord-91-Lantern';
const env = await makeEnv({ device: { name: 'ev-westgate-07', serial: 'SN48213795' } });
t.teardown(() => cleanup(env));
await provisionWithDefaults(env);
const daemon = await startDaemon(env);
t.teardown(() => daemon.stop());
await call(env.socket, 'passwd', { role: 'manufacturer', currentPassword: DEFAULTS.manufacturer, newPassword: MFR });

async function rules(newPassword: string): Promise<string[]> {
  try {
    await call(env.socket, 'passwdAs', { role: 'operator', as: 'manufacturer', asPassword: MFR, newPassword });
  } catch (err) {
    if (err instanceof DaemonError && err.code === 'refused') return err.body.rules as string[];
    throw err;
  }
  return [];
}

const table: Array<[password: string, rule: string]> = [
  ['!Alfen24', 'commonBase'],
  ['!Autostrom24', 'commonBase'],
  ['!Betreiber24', 'commonBase'],
  ['!Chademo24', 'commonBase'],
  ['!Compleo24', 'commonBase'],
  ['Ladesäule2024!', 'commonBase'],
  ['Ladesaeule#1', 'commonBase'],
  ['Mennekes@2025', 'commonBase'],
  ['Ionity2023!', 'commonBase'],
  ['Emoclew2025!', 'commonBase'],
  ['Anna-15.09.2009', 'commonBase'],
  ['Evse#48213795', 'context'],
  ['Westgate-48213795', 'context'],
  ['Welcome48213795!', 'commonBase'],
];

for (const [password, rule] of table) {
  t.test(`${password}: refused as ${rule}`, async (t) => {
    t.ok((await rules(password)).includes(rule), `rules ${JSON.stringify(await rules(password))}`);
  });
}

t.test('a strong password is still accepted', async (t) => {
  t.same(await rules('Lantern-Quartz-Fjord-91'), []);
});
