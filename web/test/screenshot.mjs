// Takes docs/screenshot.png for the README: alice's page in Russian (a Russian browser, as in the
// clubs it is made for) after a few openings, with bob's drops and chat and an announcement, against
// a demo server started here (real server, real browser).
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createClient } from '@cyberhub/sdk';
import { startServer } from '../../conformance/harness/server.mjs';
import { launchBrowser } from './browser.mjs';

const WEB_DIST = fileURLToPath(new URL('../dist', import.meta.url));
const OUT = fileURLToPath(new URL('../../docs/screenshot.png', import.meta.url));
const server = await startServer({ webDir: WEB_DIST });
const browser = await launchBrowser({ locale: 'ru-RU' });
try {
  const login = async (name) => {
    const c = createClient({ baseUrl: server.url });
    await c.login(name, `${name}-demo-1`);
    return c;
  };
  const [bob, admin] = [await login('bob'), await login('admin')];
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  await page.goto(`${server.url}/`);
  await page.fill('input[name=password]', 'alice-demo-1');
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=indicator][data-colour=green]');
  const cases = await bob.cases();
  await bob.sendChatMessage('кто на CS вечером?');
  for (const id of [1, 2]) await bob.openCase(id);
  const buttons = page.locator('[data-testid=case] button');
  for (const i of [0, 0, 1]) {
    await buttons.nth(i).click();
    await page.waitForSelector('[data-testid=won]');
  }
  await page.fill('.chat input', 'я! сижу за седьмым компом');
  await page.click('.chat button[type=submit]');
  await admin.sendChatMessage(`Финал турнира в 20:00, призы из кейса «${cases[2].name}»`);
  await admin.admin.announce(`Счастливые часы: «${cases[1].name}» −20% до полуночи`);
  await page.waitForSelector('[data-testid=announcement]');
  await page.waitForTimeout(400);
  mkdirSync(fileURLToPath(new URL('../../docs/', import.meta.url)), { recursive: true });
  await page.screenshot({ path: OUT });
  console.log(`wrote ${OUT}`);
} finally {
  await browser.close();
  await server.stop();
}
