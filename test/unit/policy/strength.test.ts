// Issue 24, the passwords an attacker targeting chargers tries first: generated corpora per family
// (word lists of this test's own, mangled the usual ways) are ≥ 99 % refused, and CSPRNG passwords
// and passphrases of 4 to 8 words are all accepted, as role passwords and as Log Passwords.
import { randomInt } from 'node:crypto';
import t, { type Test } from 'tap';
import common from '@zxcvbn-ts/language-common';
import en from '@zxcvbn-ts/language-en';
import { loadBlocklist } from '../../../agent/daemon/credentials/strength.js';
import { checkLogPassword, LOG_PASSWORD_WORDS } from '../../../policy/log-password.js';
import { baseCandidates, isDateAffix, letterDigitRuns, reverse } from '../../../policy/mangling.js';
import { evaluatePassword } from '../../../policy/password.js';
import { ROLES } from '../../../policy/roles.js';
import { checkPassword, contextWords } from '../../../policy/strength.js';
import { strengthRules } from '../../support/password-rules.js';

const blocklist = await loadBlocklist();
const pick = <T>(xs: readonly T[]): T => xs[randomInt(xs.length)] as T;

/** A small deterministic generator (xorshift32) for corpora a run must repeat. */
function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}

const roleRules = (password: string, context: readonly string[]): string[] => strengthRules(password, blocklist, context);

const SYMBOLS = '!@#$%&*?.-_+=';
const sym = (): string => pick([...SYMBOLS]);
const LEET: Record<string, readonly string[]> = { a: ['@', '4'], e: ['3'], o: ['0'], s: ['$', '5'], i: ['1', '!'], t: ['7'] };
/** A cracker's usual rules: case, sometimes leet, digits, a year or symbols at the end, sometimes at the start. */
function mangle(word: string, leet = true): string {
  let s = word;
  if (leet && randomInt(4) === 0) s = [...s].map((c) => (LEET[c] && randomInt(2) ? pick(LEET[c] as readonly string[]) : c)).join('');
  const caseRule = randomInt(4);
  if (caseRule === 1 || caseRule === 2) s = (s[0] as string).toUpperCase() + s.slice(1);
  if (caseRule === 3) s = s.toUpperCase();
  const year = String(1990 + randomInt(40));
  const digits = String(randomInt(10 ** (1 + randomInt(3))));
  s += pick([year, year + sym(), sym() + year, digits, digits + sym(), sym() + digits, '123', '!1', '1!', sym(), sym() + sym(), '24', '']);
  if (randomInt(5) === 0) s = pick([sym(), '!', '1', '#1']) + s;
  return s;
}

// This test's own lists: what installers, operators and vendors name things after.
const TRADE_EN = [
  'charger',
  'charging',
  'chargepoint',
  'station',
  'connector',
  'socket',
  'cable',
  'plug',
  'electric',
  'electricity',
  'electrician',
  'installer',
  'installation',
  'voltage',
  'current',
  'power',
  'energy',
  'battery',
  'solar',
  'inverter',
  'breaker',
  'circuit',
  'fuse',
  'meter',
  'grid',
  'transformer',
  'kilowatt',
  'vehicle',
  'emobility',
  'supercharger',
  'fastcharger',
  'rapidcharger',
  'chademo',
  'combo',
  'type2',
  'roaming',
  'tariff',
  'mobility',
  'phase',
  'photovoltaic',
];
const TRADE_DE = [
  'ladestation',
  'ladesäule',
  'ladepunkt',
  'ladekabel',
  'ladestrom',
  'ladekarte',
  'stromtankstelle',
  'steckdose',
  'stecker',
  'autostrom',
  'betreiber',
  'netzbetreiber',
  'strom',
  'starkstrom',
  'drehstrom',
  'wechselstrom',
  'gleichstrom',
  'zähler',
  'stromzähler',
  'elektriker',
  'elektroauto',
  'elektromobilität',
  'installateur',
  'sicherung',
  'batterie',
  'akku',
  'photovoltaik',
  'wechselrichter',
  'spannung',
  'leistung',
  'energie',
  'fahrzeug',
  'schnelllader',
  'wallboxen',
  'ladesaeule',
  'zaehler',
  'stadtwerke',
  'kabel',
  'anschluss',
  'verteiler',
];
const BRANDS = [
  'alfen',
  'compleo',
  'mennekes',
  'keba',
  'webasto',
  'hager',
  'heidelberg',
  'zaptec',
  'easee',
  'juicebox',
  'pulsar',
  'abb',
  'siemens',
  'schneider',
  'tesla',
  'ionity',
  'fastned',
  'allego',
  'enbw',
  'vattenfall',
  'innogy',
  'shell',
  'newmotion',
  'chargepoint',
  'evbox',
  'volkswagen',
  'audi',
  'porsche',
  'taycan',
  'renault',
  'nissan',
  'hyundai',
  'ioniq',
  'skoda',
  'enyaq',
  'polestar',
  'volvo',
  'mercedes',
  'peugeot',
  'cupra',
];

