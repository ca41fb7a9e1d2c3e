// The documented JSON Schemas themselves: each compiles strictly, is named for its file, and the
// event schema lists exactly the security events the agent records.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { SECURITY_EVENT_NAMES } from '../../../agent/wire/security-events.js';
import { loadSchemas, SCHEMA_DIR, schemaErrors } from '../../support/json-schema.js';

const FILES = ['audit', 'event', 'master-cards', 'policy', 'readers', 'status', 'sync-status'].map((n) => `${n}.schema.json`);

t.test('every schema compiles in strict mode and its $id names its file', async (t) => {
  t.same((await readdir(SCHEMA_DIR)).sort(), FILES, 'one schema per reading command, no stray file');
  const ajv = await loadSchemas();
  for (const file of FILES) {
    const schema = JSON.parse(await readFile(join(SCHEMA_DIR, file), 'utf8')) as { $id: string };
    t.equal(schema.$id, `https://ccguard.invalid/schemas/${file}`, `${file}: $id`);
    t.ok(ajv.getSchema(schema.$id)?.schema, `${file}: compiles`);
  }
});

t.test('the event schema lists exactly the recorded security events', async (t) => {
  const schema = JSON.parse(await readFile(join(SCHEMA_DIR, 'event.schema.json'), 'utf8')) as {
    allOf: [{ properties: { event: { enum: string[] } } }, { anyOf: Array<{ properties: { event: { const: string } } }> }];
  };
  const [common, each] = schema.allOf;
  t.same([...common.properties.event.enum].sort(), [...SECURITY_EVENT_NAMES].sort());
  t.same([...new Set(each.anyOf.map((line) => line.properties.event.const))].sort(), [...SECURITY_EVENT_NAMES].sort(), 'and the fields of each');
});

t.test('the schemas refuse what breaks the contract', async (t) => {
  t.match(await schemaErrors('policy.schema.json', { enforceStrong: 'yes', enforcePasswordChange: true }), /boolean/);
  t.match(await schemaErrors('master-cards.schema.json', { masterCards: [{ id: '04A1B2C3D4E5F6', enrolledAt: '2026-01-01T00:00:00.000Z', reader: 'r' }] }), /pattern/);
  t.match(await schemaErrors('event.schema.json', { time: 'yesterday', event: 'StartupOfTheDevice' }), /date-time/);
  t.match(await schemaErrors('event.schema.json', { time: '2026-01-01T00:00:00.000Z', event: 'Tampered' }), /allowed values/);
  t.match(await schemaErrors('sync-status.schema.json', { peer: 'a@b:22' }), /required/);
  t.equal(await schemaErrors('readers.schema.json', { service: 'off', serviceError: null, enableCommand: null, readers: [], hold: null, enrolling: false, enrolmentStep: null, masterCards: [], pendingEnrolment: null, cloneAttempts: null }), null);
});
