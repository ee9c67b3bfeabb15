// The page in Russian and English, the error texts by code, and what a visitor who is not logged in
// sees: headless Chromium against the real server (web/dist served on the same origin), plus the
// dictionaries themselves loaded through Vite. Case and item names come from the API, never from here.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createClient, CyberHubError } from '@cyberhub/sdk';
import { createServer as createVite } from 'vite';
import { startServer } from '../../conformance/harness/server.mjs';
import { launchBrowser } from './browser.mjs';

const WEB_DIST = fileURLToPath(new URL('../dist', import.meta.url));
const WEB_ROOT = fileURLToPath(new URL('..', import.meta.url));
let server;

before(async () => {
  assert.ok(existsSync(WEB_DIST), 'build the page first: npm run build');
  server = await startServer({ webDir: WEB_DIST });
});
after(() => server?.stop('SIGKILL'));

/** Intl separates thousands and the currency with (narrow) no-break spaces; tests compare plain ones. */
const spaces = (text) => text.replace(/[\u00a0\u202f]/g, ' ').trim();
const text = async (page, selector) => spaces(await page.locator(selector).first().innerText());
// textContent: the CSS shows headings in capitals, the page's text is what is checked.
const heading = async (page, name) => spaces(await page.locator(`[data-testid=${name}] h2`).first().textContent());

async function login(name, password = `${name}-demo-1`) {
  const client = createClient({ baseUrl: server.url });
  await client.login(name, password);
  return client;
}
async function open(browser, path = '/') {
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  page.setDefaultTimeout(10_000);
  await page.goto(`${server.url}${path}`);
  await page.waitForSelector('[data-testid=indicator]');
  return page;
}
async function logInThroughForm(page, username, password) {
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=balance]');
}
/** Money as the page's own Intl formats it (Node's ICU may differ from Chromium's in small ways). */
const intlMoney = (page, tag, kopecks) =>
  page.evaluate(
    ([tag, kopecks]) => new Intl.NumberFormat(tag, { style: 'currency', currency: 'RUB', minimumFractionDigits: 2 }).format(kopecks / 100),
    [tag, kopecks],
  );

// First in this file: alice still has the demo's starting balance.
test("money: alice's 150 000 kopecks are 1 500,00 ₽ in Russian and the en-US rouble format in English", async () => {
  const browser = await launchBrowser({ locale: 'ru-RU' });
  try {
    const page = await open(browser);
    await logInThroughForm(page, 'alice', 'alice-demo-1');
    assert.equal(await page.getAttribute('[data-testid=balance]', 'data-kopecks'), '150000');
    assert.equal(await text(page, '[data-testid=balance]'), '1 500,00 ₽');
    assert.equal(await text(page, '[data-testid=balance]'), spaces(await intlMoney(page, 'ru-RU', 150_000)));
    await page.click('[data-locale=en]');
    await page.waitForSelector('html[lang=en]');
    const english = await text(page, '[data-testid=balance]');
    assert.equal(english, spaces(await intlMoney(page, 'en-US', 150_000)));
    assert.match(english, /1,500\.00/);
    // A case's price follows too.
    const price = Number(await page.getAttribute('[data-testid=case] .price', 'data-kopecks'));
    assert.equal(await text(page, '[data-testid=case] .price'), spaces(await intlMoney(page, 'en-US', price)));
  } finally {
    await browser.close();
  }
});

