// Master cards through the console in chromium, with the real daemon, a private pcscd and the virtual
// NTAG 424 DNA: the enrolment's prompts shown as they happen, the hold bar moving, and a tap ending the
// sessions of the roles it resets.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import type { Page } from 'playwright-core';
import { cli, DEFAULTS } from '../../support/harness.js';
import { consoleConfig, RIG_OPERATOR, startConsoleFor, switchHttpsOn } from '../../support/console.js';
import { axeViolations, launchBrowser, screenshot } from '../../support/browser.js';
import { cardStation, waitFor } from '../../support/master-card.js';
import { PcscPeer, requireNtag424Peer } from '../../support/pcsc.js';
import { freePort } from '../../support/ports.js';

requireNtag424Peer();

const UID = '04A1B2C3D4E5F6';
const READER = PcscPeer.READERS[0];
const MFR = 'Quartz-Fjord-91-Lantern';
const HOLD_SECONDS = 12;

/** Waits (bounded) until the page's prompt matches, and returns it. */
async function prompt(page: Page, expected: RegExp, seen: string[]): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const text = (await page.innerText('#prompt')).trim();
    if (seen.at(-1) !== text) seen.push(text);
    if (expected.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`prompt ${String(expected)} not shown; shown: ${JSON.stringify(seen)}`);
    await sleep(50);
  }
}

async function login(page: Page, url: string, role: string, password: string): Promise<void> {
  await page.goto(`${url}/login`);
  await page.selectOption('#role', role);
  await page.fill('#password', password);
  await page.click('main button[type=submit]');
}

t.test('enrol a secure master card with live prompts; the hold bar moves; a tap ends the reset roles’ sessions', async (t) => {
  const port = await freePort();
  const { env, peer } = await cardStation(t, (dir) => ({
    ...consoleConfig(dir, port),
    // The manufacturer keeps its password (and console session) at a tap; the other roles are reset.
    rfid: { holdSeconds: HOLD_SECONDS, dropoutGraceMs: 500, maxRetryMs: 500, apduTimeoutMs: 500, tapResetsRoles: ['installer', 'operator', 'user'] },
  }));
  await switchHttpsOn(env);
  const m = await cli(env, ['passwd', 'manufacturer', '--stdin'], `${DEFAULTS.manufacturer}\n${MFR}\n`);
  t.equal(m.code, 0, m.stderr);
  const consoleProcess = await startConsoleFor(env);
  t.teardown(consoleProcess.stop);
  const url = consoleProcess.url;
  const browser = await launchBrowser();
  t.teardown(browser.close);
  const page = await (await browser.context()).newPage();
  await login(page, url, 'manufacturer', MFR);
  t.equal(new URL(page.url()).pathname, '/');

  // Enrolment: the prompts follow the card, as the live page shows them.
  await page.goto(`${url}/manufacturer`);
  await page.selectOption('#reader', READER);
  await page.fill('#enrol-password', MFR);
  await page.click('form[action="/manufacturer/cards/enroll"] button');
  t.equal(new URL(page.url()).pathname, '/manufacturer/enrolment');
  const seen: string[] = [];
  await prompt(page, /^Place the card on the reader\.$/, seen);
  t.match(await page.innerText('main'), new RegExp(`Reader: ${READER}`), 'which reader');
  const state = join(env.dir, 'card.json');
  const first = await peer.placeNtag424({ state, uid: UID, slot: 0 });
  await prompt(page, /^Remove the card\.$/, seen);
  await first.remove();
  await prompt(page, /^Place the card on the reader again\.$/, seen);
  const second = await peer.placeNtag424({ state, uid: UID, slot: 0 });
  const done = await prompt(page, /^Done: master card [0-9a-f]{8} enrolled \(secure card, personalised\)/, seen);
  t.ok(seen.indexOf('Remove the card.') > seen.indexOf('Place the card on the reader.'), `prompts in order: ${JSON.stringify(seen)}`);
  t.ok(seen.indexOf('Place the card on the reader again.') > seen.indexOf('Remove the card.'));
  t.match(await page.$eval('.steps li.current', (li) => (li as unknown as { textContent: string }).textContent), 'Done', 'the live step list marks the step');
  t.same(await axeViolations(page), [], 'enrolment: no axe-core violation');
  await screenshot(page, 'enrolment');
  await second.remove();
  await waitFor(env, 'reader empty', (s) => s.rfid.readers[0]?.cardPresent === false);
  const id = /master card ([0-9a-f]{8})/.exec(done)?.[1] ?? '';
  await page.goto(`${url}/manufacturer`);
  t.match(await page.innerText('main table'), new RegExp(`${id}\\s+secure \\(NTAG 424 DNA\\)`), 'listed with its kind');

  // The operator, logged in elsewhere, loses the session at the tap that resets its password.
  const operatorPage = await (await browser.context()).newPage();
  await login(operatorPage, url, 'operator', RIG_OPERATOR);
  t.equal(new URL(operatorPage.url()).pathname, '/');

  // The hold: the overview's bar moves as the card stays on the reader.
  await page.goto(`${url}/`);
  const held = await peer.placeNtag424({ state, uid: UID, slot: 0 });
  await waitFor(env, 'hold start', (s) => s.rfid.hold !== null);
  const value = async (): Promise<number> => Number(await page.$eval('#hold', (p) => (p as unknown as { value: number }).value));
  const deadline = Date.now() + 10_000;
  let early = await value();
  while (early < 1 && Date.now() < deadline) {
    await sleep(100);
    early = await value();
  }
  t.ok(early >= 1, `the bar started (${early} of ${HOLD_SECONDS} s)`);
  await sleep(2500);
  const later = await value();
  t.ok(later > early, `and moves (${early} → ${later} s) without a reload`);
  t.match(await page.innerText('#hold-text'), /\d+ s left/);
  await screenshot(page, 'overview-hold');
  await held.remove();
  await waitFor(env, 'hold cancelled', (s) => s.rfid.hold === null);

  await operatorPage.goto(`${url}/operator`);
  t.equal(new URL(operatorPage.url()).pathname + new URL(operatorPage.url()).search, '/login?ended=passwordChanged', 'the tap ended the operator’s session');
  t.match(await operatorPage.innerText('main'), /password was changed or reset/);
  await page.goto(`${url}/manufacturer`);
  t.equal(new URL(page.url()).pathname, '/manufacturer', 'the manufacturer, not reset by this tap, keeps its session');
});
