// The catalogue of security events: every event the code records is in it and nothing else, each
// entry's fields refuse what the daemon does not write, and noise is classified as the log kept it.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import * as v from 'valibot';
import { eventEntry, fieldShapes, isNoise, SECURITY_EVENT_NAMES } from '../../../agent/wire/security-events.js';
import { SAMPLES } from '../../support/security-event-samples.js';

const AGENT_DIST = fileURLToPath(new URL('../../../agent/', import.meta.url));
const README = fileURLToPath(new URL('../../../../README.md', import.meta.url));

async function compiledSources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.js')).map((e) => join(e.parentPath, e.name));
}

t.test('every event the agent records is in the catalogue, and every entry is recorded somewhere', async (t) => {
  const recorded = new Set<string>();
  let calls = 0;
  for (const file of await compiledSources(AGENT_DIST)) {
    for (const match of (await readFile(file, 'utf8')).matchAll(/\.record\(\s*'([A-Za-z]+)'/g)) {
      recorded.add(match[1] ?? '');
      calls++;
    }
  }
  t.ok(calls >= 30, `the scan finds the record calls (${calls})`);
  t.same([...recorded].sort(), [...SECURITY_EVENT_NAMES].sort());
});

t.test('each entry accepts its samples and refuses an unknown field or a field of the wrong type', async (t) => {
  for (const event of SECURITY_EVENT_NAMES) {
    const { fields } = eventEntry(event);
    const samples: object[] = SAMPLES[event];
    t.ok(samples.length >= fieldShapes(event).length, `${event}: a sample for each shape`);
    for (const sample of samples) {
      t.ok(v.is(fields, sample), `${event}: ${JSON.stringify(sample)}`);
      t.notOk(v.is(fields, { ...sample, note: 'x' }), `${event}: an unknown field`);
      for (const key of Object.keys(sample)) {
        t.notOk(v.is(fields, { ...sample, [key]: 10n }), `${event}: ${key} of the wrong type`);
      }
    }
  }
});

t.test('a missing field is refused, unless the catalogue makes it optional', async (t) => {
  const { fields } = eventEntry('StartupOfTheDevice');
  t.notOk(v.is(fields, { version: '0.1.0', provisioned: true }));
  t.ok(v.is(eventEntry('MaintenanceLoginFailed').fields, { role: 'user', reason: 'throttled' }));
  t.notOk(v.is(eventEntry('MaintenanceLoginFailed').fields, { role: 'user', reason: 'guessed' }), 'reasons are literals');
});

t.test('the samples cover every kind of change', async (t) => {
  const kinds = fieldShapes('ReconfigurationOfSecurityParameters').map((shape) => (shape.change as v.LiteralSchema<string, undefined>).literal);
  t.same(SAMPLES.ReconfigurationOfSecurityParameters.map((s) => s.change).sort(), kinds.sort());
  t.ok(kinds.includes('passwordPolicy') && !kinds.includes('policy'), 'the policy change is named as the daemon writes it');
});

t.test('noise and the public allowance, as the log kept them', async (t) => {
  for (const event of SECURITY_EVENT_NAMES) {
    for (const sample of SAMPLES[event]) t.equal(isNoise(event, sample), event === 'InvalidMessages', `${event} ${JSON.stringify(sample)}`);
  }
  t.ok(isNoise('MaintenanceLoginFailed', { role: 'operator', origin: 'socket:web', reason: 'throttled' }), 'a throttled attempt, refused unchecked');
  t.ok(isNoise('MaintenanceLoginFailed', { role: 'operator', method: 'resetPasswordPuk', reason: 'throttled', triesLeft: 9 }));
  const allowances = Object.fromEntries(
    SECURITY_EVENT_NAMES.flatMap((e) => (eventEntry(e).publicAllowance === undefined ? [] : [[e, eventEntry(e).publicAllowance]])),
  );
  t.same(allowances, { TamperDetectionActivated: 10, AttemptedReplayAttacks: 10 });
});

t.test('no event names a field like the kernel peer the log adds, but the one known clash', async (t) => {
  // SyncPeerRejected's peer (the slave's address) predates the kernel peer; a push started by a
  // socket request gets the requester's peer written over it (reported, kept: fields are never renamed).
  const clashing = SECURITY_EVENT_NAMES.filter((event) => fieldShapes(event).some((shape) => 'peer' in shape));
  t.same(clashing, ['SyncPeerRejected']);
});

t.test("the README's security events name every event and every kind of change, and no other", async (t) => {
  const readme = await readFile(README, 'utf8');
  const section = readme.slice(readme.indexOf('### Security events'), readme.indexOf('## State on disk'));
  t.ok(section.length > 0 && section.length < readme.length, 'the section is found');
  const named = (text: string): Set<string> => new Set([...text.matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1] ?? ''));
  const events = [...named(section)].filter((word) => /^[A-Z]/.test(word));
  t.same(events.sort(), [...SECURITY_EVENT_NAMES].sort(), 'events');
  const changeRow = section.split('\n').find((line) => line.startsWith('| `ReconfigurationOfSecurityParameters`')) ?? '';
  const kinds = fieldShapes('ReconfigurationOfSecurityParameters').map((shape) => (shape.change as v.LiteralSchema<string, undefined>).literal);
  const documented = [...named(changeRow.slice(changeRow.indexOf('which:')))];
  t.same(documented.sort(), kinds.sort(), 'kinds of change');
});
