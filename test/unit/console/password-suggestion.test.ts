import t from 'tap';
import { suggestPassword } from '../../../console/password-suggestion.js';
import { evaluatePassword } from '../../../policy/password.js';
import { ROLES } from '../../../policy/roles.js';

t.test('a suggested password has every class enforceStrong asks for, and is never the same twice', async (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 500; i++) {
    const p = suggestPassword();
    t.equal(p.length, 20);
    t.match(p, /[a-z]/);
    t.match(p, /[A-Z]/);
    t.match(p, /[0-9]/);
    t.match(p, /[^A-Za-z0-9]/);
    t.notMatch(p, /[0O1lI\s]/, 'no characters mistaken on a label');
    seen.add(p);
  }
  t.equal(seen.size, 500);
  // The rules that need no word lists (the daemon's strength score and blocklist are for it to apply: a random 20 characters pass them).
  for (const role of ROLES) {
    t.same(
      evaluatePassword(suggestPassword(), { role, enforceStrong: true, score: 4, listed: null, equalsDefault: false, inHistory: false }),
      [],
      `${role}: accepted`,
    );
  }
});
