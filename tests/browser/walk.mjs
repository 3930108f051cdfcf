// The finance console walked in a real browser (issue 13): Debian's Chromium driven by
// playwright-core, against the dev-mode binary that tests/api/console_browser.rs starts.
//
//   CONSOLE_URL=http://127.0.0.1:PORT CHROMIUM=/usr/bin/chromium SHOTS=screenshots node walk.mjs
//
// One browser context per person, signed in through /console/dev-login. Every page visited is
// checked (form tokens, labels, no CSP violation, no page error, no 5xx) and photographed into
// SHOTS as NN-who-page.png (1280x900, full page), plus NN-who-page-phone.png (390x844) for the
// main pages. Prints one line per step; exits non-zero with the reason on the first failure.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE = need('CONSOLE_URL').replace(/\/+$/, '');
const SHOTS = path.resolve(need('SHOTS'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
const STATUS_LINKS = ['Approve', 'Reject', 'Cancel', 'Generate instructions', 'Mark sent', 'Confirm arrival', 'Mark failed', 'Reissue'];

function need(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`walk: FAILED: ${name} is not set (see the comment at the top of walk.mjs)`);
    process.exit(2);
  }
  return value;
}

/** Stops the walk with a message that says what was expected and what was found. */
function fail(message) {
  throw new Error(message);
}

let stepNo = 0;
function step(text) {
  console.log(`walk: ${String(++stepNo).padStart(2, '0')} ${text}`);
}

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const exactly = (s) => new RegExp(`^\\s*${escapeRe(s)}\\s*$`);

// ---------------------------------------------------------------------------------------------
// People and pages

/** Who a page belongs to (for screenshot names) and what went wrong on it so far. */
const pages = new Map();

/** Signs in on /console/dev-login with the button named `button`; returns the signed-in page. */
async function signIn(browser, button, who, { javaScriptEnabled = true } = {}) {
  const context = await browser.newContext({ viewport: DESKTOP, javaScriptEnabled, acceptDownloads: true });
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  watch(page, who);
  await go(page, '/console/dev-login');
  await visited(page, 'dev-login', { csrf: false }); // no session yet: the Origin check guards it
  await page.getByRole('button', { name: button, exact: typeof button === 'string' }).click();
  await page.waitForURL((u) => u.pathname === '/console' || u.pathname === '/console/me');
  return page;
}

/** The dev-login button of the member with this email (member names repeat, emails don't). */
const memberButton = (email) => new RegExp(`^Sign in as .+ \\(${escapeRe(email)}\\)$`);

function watch(page, who) {
  const seen = { who, problems: [] };
  pages.set(page, seen);
  page.on('console', (msg) => {
    if (msg.text().includes('Content Security Policy')) seen.problems.push(`CSP: ${msg.text()}`);
  });
  page.on('pageerror', (err) => seen.problems.push(`page error: ${err.message}`));
  page.on('response', (res) => {
    if (res.status() >= 500) seen.problems.push(`${res.status()} from ${res.request().method()} ${res.url()}`);
  });
}

async function go(page, pathAndQuery) {
  return page.goto(BASE + pathAndQuery);
}

/** Checks the page and photographs it: what every page visited gets. */
async function visited(page, name, { phone = false, csrf = true } = {}) {
  await checkPage(page, { csrf });
  await shot(page, name, { phone });
}

/** The checks every page must pass. */
async function checkPage(page, { csrf = true } = {}) {
  await page.waitForLoadState('load');
  const where = `${pages.get(page).who} on ${new URL(page.url()).pathname}`;
  const problems = pages.get(page).problems.splice(0);
  assert.deepEqual(problems, [], `${where}: the browser reported problems`);

  if (csrf) {
    const posts = page.locator('form[method="post" i]');
    for (const form of await posts.all()) {
      const tokens = await form.locator('input[name="_csrf"]').count();
      const action = await form.getAttribute('action');
      assert.ok(tokens > 0, `${where}: the POST form to ${action} has no _csrf input`);
    }
  }

  const fields = page.locator(
    'input:not([type="hidden" i]):not([type="submit" i]):not([type="button" i]):not([type="reset" i]):not([type="image" i]), select, textarea',
  );
  for (const field of await fields.all()) {
    if (!(await field.isVisible())) continue;
    const labelled = await field.evaluate(
      (el) => el.labels.length > 0 || !!el.getAttribute('aria-label') || !!el.getAttribute('aria-labelledby'),
    );
    const name = await field.getAttribute('name');
    assert.ok(labelled, `${where}: the field named ${name} has no label`);
  }
}