const STATION = contextWords(['ev-westgate-07', 'SN48213795']);

/** `gen` gives a password, and the context words of its station when they are not STATION. */
function refusedRate(t: Test, name: string, gen: () => string | [string, readonly string[]], n = 2000): void {
  const missed: string[] = [];
  for (let i = 0; i < n; i++) {
    const g = gen();
    const [p, context] = typeof g === 'string' ? [g, STATION] : g;
    if (roleRules(p, context).length === 0) missed.push(p);
  }
  const rate = 1 - missed.length / n;
  t.ok(rate >= 0.99, `${name}: refused ${(rate * 100).toFixed(2)} % of ${n}; accepted e.g. ${missed.slice(0, 10).join(' ')}`);
}

t.test('the pieces: reversal, dates with separators, letter/digit runs', async (t) => {
  t.equal(reverse('emoclew'), 'welcome');
  t.ok(baseCandidates('Emoclew2025!').includes('welcome'));
  t.notOk(baseCandidates('3moclew2025!').includes('welcome'), 'reversal is of letters only: a leet reading is not also reversed');
  for (const d of ['15.09.2009', '-15.09.2009', '1/9/09', '2009-09-15', '15.09', '-15.9.2009!']) t.ok(isDateAffix(d), d);
  for (const d of ['15.09-2009', '45.45.2009', '2009-13-01', '1.2.3.4', '15092009']) t.notOk(isDateAffix(d), d);
  t.ok(baseCandidates('Anna-15.09.2009').includes('anna'));
  t.ok(baseCandidates('15/09/2009#Anna').includes('anna'));
  t.same(letterDigitRuns('sn48213795'), ['sn', '48213795']);
  t.ok(STATION.includes('48213795'), 'the serial number part is a context word of its own');
  t.ok(STATION.includes('westgate'));
});

t.test('the issue examples are refused, naming the rule', async (t) => {
  const table: Array<[string, string]> = [
    ['!Alfen24', 'commonBase'],
    ['!Autostrom24', 'commonBase'],
    ['!Betreiber24', 'commonBase'],
    ['!Chademo24', 'commonBase'],
    ['!Compleo24', 'commonBase'],
    ['Emoclew2025!', 'commonBase'],
    ['Evse#48213795', 'context'],
    ['Anna-15.09.2009', 'commonBase'],
  ];
  for (const [p, rule] of table) t.equal(checkPassword(p, blocklist, STATION).listed, rule, p);
});

t.test('generated corpora per family: ≥ 99 % refused', async (t) => {
  refusedRate(t, 'trade words (en)', () => mangle(pick(TRADE_EN)));
  refusedRate(t, 'trade words (de)', () => mangle(pick(TRADE_DE)));
  refusedRate(t, 'brands', () => mangle(pick(BRANDS)));
  const words = en.dictionary['commonWords-en'].filter((w) => /^[a-z]{4,}$/.test(w)).slice(0, 3000);
  // Reversed, then case and affixes; not leet as well (a reversed leet reading is not looked up: see policy/mangling.ts).
  refusedRate(t, 'reversed common words', () => mangle(reverse(pick(words)), false));
  const names = en.dictionary['firstnames-en'].filter((w) => /^[a-z]{4,}$/.test(w)).slice(0, 2000);
  refusedRate(t, 'names with dates written with separators', () => {
    const [d, m, y] = [1 + randomInt(28), 1 + randomInt(12), 1950 + randomInt(80)];
    const sep = pick(['.', '-', '/']);
    const pad = (x: number): string => (randomInt(2) ? String(x).padStart(2, '0') : String(x));
    const date = pick([
      `${pad(d)}${sep}${pad(m)}${sep}${y}`,
      `${pad(d)}${sep}${pad(m)}${sep}${String(y).slice(2)}`,
      `${y}${sep}${pad(m)}${sep}${pad(d)}`,
      `${pad(d)}${sep}${pad(m)}`,
    ]);
    const lower = pick(names);
    const name = randomInt(2) ? lower : (lower[0] as string).toUpperCase() + lower.slice(1);
    return randomInt(4) === 0 ? `${date}${pick(['', sym()])}${name}` : `${name}${pick(['', '-', '_', '@', '#'])}${date}${pick(['', '', sym()])}`;
  });
  // Serials of the usual shapes, the password built from its parts and the trade's or the device's words.
  refusedRate(t, 'serial parts', () => {
    const digits = String(10_000 + randomInt(90_000_000));
    const serial = `${pick(['SN', 'CC', 'EVB', 'WB'])}${pick(['', '-'])}${digits}`;
    const context = contextWords(['ev-westgate-07', serial]);
    const word = pick(['Evse', 'evse', 'Westgate', 'Charger', 'Station', 'Wallbox', 'Operator', 'Installer', 'Ocpp']);
    const p = pick([`${word}${sym()}${digits}`, `${word}${digits}${pick(['', sym()])}`, `${digits}${sym()}${word}`, `${word}-${digits}-${word}`]);
    return [p, context];
  });
});

