// Validates CLI JSON output against the documented JSON Schemas in schemas/ (an independent validator).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { ROOT } from './harness.js';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

/** The schema's errors for `value` as text, or null when it conforms. */
export async function schemaErrors(schemaFile: string, value: unknown): Promise<string | null> {
  const ajv = addFormats(new Ajv2020({ allErrors: true, strict: true }));
  const schema = JSON.parse(await readFile(join(ROOT, 'schemas', schemaFile), 'utf8')) as object;
  const validate = ajv.compile(schema);
  return validate(value) ? null : ajv.errorsText(validate.errors);
}
