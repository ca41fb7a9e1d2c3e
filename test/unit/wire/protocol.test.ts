import t from 'tap';
import type * as v from 'valibot';
import { PERMISSIONS, ROLES } from '../../../policy/roles.js';
import { methods, secret, sessionToken, type Method } from '../../../agent/wire/protocol.js';

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
    if (auth.kind === 'session') {
      t.equal(entries[auth.token], sessionToken, `${name}: the session token is its parameter ${auth.token}`);
      if ('reauth' in auth) {
        const again = entries[auth.reauth.secret] as unknown as { wrapped?: unknown } | undefined;
        t.ok(again === secret || again?.wrapped === secret, `${name}: the password asked again (${auth.reauth.secret}) is a secret parameter`);
      }
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

t.test('inside a session, the sensitive actions need the password again', async (t) => {
  // The list: a password, the PUK, the Log Password, 2.0-only, master cards (enrol, remove), defaults.
  const sensitive = [
    'session.passwd',
    'session.passwdAs',
    'session.puk.set',
    'session.logPassword.set',
    'session.webui.set',
    'session.masterCard.enroll',
    'session.masterCard.remove',
    'session.defaults.save',
  ];
  for (const [name, entry] of Object.entries(methods) as Array<[Method, (typeof methods)[Method]]>) {
    if (entry.auth.kind !== 'session') continue;
    t.equal('reauth' in entry.auth, sensitive.includes(name), `${name} ${sensitive.includes(name) ? 'asks' : 'does not ask'} the password again`);
  }
  const webui = methods['session.webui.set'].auth;
  t.same(webui.reauth.when, { param: 'mode', values: ['2.0-only'] }, 'the web interface mode asks it for 2.0-only alone');
  for (const [name, entry] of Object.entries(methods)) {
    if (entry.auth.kind === 'session') t.ok(name.startsWith('session.'), `${name}: a session method is named session.*`);
  }
});
