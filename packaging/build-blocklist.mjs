#!/usr/bin/env node
// Builds the password blocklist (policy/blocklist.ts describes the format) into a compiled policy
// folder, at build time, from the MIT-licensed word lists of zxcvbn-ts (devDependencies: English,
// German, French, Dutch) and the trade's own words (packaging/wordlists/trade.txt, sources named there):
//   node packaging/build-blocklist.mjs dist/policy
// The hash functions come from that folder's compiled blocklist.js, so writer and reader agree.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: build-blocklist.mjs COMPILED_POLICY_DIR');
  process.exit(2);
}
const bl = await import(pathToFileURL(join(resolve(dir), 'blocklist.js')).href);
const common = await import('@zxcvbn-ts/language-common');
const en = await import('@zxcvbn-ts/language-en');
const others = await Promise.all(['de', 'fr', 'nl-be'].map((lang) => import(`@zxcvbn-ts/language-${lang}`)));

const MIN = 3;
const MAX = 32;
/** word → { rank, leaked } with the best (lowest) rank over all lists. */
const words = new Map();
/** The spellings a keyboard without the letter gives: "müller" → "mueller", "muller"; "été" → "ete". */
function spellings(word) {
  const out = new Set([word]);
  if (/[^ -~]/u.test(word)) {
    const spelt = word.replace(/[äöü]/gu, (c) => `${c.normalize('NFD')[0]}e`).replaceAll('ß', 'ss');
    for (const w of [spelt, word.replaceAll('ß', 'ss')]) out.add(w.normalize('NFD').replace(/\p{M}/gu, '').normalize('NFC'));
  }
  return out;
}
function add(list, leaked, flatRank) {
  list.forEach((raw, i) => {
    for (const word of spellings(String(raw).normalize('NFKC').toLowerCase())) {
      // eslint-disable-next-line no-control-regex -- a word with a control character is not one a keyboard types
      if (word.length < MIN || word.length > MAX || /[\u0000-\u001f\u007f]/u.test(word)) continue;
      const rank = flatRank ?? i + 1;
      const prev = words.get(word);
      words.set(word, { rank: Math.min(rank, prev?.rank ?? Infinity), leaked: leaked || (prev?.leaked ?? false) });
    }
  });
}
add(common.dictionary['passwords-common'], true);
for (const list of Object.values(en.dictionary)) add(list, false);
// The diceware list is alphabetical: its order says nothing of frequency.
add(common.dictionary['diceware-common'], false, common.dictionary['diceware-common'].length);
// The markets' languages, each list in its own frequency order.
// Some of them (French and German first names) are alphabetical: their order says nothing of frequency.
const alphabetical = (list) => list.filter((w, i) => i > 0 && String(list[i - 1]).localeCompare(String(w)) <= 0).length >= 0.95 * (list.length - 1);
for (const lang of others) for (const list of Object.values(lang.dictionary)) add(list, false, alphabetical(list) ? list.length : undefined);
// The trade's words: brands and terms that installers, operators and vendors name things after. One
// rank for all (the list has no frequency order), as common as a frequent word: attackers try them first.
const TRADE_RANK = 300;
const trade = readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'wordlists', 'trade.txt'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'));
add(
  trade.map((w) => w.replace(/[\s\-.&]+/gu, '')),
  false,
  TRADE_RANK,
);

const entries = [...words].map(([word, { rank, leaked }]) => {
  const [hi, lo] = bl.wordKey(word);
  const meta = Math.min(bl.META_RANK_MASK, Math.round(Math.log10(rank) * bl.RANK_STEPS_PER_DECADE)) | (leaked ? bl.META_LEAKED : 0);
  return { word, hi, lo, meta };
});
entries.sort((x, y) => x.hi - y.hi || x.lo - y.lo);
for (let i = 1; i < entries.length; i++) {
  const [p, c] = [entries[i - 1], entries[i]];
  if (p.hi === c.hi && p.lo === c.lo) throw new Error(`blocklist: hash collision between two words (${p.word.length} and ${c.word.length} characters)`);
}
const n = entries.length;
const bytes = new Uint8Array(16 + n * 9);
const header = new Uint32Array(bytes.buffer, 0, 4);
header.set([bl.BLOCKLIST_MAGIC, bl.BLOCKLIST_VERSION, n, entries.reduce((m, e) => Math.max(m, e.word.length), 0)]);
const hi = new Uint32Array(bytes.buffer, 16, n);
const lo = new Uint32Array(bytes.buffer, 16 + n * 4, n);
const meta = new Uint8Array(bytes.buffer, 16 + n * 8, n);
entries.forEach((e, i) => {
  hi[i] = e.hi;
  lo[i] = e.lo;
  meta[i] = e.meta;
});
const out = join(dir, 'blocklist.bin');
writeFileSync(out, bytes);
console.log(
  `blocklist: ${n} words (${entries.filter((e) => e.meta & bl.META_LEAKED).length} leaked passwords), ${(bytes.length / 1024).toFixed(0)} KiB → ${out}`,
);
