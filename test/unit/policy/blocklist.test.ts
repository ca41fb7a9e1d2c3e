import { randomInt } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import t from 'tap';
import common from '@zxcvbn-ts/language-common';
import en from '@zxcvbn-ts/language-en';
import { BLOCKLIST_FILE, blocklistScanUnavailable, loadBlocklist, StrengthService } from '../../../agent/daemon/credentials/strength.js';
import { StateError } from '../../../agent/common/errors.js';
import { Blocklist, type BlocklistKernel } from '../../../policy/blocklist.js';
import { affixCuts, baseCandidates, collapseRepeats, isRuleAffix, joinWords, leetReadings, undouble } from '../../../policy/mangling.js';
import { evaluatePassword, normalizePassword } from '../../../policy/password.js';
import { ROLES } from '../../../policy/roles.js';
import { checkPassword, contextWords } from '../../../policy/strength.js';
import { strengthRules } from '../../support/password-rules.js';

const blocklist = await loadBlocklist();
const context = contextWords(['cc612-station', 'SN-0042-ABCD']);

const rules = (password: string): string[] => strengthRules(password, blocklist, context);

t.test('mangling reversal: the base an attacker started from is among the candidates', async (t) => {
  const table: Array<[password: string, base: string]> = [
    ['Rafiki@2025', 'rafiki'],
    ['Pedro2024!', 'pedro'],
    ['Eminem@2025', 'eminem'],
    ['Obsession@2025', 'obsession'],
    ['Lester@2025', 'lester'],
    ['P@ssw0rd!', 'password'],
    ['h3ll0123', 'hello'],
    ['b1lly!', 'billy'],
    ['B!11yb0y#2028', 'billyboy'],
    ['!!Monkey1975', 'monkey'],
    ['1984Dragon', 'dragon'],
    ['#1Dragon', 'dragon'],
    ['MonkeyMonkey1', 'monkey'],
    ['p4ssp4ss', 'pass'],
    ['Passsword!1', 'password'],
    ['Pass Word 123', 'password'],
    ['soccer-ball!', 'soccerball'],
    ['Rafikiqwerty', 'rafiki'],
    ['Rafiki!@#', 'rafiki'],
    ['Rafiki!!!!!!', 'rafiki'],
    ['Shadow123456', 'shadow'],
    ['SUNSHINE!1', 'sunshine'],
  ];
  for (const [password, base] of table) t.ok(baseCandidates(password).includes(base), `${password} → ${base}`);
});

t.test('mangling reversal: the pieces', async (t) => {
  t.same(leetReadings('b1lly'), ['billy', 'bllly']);
  t.same(leetReadings('1!'), ['ii', 'li', 'il', 'll'], 'every mix of i and l');
  t.same(leetReadings('p@55w0rd'), ['password']);
  t.ok(leetReadings('1!1!1').length <= 2, 'many ambiguous characters: only the two uniform readings');
  t.equal(undouble('monkeymonkey'), 'monkey');
  t.equal(undouble('abcabcabc'), 'abc');
  t.equal(undouble('monkeys'), 'monkeys');
  t.equal(collapseRepeats('passsword', 2), 'password');
  t.equal(collapseRepeats('pedroooo', 1), 'pedro');
  t.equal(collapseRepeats('aaron', 1), 'aaron', 'a doubled letter stays');
  t.equal(joinWords('pass word'), 'password');
  t.equal(joinWords('-pass-'), '-pass-', 'only separators between letters go');
  const affixes: Array<[string, boolean, boolean]> = [
    ['2025', false, true],
    ['@2025', false, true],
    ['2024!', false, true],
    ['!1', false, true],
    ['123!', false, true],
    ['!@#', false, true],
    ['123456', false, true],
    ['1234567', false, false],
    ['@2$5', false, false],
    ['#!$%', false, false],
    ['1984', true, true],
    ['#1', true, true],
    ['!!!', true, false],
    ['12345', true, false],
  ];
  for (const [affix, atStart, ok] of affixes) t.equal(isRuleAffix(affix, atStart), ok, `${affix} ${atStart ? 'prefix' : 'suffix'}`);
  t.same(affixCuts('rafiki@2025', false), [0, 1, 2, 3, 4, 5]);
  t.same(affixCuts('dragon', false), [0]);
  t.same(affixCuts('dragonasdf', false), [0, 3, 4], 'a keyboard walk');
});

t.test('mangling reversal is bounded whatever the input', async (t) => {
  for (const hostile of ['!1'.repeat(64), `${'1'.repeat(60)}a${'!'.repeat(60)}`, '1qaz'.repeat(32), 'é'.repeat(128), '|!1'.repeat(42)]) {
    const n = baseCandidates(hostile).length;
    t.ok(n <= 4000, `${hostile.slice(0, 8)}…: ${n} candidates`);
  }
});

