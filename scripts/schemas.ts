// Generates schemas/*.json, the JSON Schemas of the reading commands' --json output, from the
// result schemas of the socket contract (agent/wire/protocol.ts): `npm run schemas` writes them,
// test/unit/scripts/schemas.test.ts fails when the committed files differ from what this produces.
import { readdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toJsonSchema } from '@valibot/to-json-schema';
import type { GenericSchema } from 'valibot';
import { methods } from '../agent/wire/protocol.js';
import { SECURITY_EVENT_DEFINITIONS, securityEventSchema } from '../agent/wire/security-event.js';
import { roleStatusSchema } from '../agent/wire/status-report.js';

export const SCHEMA_DIR = fileURLToPath(new URL('../../schemas/', import.meta.url));
const ID_BASE = 'https://ccguard.invalid/schemas/';

interface Documented {
  schema: GenericSchema;
  title: string;
  description: string;
  /** Parts given a name under $defs, where they appear more than once. */
  definitions?: Record<string, GenericSchema>;
}

const FILES: Record<string, Documented> = {
  'audit.schema.json': {
    schema: methods.audit.result,
    title: 'ccguard audit --json (ccguard-audit/1)',
    description: 'The hardening report of one station. Fields are stable within schema ccguard-audit/1; new optional fields may appear.',
  },
  'event.schema.json': {
    schema: securityEventSchema,
    title: 'ccguard events --json (one object per line)',
    description:
      'One security event as recorded in security.log or, counted per interval, in security-noise.log. OCPP 2.0.1 security event names where one fits; each event has its own fields (anyOf, one entry per event and kind of change), generated from the catalogue agent/wire/security-events.ts. Fields may be added. Never carries a secret or the UID of a card.',
    definitions: SECURITY_EVENT_DEFINITIONS,
  },
  'master-cards.schema.json': {
    schema: methods['masterCard.list'].result,
    title: 'ccguard master-card list --json',
    description: 'The enrolled master cards: id (first 8 hex digits of the keyed hash, never the UID), enrolment time and the reader it was enrolled on.',
  },
  'policy.schema.json': {
    schema: methods['policy.show'].result,
    title: 'ccguard policy show --json',
    description: 'The password policy (also printed by policy set --json).',
  },
  'readers.schema.json': {
    schema: methods.readers.result,
    title: 'ccguard readers --json',
    description:
      'The PC/SC service, each reader with whether a card and whether an enrolled master card is on it (never the UID of another card), and a hold in progress. Same object as rfid in status --json.',
  },
  'status.schema.json': {
    schema: methods.status.result,
    title: 'ccguard status --json',
    description: "The state of the agent (design.md's contract plus diagnostics). Fields are stable; new optional fields may appear.",
    definitions: { role: roleStatusSchema },
  },
  'sync-status.schema.json': {
    schema: methods['sync.status'].result,
    title: 'ccguard sync status --json',
    description:
      "A double station master's view of its slave: the newest revision of the synced credentials, the last pushed and acknowledged revision, the last error and when the next retry is due.",
  },
};

/** Each schema file's name and its text, as committed under schemas/. */
export function generateSchemas(): Map<string, string> {
  const files = new Map<string, string>();
  for (const [file, doc] of Object.entries(FILES)) {
    const { $schema, ...body } = toJsonSchema(doc.schema, {
      target: 'draft-2020-12',
      errorMode: 'throw',
      ...(doc.definitions ? { definitions: doc.definitions } : {}),
    });
    const json = { $schema, $id: ID_BASE + file, title: doc.title, description: doc.description, ...body };
    files.set(file, `${layout(json, '')}\n`);
  }
  return files;
}

const WIDTH = 120;

/** JSON with two-space indentation, where a value that fits on its line stays on one line. */
function layout(value: unknown, indent: string): string {
  const oneLine = inline(value);
  if (value === null || typeof value !== 'object' || indent.length + oneLine.length <= WIDTH) return oneLine;
  const inner = `${indent}  `;
  const items = Array.isArray(value)
    ? value.map((item) => inner + layout(item, inner))
    : Object.entries(value).map(([key, item]) => `${inner}${JSON.stringify(key)}: ${layout(item, inner)}`);
  return Array.isArray(value) ? `[\n${items.join(',\n')}\n${indent}]` : `{\n${items.join(',\n')}\n${indent}}`;
}

function inline(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(inline).join(', ')}]`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const entries = Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}: ${inline(item)}`);
  return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
}

/** Writes every schema and removes a stray one, so that schemas/ holds exactly what is generated. */
async function writeSchemas(): Promise<void> {
  const files = generateSchemas();
  for (const stray of (await readdir(SCHEMA_DIR)).filter((f) => f.endsWith('.schema.json') && !files.has(f))) {
    await unlink(join(SCHEMA_DIR, stray));
  }
  for (const [file, text] of files) await writeFile(join(SCHEMA_DIR, file), text);
  process.stdout.write(`wrote ${files.size} schemas to ${SCHEMA_DIR}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await writeSchemas();
