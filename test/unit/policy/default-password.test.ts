import t from 'tap';
import { generateDefaults } from '../../../agent/cli/provision.js';
import { formatDefaultPassword, LABEL_ALPHABET } from '../../../policy/default-password.js';
import { ROLES } from '../../../policy/roles.js';

t.test('the label alphabet has no look-alike characters', async (t) => {
  for (const c of '0Oo1lIi') t.notOk(LABEL_ALPHABET.includes(c), `no ${c}`);
  t.equal(new Set(LABEL_ALPHABET).size, LABEL_ALPHABET.length, 'no duplicates');
});

t.test('format groups 16 symbols by four', async (t) => {
  t.equal(formatDefaultPassword(Array.from({ length: 16 }, (_, i) => i)), '2345-6789-abcd-efgh');
  t.throws(() => formatDefaultPassword([1, 2, 3]));
  t.throws(() => formatDefaultPassword(Array.from({ length: 16 }, () => LABEL_ALPHABET.length)));
});

t.test('generated defaults: per role, long enough, unique across roles and devices', async (t) => {
  const seen = new Set<string>();
  for (let device = 0; device < 200; device++) {
    const d = generateDefaults();
    for (const role of ROLES) {
      const p = d[role];
      t.ok(p.replaceAll('-', '').length >= 12, 'at least 12 random characters');
      t.match(p, /^[2-9a-zA-Z]{4}(-[2-9a-zA-Z]{4}){3}$/);
      seen.add(p);
    }
  }
  t.equal(seen.size, 800, 'no two defaults alike');
});
