// Provably fair openings on the page, in headless Chromium against the real server (reveal delay
// 1.5 s, as a club would run it): the roulette stops on the item the server drew (the case_item_id
// of the open answer), the win is shown only once it has stopped, and the drop reaches another
// member's feed only after the reveal delay, not while the opener's roulette still spins. Then the
// fairness view confirms the opening from the revealed server seed and rejects a changed one, all
// under the page's Content-Security-Policy.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../conformance/harness/server.mjs';
import { launchBrowser } from './browser.mjs';

const WEB_DIST = fileURLToPath(new URL('../dist', import.meta.url));
const REVEAL_MS = 1_500;
let server;

before(async () => {
  assert.ok(existsSync(WEB_DIST), 'build the page first: npm run build');
  server = await startServer({ webDir: WEB_DIST, args: ['--drop-reveal-ms', String(REVEAL_MS)] });
});
after(() => server?.stop('SIGKILL'));

async function signIn(page, user, password) {
  await page.goto(`${server.url}/`);
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=balance]');
  await page.waitForSelector('[data-testid=indicator][data-colour=green]');
}

/** Counts CSP violations reported on `page` (the DOM event and the console's lines). */
async function watchViolations(page) {
  const violations = [];
  page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text()); });
  await page.exposeFunction('reportViolation', (v) => violations.push(v));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => window.reportViolation(`${e.violatedDirective} blocked ${e.blockedURI}`));
  });
  return violations;
}

test('the roulette lands on the drawn item, the feed waits for it, and the opening verifies', async () => {
  const alice = await launchBrowser();
  const bob = await launchBrowser();
  try {
    const page = await alice.context.newPage();
    const violations = await watchViolations(page);
    await signIn(page, 'alice', 'alice-demo-1');
    const watcher = await bob.context.newPage();
    await signIn(watcher, 'bob', 'bob-demo-1');
    const alicesDrops = watcher.locator('[data-testid=drop]', { hasText: 'alice' });
    assert.equal(await alicesDrops.count(), 0);

    const answer = page.waitForResponse((r) => /\/v1\/cases\/\d+\/open$/.test(r.url()) && r.request().method() === 'POST');
    await page.locator('[data-testid=case] [data-testid=open]').first().click();
    const opened = await (await answer).json();
    const answeredAt = Date.now();
    assert.equal(opened.reveal_in_ms, REVEAL_MS);

    // The strip's winning tile is the item the server drew; the result waits for the spin.
    const roulette = page.locator('[data-testid=roulette]');
    await roulette.waitFor();
    assert.equal(Number(await roulette.getAttribute('data-winner')), opened.case_item_id);
    assert.equal(Number(await roulette.locator('[data-winner=true]').getAttribute('data-item-id')), opened.case_item_id);
    assert.equal(await page.locator('[data-testid=won]').count(), 0, 'the win shows before the roulette stopped');
    // Nobody's feed has the drop while the roulette spins.
    await watcher.waitForTimeout(500);
    assert.ok(Date.now() - answeredAt < REVEAL_MS - 300, 'the check ran too late to mean anything');
    assert.equal(await alicesDrops.count(), 0, 'the drop reached the feed before its reveal');

    const won = page.locator('[data-testid=won]');
    await won.waitFor({ timeout: REVEAL_MS + 3_000 });
    assert.equal(Number(await won.getAttribute('data-case-item-id')), opened.case_item_id);
    assert.match(await won.innerText(), new RegExp(opened.item.name));
    await alicesDrops.first().waitFor({ timeout: REVEAL_MS + 3_000 });
    assert.ok(Date.now() - answeredAt >= REVEAL_MS - 100, 'the drop came before the reveal delay');
    assert.match(await alicesDrops.first().innerText(), new RegExp(opened.item.name));

    // The fairness view: the opening is listed, not checkable until its server seed is revealed.
    await page.click('[data-testid=tab-fairness]');
    const line = page.locator('[data-testid=opening]').first();
    await line.locator('[data-testid=not-revealed]').waitFor();
    assert.match(await line.innerText(), new RegExp(`${opened.item.name}.*${opened.fair.nonce}`));
    assert.equal(await page.locator('[data-testid=pair-hash]').innerText(), opened.fair.server_seed_hash);

    // A new pair reveals the old server seed: the opening now checks out in the browser.
    await page.click('[data-testid=rotate]');
    await page.waitForSelector('[data-testid=revealed]');
    const checkable = page.locator('[data-testid=opening]').first();
    await checkable.locator('[data-testid=verify]').click();
    const verdict = checkable.locator('[data-testid=verdict]');
    await verdict.waitFor();
    assert.equal(await verdict.getAttribute('data-valid'), 'true', await verdict.innerText());
    assert.notEqual(await page.locator('[data-testid=pair-hash]').innerText(), opened.fair.server_seed_hash);

    // A changed server seed no longer matches the hash committed before the opening.
    const seed = await checkable.locator('[data-testid=verify-seed]').inputValue();
    await checkable.locator('[data-testid=verify-seed]').fill(`${seed[0] === '0' ? '1' : '0'}${seed.slice(1)}`);
    await checkable.locator('[data-testid=verify]').click();
    await page.waitForSelector('[data-testid=verdict][data-valid=false]');

    await page.waitForTimeout(300);
    assert.deepEqual(violations, []);
  } finally {
    await alice.close();
    await bob.close();
  }
});

test('a member who prefers reduced motion sees the win at once', async () => {
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    await page.emulateMedia({ reducedMotion: 'reduce' });
    await signIn(page, 'bob', 'bob-demo-1');
    await page.locator('[data-testid=case] [data-testid=open]').first().click();
    await page.locator('[data-testid=won]').waitFor({ timeout: 1_000 });
  } finally {
    await browser.close();
  }
});