t.test('CSPRNG passwords of 12+ characters and passphrases of 4 to 8 words: 100 % accepted, as role and as Log Passwords', async (t) => {
  const context = contextWords(['ev-westgate-07', 'SN48213795']);
  const logContext = [...context, ...LOG_PASSWORD_WORDS];
  const refused: string[] = [];
  const check = (p: string): void => {
    const v = checkPassword(p, blocklist, context);
    const rules = evaluatePassword(p, { role: 'operator', enforceStrong: false, score: v.score, listed: v.listed, equalsDefault: false, inHistory: false });
    if (rules.some((r) => r.rule !== 'noRoleName')) refused.push(`role ${JSON.stringify(p)}: ${rules.map((r) => r.rule)}`);
    const log = checkLogPassword(p, checkPassword(p, blocklist, logContext));
    if (log) refused.push(`log ${JSON.stringify(p)}: ${log.rule}`);
  };
  // No space at either end: a Log Password's form rule, not a strength one.
  const printable = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i));
  // A fixed corpus (seeded), so that a run is repeatable: about 1 in 10^4–10^5 random strings holds a
  // leet-spelled word (`+i6Er` reads "tiger") that brings its estimate under the Log Password's 10^9.
  const next = xorshift(0x2b992ddf);
  for (let i = 0; i < 3000; i++) check(Array.from({ length: 12 + (next() % 9) }, () => printable[next() % printable.length] as string).join(''));
  const dice = common.dictionary['diceware-common'].filter((w) => !ROLES.some((r) => w.includes(r)) && !LOG_PASSWORD_WORDS.some((r) => w.includes(r)));
  let longest = 0;
  for (const words of [4, 5, 6, 7, 8]) {
    for (let i = 0; i < 400; i++) {
      const p = Array.from({ length: words }, () => pick(dice)).join(pick([' ', '-']));
      longest = Math.max(longest, p.length);
      check(p);
    }
  }
  t.same(refused, [], '3000 random passwords, 2000 passphrases of 4 to 8 diceware words');
  t.ok(longest >= 64, `passphrases up to ${longest} characters`);
});

t.test('the Log Password: stricter than a role password, the refusal names the rule', async (t) => {
  const logContext = [...STATION, ...LOG_PASSWORD_WORDS];
  const rule = (p: string): string | null => checkLogPassword(p, checkPassword(p, blocklist, logContext))?.rule ?? null;
  t.equal(rule('Password1234'), 'breached');
  t.equal(rule('Summer2025!!'), 'commonBase');
  t.equal(rule('Log-Password-2024!'), 'context');
  t.equal(rule('Westgate-Export-48213795'), 'context');
  t.equal(rule('Anna-15.09.2009'), 'commonBase');
  t.equal(rule('BlueTree2024!'), 'strength');
  t.equal(rule('BlueTree-2024!'), 'strength');
  t.same(roleRules('BlueTree-2024!', STATION), [], '… which a role password may be');
  t.equal(rule('Zircon Tundra Falcon Mosaic'), null);
  t.equal(rule('Quarry-Lantern-58-Fjord'), null);
  // A mangled corpus: the role's rules refuse ≥ 99 %, and each one they refuse the Log Password's rules refuse too.
  const words = common.dictionary['passwords-common'].filter((w) => /^[a-z]{6,}$/.test(w)).slice(0, 3000);
  let both = 0;
  let roleOnly = 0;
  for (let i = 0; i < 2000; i++) {
    let p = '';
    while (p.length < 12) p = mangle(pick(words)); // a Log Password has 12 characters at least
    const byRole = roleRules(p, STATION).length > 0;
    const byLog = rule(p) !== null;
    if (byRole && byLog) both++;
    if (byRole && !byLog) roleOnly++;
  }
  t.equal(roleOnly, 0, 'nothing the role rules refuse passes as a Log Password');
  t.ok(both >= 1980, `${both} of 2000 refused`);
});
