// The live page in headless Chromium against the real server, which serves the built page from
// web/dist on the same origin. A Node client of the SDK plays "another device" of the same member.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createClient } from '@cyberhub/sdk';
import { startServer } from '../../conformance/harness/server.mjs';
import { startProxy } from '../../conformance/proxy.mjs';
import { launchBrowser } from './browser.mjs';

const WEB_DIST = fileURLToPath(new URL('../dist', import.meta.url));
let server;

before(async () => {
  assert.ok(existsSync(WEB_DIST), 'build the page first: npm run build');
  server = await startServer({ webDir: WEB_DIST, args: ['--heartbeat-secs', '2'] });
});
after(() => server?.stop('SIGKILL'));

/** Opens the page in a tab and logs in through the form (the token then lives in localStorage). */
async function openLoggedIn(context, username = 'alice', password = 'alice-demo-1', origin = server.url) {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(`${origin}/`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=balance]');
  return page;
}
const colour = (page, c, timeout = 10_000) => page.waitForSelector(`[data-testid=indicator][data-colour=${c}]`, { timeout });
const balanceIs = (page, kopecks, timeout = 10_000) =>
  page.waitForSelector(`[data-testid=balance][data-kopecks="${kopecks}"]`, { timeout });
async function alice() {
  const client = createClient({ baseUrl: server.url });
  await client.login('alice', 'alice-demo-1');
  return client;
}
async function streams() {
  return (await server.health()).clients;
}
async function until(check, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const problem = await check();
    if (!problem) return;
    if (Date.now() > deadline) throw new Error(problem);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('the indicator turns green and the balance moves when another device opens a case', async () => {
  const browser = await launchBrowser();
  try {
    const page = await openLoggedIn(browser.context);
    await colour(page, 'green');
    assert.match(await page.getAttribute('[data-testid=indicator]', 'title'), /SSE/);
    const other = await alice();
    const opened = await other.openCase(1);
    await balanceIs(page, opened.balance);
    await page.waitForSelector(`[data-testid=inventory-item] >> text=${opened.item.name}`);
    await page.waitForSelector('[data-testid=drop] >> text=alice');
    const bob = createClient({ baseUrl: server.url });
    await bob.login('bob', 'bob-demo-1');
    await bob.sendChatMessage('gg alice');
    await page.waitForSelector('[data-testid=chat-message] >> text=gg alice');
  } finally {
    await browser.close();
  }
});

test('a mute shows at once, is still shown after a reload, and goes when lifted', async () => {
  const admin = createClient({ baseUrl: server.url });
  await admin.login('admin', 'admin-demo-1');
  const carol = await admin.admin.createUser({ username: 'carol', password: 'carol-demo-1', role: 'user' });
  const browser = await launchBrowser();
  try {
    const page = await openLoggedIn(browser.context, 'carol', 'carol-demo-1');
    await colour(page, 'green');
    await admin.admin.muteUser(carol.id, 10, 'cool down');
    await page.waitForSelector('[data-testid=chat-muted] >> text=cool down');
    assert.ok(await page.isDisabled('[data-testid=chat] button[type=submit]'), 'sending is off while muted');
    // A page loaded during the mute asks for it instead of waiting for an event.
    await page.reload();
    await page.waitForSelector('[data-testid=chat-muted] >> text=cool down');
    await admin.admin.muteUser(carol.id, 0, '');
    await page.waitForSelector('[data-testid=chat-muted]', { state: 'detached' });
    assert.ok(!(await page.isDisabled('[data-testid=chat] button[type=submit]')));
  } finally {
    await browser.close();
  }
});

test('red while the server is down, green after the restart, and no event lost', async () => {
  const browser = await launchBrowser();
  try {
    const page = await openLoggedIn(browser.context);
    await colour(page, 'green');
    await server.stop('SIGTERM');
    await colour(page, 'red');
    await server.start();
    // Committed at once, most likely before the page is back: it must arrive by resume.
    const other = await alice();
    const first = await other.openCase(1);
    const second = await other.openCase(1);
    await colour(page, 'green');
    await balanceIs(page, second.balance);
    const items = await other.inventory();
    await until(async () => {
      const shown = await page.locator('[data-testid=inventory-item]').count();
      return shown === items.length ? null : `inventory shows ${shown}, server has ${items.length}`;
    });
    assert.ok(first.balance > second.balance);
  } finally {
    await browser.close();
  }
});

test('behind a proxy that refuses streams the indicator is amber, on long-poll, and events still arrive', async () => {
  const proxy = await startProxy({ upstream: server.url, mode: 'refuse' });
  const browser = await launchBrowser();
  try {
    // The page, and so the API, through the proxy. Logging in restarts the stream as alice, so the
    // indicator is only read once the page shows her balance.
    const page = await openLoggedIn(browser.context, 'alice', 'alice-demo-1', proxy.url);
    await colour(page, 'amber');
    assert.match(await page.getAttribute('[data-testid=indicator]', 'title'), /long-poll/);
    const opened = await (await alice()).openCase(1);
    await balanceIs(page, opened.balance);
  } finally {
    await browser.close();
    await proxy.close();
  }
});

test("the admin view's case changes and announcements reach a member's page live", async () => {
  const adminBrowser = await launchBrowser();
  const memberBrowser = await launchBrowser();
  try {
    const admin = await openLoggedIn(adminBrowser.context, 'admin', 'admin-demo-1');
    const member = await openLoggedIn(memberBrowser.context);
    await colour(member, 'green');
    await admin.click('nav.tabs >> text=Admin');
    await admin.fill('.case-form input[placeholder=name]', 'Browser Case');
    await admin.fill('.case-form input[placeholder^=price]', '12');
    await admin.click('.case-form button[type=submit]');
    await member.waitForSelector('[data-testid=case] >> text=Browser Case');
    await admin.click('.admin-cases li:has-text("Browser Case") >> text=delete');
    await member.waitForSelector('[data-testid=case] >> text=Browser Case', { state: 'detached' });
    await admin.fill('.announce input', 'Doors close at midnight');
    await admin.click('.announce button');
    await member.waitForSelector('[data-testid=announcement] >> text=Doors close at midnight');
  } finally {
    await adminBrowser.close();
    await memberBrowser.close();
  }
});

test('offline pauses the stream at once (red) and online resumes it (green)', async () => {
  const browser = await launchBrowser();
  try {
    const page = await openLoggedIn(browser.context);
    await colour(page, 'green');
    await browser.context.setOffline(true);
    await page.waitForSelector('[data-testid=indicator][data-state=offline]', { timeout: 3000 });
    await browser.context.setOffline(false);
    await colour(page, 'green');
  } finally {
    await browser.close();
  }
});

test('two tabs share one stream, and closing the leader hands over without losing an event', async () => {
  await until(async () => ((await streams()) === 0 ? null : `${await streams()} streams left from earlier tests`));
  const browser = await launchBrowser();
  try {
    const first = await openLoggedIn(browser.context);
    await colour(first, 'green');
    const second = await browser.context.newPage();
    await second.goto(`${server.url}/`); // logged in already: the token is in localStorage
    await second.waitForSelector('[data-testid=balance]');
    await colour(second, 'green');
    await until(async () => ((await streams()) === 1 ? null : `/health counts ${await streams()} streams, expected 1`));

    const leaders = await Promise.all([first, second].map((p) => p.evaluate(() => window.cyberhub.isLeader)));
    assert.deepEqual(leaders.filter(Boolean).length, 1, `leaders: ${leaders}`);
    const [leader, follower] = leaders[0] ? [first, second] : [second, first];

    const other = await alice();
    const before = await other.openCase(1);
    await balanceIs(follower, before.balance); // relayed by the leader

    await leader.close();
    const during = await other.openCase(1); // while the follower takes over
    const afterwards = await other.openCase(1);
    await balanceIs(follower, afterwards.balance);
    assert.ok(during.balance > afterwards.balance);
    const items = await other.inventory();
    await until(async () => {
      const shown = await follower.locator('[data-testid=inventory-item]').count();
      return shown === items.length ? null : `inventory shows ${shown}, server has ${items.length}`;
    });
    assert.equal(await follower.evaluate(() => window.cyberhub.isLeader), true);
    await until(async () => ((await streams()) === 1 ? null : `/health counts ${await streams()} streams after the handover`));
  } finally {
    await browser.close();
  }
});