test('a Russian browser gets the page in Russian', async () => {
  const browser = await launchBrowser({ locale: 'ru-RU' });
  try {
    const page = await open(browser);
    await page.waitForSelector('html[lang=ru]');
    await page.waitForSelector('[data-testid=case]');
    assert.equal(await page.title(), 'CyberHub — онлайн');
    assert.equal(await heading(page, 'cases'), 'Кейсы');
    assert.equal(await heading(page, 'chat'), 'Чат');
    assert.equal(await text(page, 'button[type=submit]'), 'Войти');
    assert.equal(await page.getAttribute('input[name=password]', 'placeholder'), 'пароль');
    assert.equal(await page.getAttribute('[data-locale=ru]', 'aria-pressed'), 'true');
    // The tooltip is Russian and still names the transport.
    await page.waitForSelector('[data-testid=indicator][data-colour=green]');
    const title = await page.getAttribute('[data-testid=indicator]', 'title');
    assert.match(title, /SSE/);
    assert.match(title, /подключено/);
    // A count in Russian takes the plural form its number asks for.
    const count = await page.locator('[data-testid=case]').first().locator('[data-testid=case-item]').count();
    const form = { one: 'возможный предмет', few: 'возможных предмета', many: 'возможных предметов', other: 'возможного предмета' };
    assert.equal(await text(page, '[data-testid=case] .possible'), `${count} ${form[new Intl.PluralRules('ru').select(count)]}`);
  } finally {
    await browser.close();
  }
});

test('an English browser gets English, so does one that prefers neither; the first of ru/en in the list decides', async () => {
  const english = await launchBrowser({ locale: 'en-US' });
  try {
    const page = await open(english);
    await page.waitForSelector('html[lang=en]');
    assert.equal(await page.getAttribute('[data-locale=en]', 'aria-pressed'), 'true');
    assert.equal(await heading(page, 'cases'), 'Cases');
    assert.equal(await text(page, 'button[type=submit]'), 'Log in');
    assert.equal(await page.title(), 'CyberHub — live');
  } finally {
    await english.close();
  }
  const german = await launchBrowser({ locale: 'de-DE' });
  try {
    const page = await open(german);
    await page.waitForSelector('html[lang=en]');
    assert.equal(await page.getAttribute('[data-locale=en]', 'aria-pressed'), 'true');
    assert.equal(await heading(page, 'cases'), 'Cases');
  } finally {
    await german.close();
  }
  const listing = await launchBrowser({ locale: 'de-DE' });
  try {
    await listing.context.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'languages', { get: () => ['de-DE', 'ru-RU', 'en-US'] });
    });
    const page = await open(listing);
    await page.waitForSelector('html[lang=ru]');
    assert.equal(await heading(page, 'cases'), 'Кейсы');
  } finally {
    await listing.close();
  }
});

test('the switch: EN on a Russian browser turns the page English, and the choice outlives a reload', async () => {
  const browser = await launchBrowser({ locale: 'ru-RU' });
  try {
    const page = await open(browser);
    await page.waitForSelector('html[lang=ru]');
    assert.equal(await text(page, 'button[type=submit]'), 'Войти');
    await page.click('[data-locale=en]');
    await page.waitForSelector('html[lang=en]');
    assert.equal(await heading(page, 'cases'), 'Cases');
    assert.equal(await text(page, 'button[type=submit]'), 'Log in');
    assert.equal(await page.title(), 'CyberHub — live');
    await page.reload();
    await page.waitForSelector('[data-testid=indicator]');
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal(await heading(page, 'cases'), 'Cases');
    assert.equal(await page.getAttribute('[data-locale=en]', 'aria-pressed'), 'true');
    await page.click('[data-locale=ru]');
    await page.waitForSelector('html[lang=ru]');
    assert.equal(await heading(page, 'cases'), 'Кейсы');
  } finally {
    await browser.close();
  }
});