let shotNo = 0;
/** NN-who-name.png at 1280x900, and NN-who-name-phone.png at 390x844 when `phone`. */
async function shot(page, name, { phone = false } = {}) {
  const file = `${String(++shotNo).padStart(2, '0')}-${pages.get(page).who}-${name}`;
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: path.join(SHOTS, `${file}.png`), fullPage: true });
  if (phone) {
    await page.setViewportSize(PHONE);
    await page.screenshot({ path: path.join(SHOTS, `${file}-phone.png`), fullPage: true });
    await page.setViewportSize(DESKTOP);
  }
}

// ---------------------------------------------------------------------------------------------
// Small actions and expectations

const h1 = (page) => page.getByRole('heading', { level: 1 });

async function expectHeading(page, name) {
  try {
    await page.getByRole('heading', { level: 1, name, exact: true }).waitFor();
  } catch {
    const actual = await h1(page).allInnerTexts().catch(() => []);
    fail(`${pages.get(page).who}: expected the heading "${name}" on ${page.url()}, found ${JSON.stringify(actual)}`);
  }
}

/** Waits until `locator` (one element) reads exactly `text`; fails with what it read. */
async function expectText(locator, text, what) {
  try {
    await locator.filter({ hasText: exactly(text) }).waitFor();
  } catch {
    const actual = await locator.allInnerTexts().catch(() => []);
    fail(`expected ${what} to read "${text}", found ${JSON.stringify(actual)}`);
  }
}

async function expectPath(page, test, what) {
  try {
    await page.waitForURL((u) => test(u.pathname, u));
  } catch {
    fail(`${pages.get(page).who}: expected ${what}, but the browser is at ${page.url()}`);
  }
  return new URL(page.url()).pathname;
}

const link = (page, name) => page.getByRole('link', { name, exact: true });
const button = (page, name) => page.getByRole('button', { name, exact: true });
const field = (page, label) => page.getByLabel(label, { exact: true });

async function nav(page, name) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
}

/** Picks the option whose value or text is `wanted` (any case) or contains it (`partial`). */
async function choose(select, wanted, { partial = false } = {}) {
  const options = await select.locator('option').evaluateAll((os) => os.map((o) => ({ value: o.value, label: o.textContent.trim() })));
  const w = wanted.toLowerCase();
  const hit = (s) => (partial ? s.toLowerCase().includes(w) : s.toLowerCase() === w);
  const option = options.find((o) => hit(o.value) || hit(o.label));
  assert.ok(option, `no option "${wanted}" among ${JSON.stringify(options)}`);
  await select.selectOption(option.value);
}

async function fillAll(page, values) {
  for (const [label, value] of Object.entries(values)) {
    const el = field(page, label);
    if ((await el.evaluate((e) => e.tagName)) === 'SELECT') await choose(el, value);
    else await el.fill(value);
  }
}

/**
 * Clicks the submit button `name` and waits for the answer: a fresh role=status (the flash)
 * or role=alert (an error). Messages already on the page are marked stale first, so the
 * flash of the previous action does not count. Fails unless the outcome is the expected one.
 */
async function submit(page, name, { expect = 'status' } = {}) {
  await page.evaluate(() => {
    for (const el of document.querySelectorAll('[role="status"], [role="alert"], output')) el.setAttribute('data-walk-stale', '');
  });
  await button(page, name).click();
  const fresh = (sel) => page.locator(`${sel}:not([data-walk-stale])`).filter({ hasText: /\S/ });
  const status = fresh('[role="status"], output');
  const alert = fresh('[role="alert"]');
  const who = pages.get(page).who;
  try {
    await status.or(alert).first().waitFor();
  } catch {
    fail(`${who}: "${name}" was answered by neither a role=status flash nor a role=alert (now at ${page.url()})`);
  }
  if (expect === 'status' && (await alert.count())) {
    const errors = await page.locator('.field-error').allInnerTexts();
    fail(`${who}: "${name}" was refused: ${(await alert.first().innerText()).trim()} ${JSON.stringify(errors)}`);
  }
  if (expect === 'alert') {
    assert.ok((await alert.count()) > 0, `${who}: "${name}" should have been refused, got the flash ${JSON.stringify(await status.allInnerTexts())}`);
    return (await alert.first().innerText()).trim();
  }
  return (await status.first().innerText()).trim();
}

