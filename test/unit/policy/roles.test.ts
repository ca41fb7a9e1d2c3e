// The roles and who may do what (policy/roles.ts): only the manufacturer sets another role's
// password; settings and log exports take the listed roles' own passwords.
import t from 'tap';
import { EXPORT_ROLES, mayPerform, ROLES, SETTINGS_ROLES } from '../../../policy/roles.js';

t.test('the four roles of the security guide, most privileged first', async (t) => {
  t.same([...ROLES], ['manufacturer', 'installer', 'operator', 'user']);
});

t.test("setting another role's password is the manufacturer's alone", async (t) => {
  for (const role of ROLES) t.equal(mayPerform(role, 'password.setOther'), role === 'manufacturer', role);
});

t.test('settings: operator and manufacturer; exports: all but the user', async (t) => {
  t.same([...SETTINGS_ROLES].sort(), ['manufacturer', 'operator']);
  t.same([...EXPORT_ROLES].sort(), ['installer', 'manufacturer', 'operator']);
  t.notOk((EXPORT_ROLES as readonly string[]).includes('user'), 'the user never exports the logs');
});