test("the server's refusals in the page's language; a code without a text shows the server's message", async () => {
  const admin = await login('admin');
  // A member with no money at all: whatever the cases cost, opening one is refused.
  await admin.admin.createUser({ username: 'vasya', password: 'vasya-demo-1', role: 'user' });
  const dearest = (await admin.cases()).reduce((a, b) => (b.price > a.price ? b : a));
  const browser = await launchBrowser({ locale: 'ru-RU' });
  try {
    const page = await open(browser);
    await page.fill('input[name=password]', 'not-her-password');
    await page.click('button[type=submit]');
    assert.equal(await text(page, '.login .error'), 'Неверный логин или пароль.');

    // Codes the page has no text for, and a rate limit's wait in seconds, as a proxy or a newer
    // server might answer.
    await page.route('**/v1/auth/login', (route) =>
      route.fulfill({
        status: 418,
        contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'club_closed_for_event', message: 'the club is closed for a private event' } }),
      }),
    );
    await page.click('button[type=submit]');
    await page.waitForSelector('.login .error >> text=the club is closed for a private event');
    await page.unroute('**/v1/auth/login');
    await page.route('**/v1/auth/login', (route) =>
      route.fulfill({
        status: 429,
        headers: { 'retry-after': '3' },
        contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'rate_limited', message: 'too many requests: try again in 3 s' } }),
      }),
    );
    await page.click('button[type=submit]');
    await page.waitForSelector('.login .error >> text=Слишком часто: попробуйте через 3 секунды.');
    await page.unroute('**/v1/auth/login');

    await logInThroughForm(page, 'vasya', 'vasya-demo-1');
    await page.click(`[data-testid=case][data-case-id="${dearest.id}"] button`);
    await page.waitForSelector('[data-testid=open-error]');
    assert.match(await text(page, '[data-testid=open-error]'), /^Недостаточно средств/);
    // Shown texts follow a switch of language.
    await page.click('[data-locale=en]');
    await page.waitForSelector('[data-testid=open-error] >> text=Not enough money on your balance.');
  } finally {
    await browser.close();
  }
});

test('a visitor who is not logged in sees the cases, live drops and chat, and is asked to log in only to act', async () => {
  const cases = await createClient({ baseUrl: server.url }).cases();
  assert.ok(cases.length > 0 && cases[0].items.length > 0, 'the demo has cases with items');
  const browser = await launchBrowser({ locale: 'ru-RU' });
  try {
    const page = await open(browser);
    await page.waitForSelector('[data-testid=case]', { timeout: 5000 }).catch(() => {});
    assert.equal(await page.locator('[data-testid=case]').count(), cases.length, 'every case is shown');
    const first = page.locator('[data-testid=case]').first();
    assert.equal(spaces(await first.locator('h3').innerText()), cases[0].name);
    assert.deepEqual(
      (await first.locator('[data-testid=case-item] .name').allInnerTexts()).map(spaces),
      cases[0].items.map((i) => i.name),
    );
    assert.equal(spaces(await first.locator('.price').innerText()), spaces(await intlMoney(page, 'ru-RU', cases[0].price)));
    assert.equal(await page.locator('[data-testid=inventory]').count(), 0);
    assert.ok(await page.isVisible('[data-testid=login] input[name=password]'), 'the login form is on the page');

    // Read-only chat: a prompt to log in where the send box would be.
    assert.equal(await page.locator('[data-testid=chat] form').count(), 0);
    assert.equal(await page.locator('[data-testid=chat] input').count(), 0);
    assert.equal(await text(page, '[data-testid=chat-sign-in]'), 'Войдите, чтобы писать в чат. Войти');

    // Live: a drop and a chat message reach the anonymous stream.
    await page.waitForSelector('[data-testid=indicator][data-colour=green]');
    const opened = await (await login('alice')).openCase(cases[0].id);
    const drop = page.locator('[data-testid=drop]', { hasText: opened.item.name }).filter({ hasText: 'alice' });
    await drop.first().waitFor();
    await (await login('bob')).sendChatMessage('кто на CS вечером?');
    await page.waitForSelector('[data-testid=chat-message] >> text=кто на CS вечером?');

    // Open asks to log in, without calling the server.
    const openCalls = [];
    page.on('request', (r) => {
      if (/\/v1\/cases\/\d+\/open/.test(r.url())) openCalls.push(r.url());
    });
    const button = first.locator('[data-testid=open]');
    assert.equal(spaces(await button.innerText()), 'Войдите, чтобы открыть');
    await button.click();
    assert.equal(await text(page, '[data-testid=sign-in-prompt]'), 'Войдите, чтобы открыть кейс.');
    await page.waitForFunction(() => document.activeElement?.getAttribute('name') === 'password');
    await page.click('[data-testid=chat-sign-in] button');
    assert.equal(await text(page, '[data-testid=sign-in-prompt]'), 'Войдите, чтобы писать в чат.');
    await page.waitForTimeout(300);
    assert.deepEqual(openCalls, [], 'no case was opened');

    // Logged in, the same page acts: the inventory takes the form's place, and the chat has its box.
    await logInThroughForm(page, 'bob', 'bob-demo-1');
    await page.waitForSelector('[data-testid=inventory]');
    assert.equal(await page.locator('[data-testid=login]').count(), 0);
    assert.equal(spaces(await button.innerText()), 'Открыть');
    await page.waitForSelector('[data-testid=chat] form input');
  } finally {
    await browser.close();
  }
});