async function absentLinks(page, names, what) {
  for (const name of names) {
    assert.equal(await link(page, name).count(), 0, `${what}: there should be no "${name}" link`);
  }
}

async function navShows(page, expected, hidden) {
  const main = page.getByRole('navigation', { name: 'Main' });
  for (const name of expected) assert.equal(await main.getByRole('link', { name, exact: true }).count(), 1, `${pages.get(page).who}: nav link "${name}"`);
  for (const name of hidden) assert.equal(await main.getByRole('link', { name, exact: true }).count(), 0, `${pages.get(page).who}: no nav link "${name}"`);
}

/** `Name <email>` of #member. */
async function memberOf(page) {
  const text = (await page.locator('#member').innerText()).trim();
  const m = text.match(/^(.*?)\s*<([^>]+)>$/);
  assert.ok(m, `#member should read "Name <email>", found "${text}"`);
  return { name: m[1], email: m[2] };
}

const payoutPath = (id) => `/console/payouts/${encodeURIComponent(id)}`;
const onPayout = (id) => (p) => p === payoutPath(id);

/** Opens a payout's page by URL and checks its status. */
async function openPayout(page, id, status, shotName, opts = {}) {
  await go(page, payoutPath(id));
  await expectHeading(page, id);
  if (status) await expectText(page.locator('#status'), status, `${id}'s status`);
  await visited(page, shotName, opts);
}

/** From the payout page: the action link, its confirmation page, its "Yes, …" button, back. */
async function act(page, id, linkName, action, yes, fill = {}) {
  await link(page, linkName).click();
  await expectPath(page, (p) => p === `${payoutPath(id)}/${action}`, `the ${action} confirmation page`);
  await visited(page, `confirm-${action}`);
  await fillAll(page, fill);
  const flash = await submit(page, yes);
  await expectPath(page, onPayout(id), `back on ${id} after "${yes}"`);
  await checkPage(page);
  return flash;
}

/** Queue → "How many payouts" → review → "Create payouts" (ACH); returns the new payout. */
async function createOnePayout(page, notes) {
  await nav(page, 'Queue');
  await expectHeading(page, 'Queue');
  await visited(page, 'queue', { phone: true });
  await field(page, 'How many payouts').fill('1');
  await button(page, 'Review payouts to create').click();
  await expectPath(page, (p, u) => p === '/console/payouts/new' && u.searchParams.get('count') === '1', 'the create page (?count=1)');
  await expectHeading(page, 'Create payouts');
  assert.equal(await field(page, 'Payment method').inputValue(), 'ach', 'the payment method defaults to ACH');
  await choose(field(page, 'Payment method'), 'ach');
  await field(page, 'Notes').fill(notes);
  await visited(page, 'create-payouts');
  await submit(page, 'Create payouts');
  const at = await expectPath(page, (p) => /^\/console\/payouts\/[^/]+$/.test(p) && p !== '/console/payouts/new', 'the new payout page');
  const id = (await h1(page).innerText()).trim();
  assert.equal(decodeURIComponent(at.split('/').pop()), id, 'the h1 is the payout id in the URL');
  await expectText(page.locator('#status'), 'Pending approval', `${id}'s status`);
  return { id, member: await memberOf(page) };
}

async function bytesOf(page, href) {
  const res = await page.request.get(new URL(href, page.url()).href);
  assert.equal(res.status(), 200, `GET ${href}`);
  return res.body();
}

// ---------------------------------------------------------------------------------------------
// The walk

