import t from 'tap';
import type * as v from 'valibot';
import { PERMISSIONS, ROLES } from '../../../policy/roles.js';
import { methods, secret, type Method } from '../../../agent/wire/protocol.js';

type Entries = Record<string, v.GenericSchema & { options?: readonly unknown[]; literal?: unknown }>;

/** A method's parameter entries (through a pipe's first item, as `policy.set` has one). */
function entriesOf(schema: unknown): Entries {
  const s = schema as { entries?: Entries; pipe?: unknown[] };
  if (s.entries) return s.entries;
  if (s.pipe) return entriesOf(s.pipe[0]);
  throw new Error('not an object schema');
}

/** The roles a role parameter can name. */
function rolesOf(schema: { options?: readonly unknown[]; literal?: unknown }): readonly unknown[] {
  return schema.options ?? [schema.literal];
}

t.test('a method cannot take a secret without saying who checks it', async (t) => {
  for (const [name, entry] of Object.entries(methods) as Array<[Method, (typeof methods)[Method]]>) {
    const entries = entriesOf(entry.params);
    const secrets = Object.keys(entries).filter((k) => entries[k] === secret);
    const auth = entry.auth;
    if (auth.kind === 'open') {
      t.same(secrets, [], `${name} is open and takes no secret`);
      continue;
    }
    t.ok(secrets.includes(auth.secret), `${name}: the secret checked at dispatch (${auth.secret}) is one of its secret parameters`);
    if (auth.kind === 'password' && (auth.roleFrom === 'role' || auth.roleFrom === 'as')) {
      const param = entries[auth.roleFrom];
      t.ok(param, `${name}: the role comes from its parameter ${auth.roleFrom}`);
      const allowed: readonly string[] = PERMISSIONS[auth.action];
      for (const role of rolesOf(param ?? {})) t.ok(allowed.includes(role as string), `${name}: ${String(role)} may perform ${auth.action}`);
    } else if (auth.kind === 'password') {
      t.ok((ROLES as readonly string[]).includes(auth.roleFrom), `${name}: a fixed role`);
      t.ok((PERMISSIONS[auth.action] as readonly string[]).includes(auth.roleFrom), `${name}: ${auth.roleFrom} may perform ${auth.action}`);
    }
  }
});
