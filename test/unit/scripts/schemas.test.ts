// schemas/*.json are generated from the socket contract's result schemas (npm run schemas): the
// committed files must be exactly what the generator produces, and every result must convert.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toJsonSchema } from '@valibot/to-json-schema';
import t from 'tap';
import { generateSchemas, SCHEMA_DIR } from '../../../scripts/schemas.js';
import { methods, type Method } from '../../../agent/wire/protocol.js';

t.test('the committed schemas are what "npm run schemas" generates', async (t) => {
  const generated = generateSchemas();
  t.same((await readdir(SCHEMA_DIR)).filter((f) => f.endsWith('.json')).sort(), [...generated.keys()].sort(), 'the same files');
  for (const [file, text] of generated) {
    t.equal(await readFile(join(SCHEMA_DIR, file), 'utf8'), text, `${file} is up to date (else run "npm run schemas" and commit)`);
  }
});

t.test('every method result converts to JSON Schema without loss', async (t) => {
  for (const method of Object.keys(methods) as Method[]) {
    t.doesNotThrow(() => toJsonSchema(methods[method].result, { target: 'draft-2020-12', errorMode: 'throw' }), method);
  }
});