async function walk(browser) {
  step('the vendored htmx is npm\'s htmx.org@2.0.11 byte for byte');
  const vendored = readFileSync(new URL('../../assets/console/htmx-2.0.11.min.js', import.meta.url));
  const fromNpm = readFileSync(new URL('./node_modules/htmx.org/dist/htmx.min.js', import.meta.url));
  assert.ok(vendored.equals(fromNpm), 'assets/console/htmx-2.0.11.min.js differs from node_modules/htmx.org/dist/htmx.min.js');

  // 1. Ava creates one payout from the head of the queue.
  step('Ava signs in and lands on the overview');
  const ava = await signIn(browser, 'Sign in as Ava Sterling (Super Admin)', 'ava');
  await expectPath(ava, (p) => p === '/console', 'the overview');
  await expectHeading(ava, 'Overview');
  await navShows(ava, ['Overview', 'Queue', 'Payouts', 'Files', 'My payout'], []);
  await visited(ava, 'overview', { phone: true });

  step('Ava reviews 1 payout from the queue and creates it (ACH)');
  const first = await createOnePayout(ava, 'Browser walk: first payout');
  await visited(ava, 'payout-created', { phone: true });
  await absentLinks(ava, ['Approve'], 'Ava created it');
  step(`created ${first.id} for ${first.member.name} <${first.member.email}>`);

  // 2. Its member enters bank details and a W-9 before any approval (new details clear them).
  step('the member signs in, saves bank details, then the W-9');
  const member = await signIn(browser, memberButton(first.member.email), 'member');
  await expectPath(member, (p) => p === '/console/me', 'My payout');
  await expectHeading(member, 'My payout');
  await navShows(member, ['My payout'], ['Queue', 'Files']);
  assert.ok((await member.locator(`a[href$="${payoutPath(first.id)}"]`).count()) > 0, 'My payout links to the open payout');
  await visited(member, 'me', { phone: true });
  await fillAll(member, {
    'Account holder name': first.member.name,
    'Routing number': '011000015',
    'Account number': '123456789',
    'Account type': 'checking',
    'Bank name': 'First Demo Bank',
  });
  step(`  bank details saved: ${await submit(member, 'Save bank details')}`);
  const w9 = {
    'Legal name': first.member.name,
    TIN: '123-45-6789',
    'TIN type': 'SSN',
    'Address line 1': '100 Congress Ave',
    'Address line 2': 'Suite 200',
    City: 'Austin',
    State: 'TX',
    'ZIP code': '78701',
  };
  await visited(member, 'me-bank-saved');

  step('JavaScript off: the member submits the W-9 with a bad TIN, then a good one');
  const plain = await signIn(browser, memberButton(first.member.email), 'member-nojs', { javaScriptEnabled: false });
  await expectHeading(plain, 'My payout');
  await fillAll(plain, { ...w9, TIN: '12' });
  const refused = await submit(plain, 'Save W-9', { expect: 'alert' });
  const tinError = plain.locator('#tin-error');
  assert.ok(await tinError.isVisible(), '#tin-error is shown');
  assert.ok(await tinError.evaluate((el) => el.matches('p.field-error')), '#tin-error is a p.field-error');
  const tin = field(plain, 'TIN');
  assert.equal(await tin.getAttribute('aria-invalid'), 'true', 'the TIN input has aria-invalid=true');
  assert.ok(((await tin.getAttribute('aria-describedby')) ?? '').split(/\s+/).includes('tin-error'), 'the TIN input is described by #tin-error');
  step(`  refused: ${refused} / ${(await tinError.innerText()).trim()}`);
  await visited(plain, 'me-w9-error', { phone: true });
  await fillAll(plain, w9);
  step(`  W-9 saved: ${await submit(plain, 'Save W-9')}`);
  await visited(plain, 'me-w9-saved');
  await plain.context().close();

  // Support sees the pending payout but may not decide on it.
  step('Liam (Support) opens the pending payout: no approve, reject, cancel or instructions');
  const liam = await signIn(browser, 'Sign in as Liam Patel (Support)', 'liam');
  await expectHeading(liam, 'Overview');
  await navShows(liam, ['Overview', 'Queue', 'Payouts', 'Files', 'My payout'], []);
  await openPayout(liam, first.id, 'Pending approval', 'payout-pending', { phone: true });
  await absentLinks(liam, ['Approve', 'Reject', 'Cancel', 'Generate instructions'], `Liam on ${first.id}`);
  assert.equal(await button(liam, 'Reveal account number').count(), 0, 'Support may not reveal account numbers');

  // 3. Noah, then Mia approve; the creator can't.
  for (const [who, name] of [['noah', 'Noah Reyes'], ['mia', 'Mia Chen']]) {
    step(`${name} approves ${first.id}`);
    const role = who === 'mia' ? 'Manager' : 'Super Admin';
    // Mia approves with JavaScript off: the confirmation page is a plain form.
    const admin = await signIn(browser, `Sign in as ${name} (${role})`, who, { javaScriptEnabled: who !== 'mia' });
    await openPayout(admin, first.id, 'Pending approval', 'payout');
    await act(admin, first.id, 'Approve', 'approve', 'Yes, approve', { Comment: `Checked by ${name} in the browser walk` });
    await visited(admin, 'payout-approved');
    if (who === 'mia') await expectText(admin.locator('#status'), 'Approved', `${first.id}'s status after two approvals`);
    await admin.context().close();
  }
  await openPayout(ava, first.id, 'Approved', 'payout-approved', { phone: true });
  assert.equal(await ava.getByRole('heading', { level: 2, name: 'Approvals', exact: true }).count(), 1, 'an Approvals section');
  for (const name of ['Noah Reyes', 'Mia Chen']) assert.ok((await ava.locator('body').innerText()).includes(name), `the payout page names the approver ${name}`);
  await absentLinks(ava, ['Approve'], 'Ava created it');

  // 4. Ava pays it: instructions, an ACH file, reveal, sent, arrived.
  step('Ava generates the instructions');
  await act(ava, first.id, 'Generate instructions', 'generate-instructions', 'Yes, generate instructions');
  await visited(ava, 'payout-instructions');
  const pdf = await bytesOf(ava, await link(ava, 'Instructions PDF').getAttribute('href'));
  assert.equal(pdf.subarray(0, 4).toString('latin1'), '%PDF', 'the instructions PDF is a PDF');

  step('Ava creates an ACH file with the payout');
  await nav(ava, 'Files');
  await expectHeading(ava, 'Payment files');
  await visited(ava, 'files', { phone: true });
  const achForm = ava.locator('form').filter({ has: button(ava, 'Create ACH file') });
  await achForm.getByRole('checkbox', { name: new RegExp(`^\\s*${escapeRe(first.id)}\\b`) }).check();
  await submit(ava, 'Create ACH file');
  const filePath = await expectPath(ava, (p) => /^\/console\/files\/[^/]+$/.test(p), 'the new file page');
  const fileId = decodeURIComponent(filePath.split('/').pop());
  await expectHeading(ava, 'Payment file');
  assert.equal(await link(ava, 'Void').count(), 1, 'the file page offers "Void"');
  await visited(ava, 'file', { phone: true });
  const ach = (await bytesOf(ava, await link(ava, 'Download').getAttribute('href'))).toString('latin1');
  assert.ok(ach.split(/\r?\n/)[0].startsWith('101'), `the ACH file starts with a 101 file header: ${JSON.stringify(ach.slice(0, 40))}`);
  step(`  file ${fileId}: ${ach.split(/\r?\n/).filter(Boolean).length} records`);

  step('Ava reveals the account number; the timeline records it');
  await openPayout(ava, first.id, 'Approved', 'payout');
  await button(ava, 'Reveal account number').click();
  await expectText(ava.locator('#account-number'), '123456789', 'the revealed account number');
  await expectText(ava.locator('#routing-number'), '011000015', 'the revealed routing number');
  await visited(ava, 'revealed');
  await openPayout(ava, first.id, 'Approved', 'payout-after-reveal');
  assert.ok((await ava.locator('#timeline li').filter({ hasText: 'Bank details revealed' }).count()) > 0, 'the timeline has "Bank details revealed"');

  step('Ava marks it sent with the file, then confirms arrival');
  await link(ava, 'Mark sent').click();
  await expectPath(ava, (p) => p === `${payoutPath(first.id)}/mark-sent`, 'the mark-sent page');
  for (const label of ['Sent date', 'Expected arrival date']) {
    assert.match(await field(ava, label).inputValue(), /^\d{4}-\d{2}-\d{2}$/, `"${label}" is prefilled with today's date`);
  }
  await field(ava, 'Tracking number').fill('WALK-TRACE-0001');
  if (await field(ava, 'Payment file').count()) await choose(field(ava, 'Payment file'), fileId, { partial: true });
  await field(ava, 'Notes').fill('Sent in the walk\'s ACH file');
  await visited(ava, 'confirm-mark-sent');
  await submit(ava, 'Yes, mark sent');
  await expectPath(ava, onPayout(first.id), 'back on the payout');
  await expectText(ava.locator('#status'), 'Payment sent', `${first.id}'s status`);
  await visited(ava, 'payout-sent');
  await link(ava, 'Confirm arrival').click();
  await expectPath(ava, (p) => p === `${payoutPath(first.id)}/confirm`, 'the confirm page');
  assert.match(await field(ava, 'Completed date').inputValue(), /^\d{4}-\d{2}-\d{2}$/, '"Completed date" is prefilled');
  await field(ava, 'Confirmation number').fill('WALK-CONF-0001');
  await visited(ava, 'confirm-confirm');
  await submit(ava, 'Yes, confirm arrival');
  await expectPath(ava, onPayout(first.id), 'back on the payout');
  await expectText(ava.locator('#status'), 'Completed', `${first.id}'s status`);
  const receipt = link(ava, 'Download receipt');
  assert.notEqual(await receipt.getAttribute('download'), null, '"Download receipt" has the download attribute');
  assert.ok((await receipt.getAttribute('href')).endsWith(`/api/payouts/${first.id}/receipt`), 'the receipt link');
  await visited(ava, 'payout-completed', { phone: true });

  // 5. The member downloads the receipt.
  step('the member downloads the receipt');
  await go(member, '/console/me');
  await expectHeading(member, 'My payout');
  await visited(member, 'me-completed', { phone: true });
  const [download] = await Promise.all([
    member.waitForEvent('download').catch(() =>
      fail('clicking "Download receipt" started no download (htmx 2 boosts <a download> links too: they need hx-boost="false")'),
    ),
    link(member, 'Download receipt').click(),
  ]);
  const saved = path.join(SHOTS, `receipt-${first.id}.pdf`);
  await download.saveAs(saved);
  assert.equal(readFileSync(saved).subarray(0, 4).toString('latin1'), '%PDF', 'the receipt is a PDF');

  // 6. Another member sees nothing of it.
  step('another member gets 404 for the payout and does not list it');
  await go(member, '/console/dev-login'); // only to find another member's button
  await visited(member, 'dev-login', { csrf: false });
  const others = (await member.getByRole('button', { name: /^Sign in as .+ \(.+@.+\)$/ }).allInnerTexts())
    .map((t) => t.trim())
    .filter((t) => !t.endsWith(`(${first.member.email})`));
  assert.ok(others.length > 0, 'another member to sign in as');
  const stranger = await signIn(browser, others[0], 'stranger');
  const res = await go(stranger, payoutPath(first.id));
  assert.equal(res.status(), 404, 'another member\'s payout answers 404');
  await expectHeading(stranger, 'Not found');
  await visited(stranger, 'not-found');
  await go(stranger, '/console/payouts');
  await expectHeading(stranger, 'Payouts');
  assert.equal(await link(stranger, first.id).count(), 0, 'their Payouts list does not link the payout');
  assert.ok(!(await stranger.locator('body').innerText()).includes(first.id), 'their Payouts list does not show the payout');
  await visited(stranger, 'payouts', { phone: true });
  await stranger.context().close();
  await member.context().close();


  // 7. Support, once it is paid: still no actions, no reveal.
  step('Liam opens the completed payout: only "Mark failed" (a late return), no reveal');
  await openPayout(liam, first.id, 'Completed', 'payout-completed');
  await absentLinks(liam, STATUS_LINKS.filter((l) => l !== 'Mark failed'), `Liam on ${first.id}`);
  assert.equal(await link(liam, 'Mark failed').count(), 1, 'Support may record a late return (SPEC §3: finance roles)');
  assert.equal(await button(liam, 'Reveal account number').count(), 0, 'Support may not reveal account numbers');
  await liam.context().close();
  await ava.context().close();
}

// ---------------------------------------------------------------------------------------------

mkdirSync(SHOTS, { recursive: true });
for (const f of readdirSync(SHOTS)) if (/^(\d\d|failed)-.*\.png$|^receipt-.*\.pdf$/.test(f)) rmSync(path.join(SHOTS, f));
const watchdog = setTimeout(() => {
  console.error(`walk: FAILED: still at step ${stepNo} after 10 minutes`);
  process.exit(1);
}, 10 * 60_000);
watchdog.unref();

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  step(`Chromium ${browser.version()} against ${BASE}`);
  await walk(browser);
  step(`done: ${shotNo} screenshots in ${SHOTS}`);
} catch (err) {
  const at = [...pages.entries()].map(([p, s]) => `${s.who} at ${p.isClosed() ? '(closed)' : p.url()}`).join('; ');
  console.error(`walk: FAILED at step ${stepNo}: ${err.message}\n  ${at}`);
  for (const [page, seen] of pages) {
    if (!page.isClosed()) await page.screenshot({ path: path.join(SHOTS, `failed-${seen.who}.png`), fullPage: true }).catch(() => {});
  }
  process.exitCode = 1;
} finally {
  await browser.close();
}
