// Validates CLI JSON output against the documented JSON Schemas in schemas/ (an independent validator).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { ROOT } from './harness.js';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

export const SCHEMA_DIR = join(ROOT, 'schemas');
const SCHEMA_BASE = 'https://ccguard.invalid/schemas/';

/** Every schema in schemas/, loaded together so that one may refer to another's $defs. */
export async function loadSchemas(): Promise<Ajv2020> {
  const ajv = addFormats(new Ajv2020({ allErrors: true, strict: true }));
  for (const file of (await readdir(SCHEMA_DIR)).filter((f) => f.endsWith('.schema.json')).sort()) {
    ajv.addSchema(JSON.parse(await readFile(join(SCHEMA_DIR, file), 'utf8')) as object);
  }
  return ajv;
}

/** The schema's errors for `value` as text, or null when it conforms. */
export async function schemaErrors(schemaFile: string, value: unknown): Promise<string | null> {
  const ajv = await loadSchemas();
  const validate = ajv.getSchema(SCHEMA_BASE + schemaFile);
  if (!validate) throw new Error(`no schema ${schemaFile} in ${SCHEMA_DIR}`);
  return validate(value) ? null : ajv.errorsText(validate.errors);
}

/** The values among `values` that do not conform, each with its errors (empty when all do). */
export async function nonConforming(schemaFile: string, values: unknown[]): Promise<string[]> {
  const found: string[] = [];
  for (const value of values) {
    const errors = await schemaErrors(schemaFile, value);
    if (errors !== null) found.push(`${errors}: ${JSON.stringify(value)}`);
  }
  return found;
}