t.test('the issue examples, leaked passwords and context words are refused, naming the rule', async (t) => {
  const table: Array<[string, string]> = [
    ['Rafiki@2025', 'commonBase'],
    ['Pedro2024!', 'commonBase'],
    ['Eminem@2025', 'commonBase'],
    ['Obsession@2025', 'commonBase'],
    ['Lester@2025', 'commonBase'],
    ['P@ssw0rd123', 'commonBase'],
    ['iloveyou', 'breached'],
    ['trustno1', 'breached'],
    ['Ccguard2025!', 'context'],
    ['ChargeStation1!', 'context'],
    ['Charging#2030', 'context'],
    ['Installer@1999', 'context'],
    ['Manufacturer!1', 'context'],
    ['Cc612-Station!', 'context'],
    ['SN-0042-ABCD!', 'context'],
  ];
  const messages = new Map<string, Set<string>>();
  for (const [password, rule] of table) {
    const n = normalizePassword(password);
    if (!n.ok) throw new Error('normalisation');
    const v = checkPassword(n.value, blocklist, context);
    t.equal(v.listed, rule, password);
    const refusals = evaluatePassword(n.value, { role: 'user', enforceStrong: true, score: v.score, listed: v.listed, equalsDefault: false, inHistory: false });
    t.ok(
      refusals.some((r) => r.rule === rule),
      `${password}: the verdict names ${rule}`,
    );
    for (const r of refusals) {
      t.notOk(r.message.toLowerCase().includes(password.toLowerCase()), `${r.rule} does not echo the password`);
      if (r.rule !== 'strength') messages.set(r.rule, (messages.get(r.rule) ?? new Set()).add(r.message));
    }
  }
  for (const [rule, texts] of messages) t.equal(texts.size, 1, `${rule}: one fixed message, nothing of the password in it`);
});

t.test('keyboard walks, sequences, repeats and dates are weak', async (t) => {
  for (const p of ['qwertyuiop', 'Qwerty!@#$%^', '1qaz2wsx3edc', 'abcdefghij', '9876543210', 'aaaaaaaaaa', 'abcabcabcabc', '19051987!', 'zxcvbnm,./']) {
    t.ok(rules(p).length > 0, `${p}: ${rules(p).join(',')}`);
  }
});

// A cracker's first run: list words with the usual rules (capitalise, leet, double, append or
// prepend digits, years 1950–2039 and symbols).
const LEET: Record<string, readonly string[]> = { a: ['@', '4'], e: ['3'], o: ['0'], s: ['$', '5'], i: ['1', '!'], t: ['7'], l: ['1'] };
const SYMBOLS = '!@#$%&*?.-_+=';
const pick = <T>(xs: readonly T[]): T => xs[randomInt(xs.length)] as T;
function mangle(word: string): string {
  let s = word;
  if (randomInt(8) === 0) s += s;
  if (randomInt(3) === 0) s = [...s].map((c) => (LEET[c] && randomInt(2) ? pick(LEET[c] as readonly string[]) : c)).join('');
  const caseRule = randomInt(4);
  if (caseRule === 1 || caseRule === 2) s = (s[0] as string).toUpperCase() + s.slice(1);
  if (caseRule === 3) s = s.toUpperCase();
  const year = String(1950 + randomInt(90));
  const digits = String(randomInt(10 ** (1 + randomInt(4))));
  const sym = (): string => pick([...SYMBOLS]);
  s += pick([year, year + sym(), sym() + year, digits, digits + sym(), sym() + digits, '123', '!1', '1!', sym(), sym() + sym(), '123!', '']);
  if (randomInt(5) === 0) s = pick([digits, year, sym(), '1', '#1']) + s;
  return s;
}

t.test('a generated corpus of mangled common passwords, words and names: ≥ 99 % refused', async (t) => {
  const letters = (list: readonly string[], n: number): string[] => list.filter((w) => /^[a-z]{4,}$/.test(w)).slice(0, n);
  const words = [
    ...letters(common.dictionary['passwords-common'], 3000),
    ...letters(en.dictionary['firstnames-en'], 2000),
    ...letters(en.dictionary['commonWords-en'], 3000),
  ];
  const N = 5000;
  const missed: string[] = [];
  for (let i = 0; i < N; i++) {
    const p = mangle(pick(words));
    if (rules(p).length === 0) missed.push(p);
  }
  const rate = 1 - missed.length / N;
  t.ok(rate >= 0.99, `refused ${(rate * 100).toFixed(2)} % of ${N}; accepted e.g. ${missed.slice(0, 10).join(' ')}`);
});

t.test('CSPRNG passwords of 12+ characters and four-word passphrases: 100 % accepted', async (t) => {
  const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i));
  let refused: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const p = Array.from({ length: 12 + randomInt(9) }, () => pick(printable)).join('');
    const v = checkPassword(p, blocklist, context);
    const rules = evaluatePassword(p, { role: 'operator', enforceStrong: false, score: v.score, listed: v.listed, equalsDefault: false, inHistory: false });
    if (rules.some((r) => r.rule !== 'noRoleName')) refused.push(`${JSON.stringify(p)}: ${rules.map((r) => r.rule)}`);
  }
  t.same(refused, [], '3000 random passwords');
  const dice = common.dictionary['diceware-common'].filter((w) => !ROLES.some((r) => w.includes(r)));
  refused = [];
  for (let i = 0; i < 2000; i++) {
    const p = Array.from({ length: 4 }, () => pick(dice)).join(pick([' ', '-']));
    const v = checkPassword(p, blocklist, context);
    const rules = evaluatePassword(p, { role: 'operator', enforceStrong: false, score: v.score, listed: v.listed, equalsDefault: false, inHistory: false });
    if (rules.length > 0) refused.push(`${p}: ${rules.map((r) => r.rule)}`);
  }
  t.same(refused, [], '2000 passphrases of four diceware words');
});

