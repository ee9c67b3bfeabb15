// The page under its own security headers, in headless Chromium against the real server: it works
// with its Content-Security-Policy (the browser reports no violation while a member signs in, opens
// a case, sells and chats), and a page on another origin cannot show it in a frame, while a portal
// the club names in --frame-ancestors can.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../conformance/harness/server.mjs';
import { launchBrowser } from './browser.mjs';

const WEB_DIST = fileURLToPath(new URL('../dist', import.meta.url));
let server;

before(async () => {
  assert.ok(existsSync(WEB_DIST), 'build the page first: npm run build');
  server = await startServer({ webDir: WEB_DIST });
});
after(() => server?.stop('SIGKILL'));

/** Collects CSP violations: the DOM event and the console's "Refused to ..." lines. */
async function watchViolations(page) {
  const violations = [];
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
  });
  await page.exposeFunction('reportViolation', (v) => violations.push(v));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      window.reportViolation(`${e.violatedDirective} blocked ${e.blockedURI}`));
  });
  return violations;
}

test('the page works under its CSP: no violation while a member plays', async () => {
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    const violations = await watchViolations(page);
    const response = await page.goto(`${server.url}/`);
    assert.match(response.headers()['content-security-policy'], /script-src 'self'/);
    await page.fill('input[name=username]', 'alice');
    await page.fill('input[name=password]', 'alice-demo-1');
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=balance]');
    await page.waitForSelector('[data-testid=indicator][data-colour=green]');
    await page.locator('[data-testid=case] button').first().click();
    await page.waitForSelector('[data-testid=won]');
    await page.locator('[data-testid=inventory-item] button').first().click();
    await page.fill('.chat input', 'csp check');
    await page.click('.chat button[type=submit]');
    await page.waitForSelector('[data-testid=chat-message] >> text=csp check');
    // A violation is reported asynchronously: give the browser a moment to say so.
    await page.waitForTimeout(300);
    assert.deepEqual(violations, []);
    // And the policy is enforced, not merely sent: an inline script is refused.
    const ran = await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.__inline = true';
      document.head.appendChild(script);
      return window.__inline === true;
    });
    assert.equal(ran, false, 'an inline script ran under the CSP');
  } finally {
    await browser.close();
  }
});

/** A page on another origin (another port) that frames `target`. */
async function framingSite(target) {
  const site = createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><h1>Win a prize!</h1><iframe src="${target}/" width="1000" height="600"></iframe>`);
  });
  await new Promise((r) => site.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${site.address().port}`,
    // The browser keeps its connection alive; close would wait for it to time out.
    close: () => new Promise((r) => { site.close(r); site.closeAllConnections(); }),
  };
}

/** Whether the framed page came up inside `page`'s first child frame within `ms`. */
async function framedPageShows(page, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    for (const frame of page.frames().slice(1)) {
      const shown = await frame.locator('[data-testid=indicator]').count().catch(() => 0);
      if (shown > 0) return true;
    }
    await page.waitForTimeout(100);
  }
  return false;
}

test('a page on another origin cannot frame the page; a portal the club names can', async () => {
  const browser = await launchBrowser();
  const attacker = await framingSite(server.url);
  let embeddable;
  try {
    const page = await browser.context.newPage();
    const refused = [];
    page.on('console', (m) => refused.push(m.text()));
    await page.goto(attacker.url);
    assert.equal(await framedPageShows(page, 3000), false, 'the page showed inside another site');
    assert.ok(refused.some((t) => /frame-ancestors|Refused to frame/i.test(t)), `no refusal reported: ${refused}`);

    // The control: a server that names the other origin as a frame ancestor is shown, so the
    // check above tells a refused frame from one that merely had not loaded yet.
    embeddable = await startServer({ webDir: WEB_DIST, args: ['--frame-ancestors', 'http://127.0.0.1:*'] });
    const site = await framingSite(embeddable.url);
    try {
      const portalPage = await browser.context.newPage();
      await portalPage.goto(site.url);
      assert.equal(await framedPageShows(portalPage, 10_000), true, 'the named portal could not frame the page');
    } finally {
      await site.close();
    }
  } finally {
    await attacker.close();
    await embeddable?.stop('SIGKILL');
    await browser.close();
  }
});
