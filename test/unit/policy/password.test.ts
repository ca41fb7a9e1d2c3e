import t from 'tap';
import { evaluatePassword, normalizePassword, type PasswordFacts } from '../../../policy/password.js';
import type { Role } from '../../../policy/roles.js';
import { checkPassword, contextWords } from '../../../policy/strength.js';
import { loadBlocklist } from '../../../agent/daemon/credentials/strength.js';

const blocklist = await loadBlocklist();
const userInputs = contextWords(['cc612-station']);
const estimate = (password: string, context: readonly string[]): number => checkPassword(password, blocklist, context).score;

/** Normalises and evaluates as the agent does, with the real blocklist and strength estimate. */
function rulesBroken(password: string, opts: { role?: Role; strong?: boolean; equalsDefault?: boolean; inHistory?: boolean } = {}): string[] {
  const n = normalizePassword(password);
  if (!n.ok) return [n.refusal.rule];
  const verdict = checkPassword(n.value, blocklist, userInputs);
  const facts: PasswordFacts = {
    role: opts.role ?? 'operator',
    enforceStrong: opts.strong ?? true,
    score: verdict.score,
    listed: verdict.listed,
    equalsDefault: opts.equalsDefault ?? false,
    inHistory: opts.inHistory ?? false,
  };
  return evaluatePassword(n.value, facts).map((r) => r.rule);
}

t.test('strength scores of the issue examples', async (t) => {
  t.equal(estimate('Password1!', []), 1);
  t.ok(estimate('Summer2024!', []) <= 2, 'Summer2024! scores 2 or less');
  t.ok(estimate('Operator1!', userInputs) <= 2, 'Operator1! scores 2 or less');
  t.equal(estimate('Tr4v3l-K1te-Moss', userInputs), 4);
});

const table: Array<{ password: string; strong?: boolean; role?: Role; equalsDefault?: boolean; inHistory?: boolean; broken: string[] }> = [
  { password: 'Tr4v3l-K1te-Moss', broken: [] },
  // The blocklist names what an attacker's dictionary run finds them by (issue 17):
  { password: 'Password1!', broken: ['commonBase', 'strength'] },
  { password: 'Summer2024!', broken: ['commonBase', 'strength'] },
  { password: 'Operator1!', broken: ['noRoleName', 'context', 'strength'] },
  { password: 'tr4v3l-k1te-moss', broken: ['uppercase'] },
  { password: 'TR4V3L-K1TE-MOSS', broken: ['lowercase'] },
  { password: 'Trav-Kite-Moss-Quill', broken: ['digit'] },
  { password: 'Tr4v3lK1teMossQ', broken: ['special'] },
  { password: 'Tq7!x', broken: ['minLength', 'strength'] },
  { password: 'aaaaaaaa', broken: ['uppercase', 'digit', 'special', 'strength'] },
  // Always enforced, whatever the setting:
  { password: 'tr4v3l-k1te-moss', strong: false, broken: [] },
  { password: 'password', strong: false, broken: ['breached', 'strength'] },
  { password: 'Tq7!x', strong: false, broken: ['minLength', 'strength'] },
  { password: 'my-installer-Kite-42', role: 'installer', strong: false, broken: ['noRoleName'] },
  { password: 'MyUSERname-Kite-42', role: 'user', strong: false, broken: ['noRoleName'] },
  { password: 'Tr4v3l-K1te-Moss', equalsDefault: true, broken: ['notDefault'] },
  { password: 'Tr4v3l-K1te-Moss', inHistory: true, broken: ['notRecent'] },
  { password: 'Tr4v3l-K1te-Moss', strong: false, equalsDefault: true, inHistory: true, broken: ['notDefault', 'notRecent'] },
  // Normalisation edge
  { password: '', broken: ['notEmpty'] },
  { password: 'Tr4v3l\tK1te-Moss', broken: ['printable'] },
  { password: `Aa1!${'x'.repeat(125)}`, broken: ['maxLength'] },
];

for (const row of table) {
  const label = `${JSON.stringify(row.password.length > 30 ? `${row.password.slice(0, 12)}…` : row.password)} strong=${row.strong ?? true}${row.role ? ` role=${row.role}` : ''}${row.equalsDefault ? ' =default' : ''}${row.inHistory ? ' in history' : ''}`;
  t.test(label, async (t) => {
    t.same(rulesBroken(row.password, row).sort(), [...row.broken].sort());
  });
}

t.test('every refusal names its rule and says what to do', async (t) => {
  const refusals = evaluatePassword('op', { role: 'operator', enforceStrong: true, score: 0, equalsDefault: true, inHistory: true });
  t.ok(refusals.length >= 7);
  for (const r of refusals) t.match(r.message, /\w{4,}/, `${r.rule} has a message`);
});

t.test('NFKC: full-width and ligature forms normalise to the same password', async (t) => {
  const a = normalizePassword('Ｔｒ４ｖ３ｌ－Ｋ１ｔｅ－Ｍｏｓｓ');
  t.same(a, { ok: true, value: 'Tr4v3l-K1te-Moss' });
  const b = normalizePassword('ﬁre-Wall-42!');
  t.same(b, { ok: true, value: 'fire-Wall-42!' });
});

t.test('128 characters is the limit, counted in characters not bytes', async (t) => {
  t.ok(normalizePassword('é'.repeat(128)).ok, '128 two-byte characters pass');
  t.notOk(normalizePassword('é'.repeat(129)).ok, '129 are refused');
});