t.test('the blocklist file: compact, and a damaged one is refused with an actionable error', async (t) => {
  const size = (await stat(BLOCKLIST_FILE)).size;
  t.ok(size <= 4 * 1024 * 1024, `${size} bytes`);
  t.ok(blocklist.size > 150_000, `${blocklist.size} words`);
  t.equal(blocklist.get('password')?.leaked, true);
  t.equal(blocklist.get('evaporator')?.leaked, false, 'a word, not a leaked password');
  t.equal(blocklist.get('tr4v3l-k1te-moss'), null);

  const dir = await mkdtemp(join(tmpdir(), 'ccguard-blocklist-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const missing = join(dir, 'missing.bin');
  await t.rejects(loadBlocklist(missing), { name: 'StateError', message: /ENOENT.*npm run build/ });
  const truncated = join(dir, 'truncated.bin');
  await writeFile(truncated, (await readFile(BLOCKLIST_FILE)).subarray(0, 1000));
  await t.rejects(loadBlocklist(truncated), StateError);
  const foreign = join(dir, 'foreign.bin');
  await writeFile(foreign, Buffer.alloc(64, 0x41));
  await t.rejects(loadBlocklist(foreign), { message: /not a version 1 blocklist/ });
  t.throws(() => new Blocklist(new Uint8Array(8)), /truncated/);

  const service = new StrengthService(50, missing);
  await t.rejects(service.check('Tr4v3l-K1te-Moss', context), StateError);
  const good = new StrengthService(50);
  t.equal((await good.check('Rafiki@2025', context)).listed, 'commonBase');
  await new Promise((resolve) => setTimeout(resolve, 100)); // dropped after idling
  t.equal((await good.check('Tr4v3l-K1te-Moss', context)).listed, null, 'read again after the idle drop');
  await good.close();
});

t.test('native lookups (native/blocklist-scan) and the JavaScript fallback agree on every lookup and verdict', async (t) => {
  t.equal(blocklistScanUnavailable(), null, 'native/blocklist-scan loads (build it with npm ci: it needs a C compiler and node-gyp)');
  t.equal(blocklist.native, true, 'the loader gives the native lookups');
  const js = await loadBlocklist(BLOCKLIST_FILE, false);
  t.equal(js.native, false);
  const words = en.dictionary['wikipedia-en'].slice(0, 3000).map(String);
  const corpus = [
    ...words.map((w) => w.toLowerCase()),
    ...words.slice(0, 500).map((w) => `${w[0]?.toUpperCase() ?? ''}${w.slice(1)}${randomInt(3000)}${pick(['!', '@', '#', ''])}`),
    ...Array.from({ length: 500 }, () => Array.from({ length: 4 + randomInt(40) }, () => String.fromCharCode(32 + randomInt(95))).join('')),
    // Outside the BMP and Latin-1: code units, not code points, are hashed on both sides.
    ...Array.from({ length: 100 }, () => Array.from({ length: 3 + randomInt(20) }, () => pick(['ü', 'ß', 'é', '€', '😀', 'a', 'ä', '1', '!'])).join('')),
    'Aa1!'.repeat(32),
    '1!|'.repeat(42) + 'a1',
    `${'a.'.repeat(63)}b`,
    '',
  ];
  let differ = 0;
  for (const p of corpus) {
    const lower = p.toLowerCase();
    if (JSON.stringify(blocklist.get(lower)) !== JSON.stringify(js.get(lower))) differ++;
    const maxLength = Math.min(blocklist.maxLength, 64);
    if (!Buffer.from(blocklist.scan(lower, maxLength).buffer).equals(Buffer.from(js.scan(lower, maxLength).buffer))) differ++;
    if (JSON.stringify(checkPassword(p, blocklist, context)) !== JSON.stringify(checkPassword(p, js, context))) {
      differ++;
      t.fail(`verdicts differ for a ${p.length}-character password`);
    }
  }
  t.equal(differ, 0, `${corpus.length} passwords: the same entries, substrings and verdicts`);
  t.ok(blocklist.scan('xxpasswordxx', 32).length >= 3, 'a listed word inside a string is found');
  const kernel = createRequire(import.meta.url)('ccguard-blocklist-scan') as BlocklistKernel;
  t.throws(() => kernel.scan(new Uint8Array(64), 'word', 3), /not a version 1 blocklist/, 'the module checks the file it is given');
  const truncated = (await readFile(BLOCKLIST_FILE)).subarray(0, 1000);
  t.throws(() => kernel.lookup(truncated, 'word'), /size does not match/);
});