test('the dictionaries: a text for every error code in both languages, the message for others, Russian plurals', async () => {
  const vite = await createVite({ root: WEB_ROOT, logLevel: 'silent', appType: 'custom', server: { middlewareMode: true, hmr: false } });
  try {
    const { en } = await vite.ssrLoadModule('/src/i18n/en.ts');
    const { ru } = await vite.ssrLoadModule('/src/i18n/ru.ts');
    const { errorText } = await vite.ssrLoadModule('/src/i18n/errors.ts');
    const { formatters } = await vite.ssrLoadModule('/src/i18n/format.ts');
    const say = { en: (e) => errorText(en, formatters('en'), e), ru: (e) => errorText(ru, formatters('ru'), e) };
    // Every code the server may send, from its OpenAPI document (generated from the protocol's
    // ErrorCode), and the SDK's own: tsc already refuses a dictionary without one of them.
    const openapi = JSON.parse(readFileSync(new URL('../../openapi.json', import.meta.url), 'utf8'));
    const codes = [...openapi.components.schemas.ErrorCode.enum, 'network_error'];
    assert.ok(codes.includes('insufficient_funds') && codes.length > 30, `${codes}`);
    for (const code of codes) {
      const error = new CyberHubError(400, code, 'SERVER TEXT');
      const [english, russian] = [say.en(error), say.ru(error)];
      assert.ok(english && english !== 'SERVER TEXT' && !english.includes('undefined'), `${code}: ${english}`);
      assert.ok(russian && russian !== 'SERVER TEXT' && !russian.includes('undefined'), `${code}: ${russian}`);
      assert.match(russian, /[а-яё]/i, `${code} in Russian: ${russian}`);
    }
    assert.equal(say.ru(new CyberHubError(400, 'brand_new_code', 'a newer server says this')), 'a newer server says this');
    assert.equal(say.en(new CyberHubError(502, 'http_502', 'Bad Gateway')), 'Bad Gateway');
    assert.equal(say.ru(new CyberHubError(400, 'brand_new_code', '')), 'brand_new_code');
    assert.equal(say.ru(new CyberHubError(400, 'toString', 'inherited names are no texts')), 'inherited names are no texts');
    assert.equal(say.ru(new Error('plain')), 'plain');
    const limited = (secs) => say.ru(new CyberHubError(429, 'rate_limited', 'too many requests', secs));
    assert.equal(limited(1), 'Слишком часто: попробуйте через 1 секунду.');
    assert.equal(limited(3), 'Слишком часто: попробуйте через 3 секунды.');
    assert.equal(limited(5), 'Слишком часто: попробуйте через 5 секунд.');
    assert.equal(limited(undefined), 'Слишком часто: попробуйте чуть позже.');
    assert.equal(say.en(new CyberHubError(429, 'rate_limited', 'too many requests', 3)), 'Too many requests: try again in 3 s.');
    assert.deepEqual([1, 2, 5, 11, 21, 22].map(ru.inventory.count), ['1 предмет', '2 предмета', '5 предметов', '11 предметов', '21 предмет', '22 предмета']);
    assert.deepEqual([1, 2].map(en.inventory.count), ['1 item', '2 items']);
    assert.deepEqual(Object.keys(ru.errors).sort(), Object.keys(en.errors).sort());
  } finally {
    await vite.close();
  }
});
