// The seed's third scenario, in headless Chromium: a member pays at the club's desk (the SmartShell
// stand-in, whose demo clients the demo links alice and bob to), and the open page shows the money
// on the balance within the poll interval, with a note saying where it came from; a refund of it
// shows too. The real server binary runs `serve --demo` with the bridge pointed at the stand-in.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../conformance/harness/server.mjs';
import { launchBrowser } from './browser.mjs';

const WEB_DIST = fileURLToPath(new URL('../dist', import.meta.url));
const STUB_BIN = process.env.SMARTSHELL_STUB_BIN
  ?? fileURLToPath(new URL('../../target/debug/cyberhub-smartshell-stub', import.meta.url));
/** alice's client at the stand-in (the server's demo::seed::SMARTSHELL_CLIENTS). */
const ALICE_CLIENT = '0a11ce00-0000-4000-8000-000000000002';

let stub;
let server;

/** Starts `cyberhub-smartshell-stub --demo` on a free port; resolves with its addresses. */
async function startStub() {
  assert.ok(existsSync(STUB_BIN), `no stand-in at ${STUB_BIN}: cargo build -p cyberhub-smartshell-stub`);
  const child = spawn(STUB_BIN, ['--listen', '127.0.0.1:0', '--company-id', '1', '--demo'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const first = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the stand-in exited with ${code}`)));
  });
  const { graphql, control } = JSON.parse(first);
  const post = async (path, body) => {
    const res = await fetch(`${control}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.ok(res.ok, `${path}: ${res.status}`);
    return res.json();
  };
  return { graphql, post, stop: () => child.kill('SIGKILL') };
}

before(async () => {
  assert.ok(existsSync(WEB_DIST), 'build the page first: npm run build');
  stub = await startStub();
  server = await startServer({
    webDir: WEB_DIST,
    args: [
      '--smartshell-url', stub.graphql, '--smartshell-club-id', '1',
      '--smartshell-login', '79990000000', '--smartshell-password', 'stub-password',
      '--smartshell-poll-interval-ms', '300',
    ],
  });
});
after(() => {
  server?.stop('SIGKILL');
  stub?.stop();
});

test('a payment at the club desk shows on the open page within the poll interval, and its refund too', async () => {
  const browser = await launchBrowser({ locale: 'ru-RU' });
  try {
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    await page.goto(`${server.url}/`);
    await page.fill('input[name=username]', 'alice');
    await page.fill('input[name=password]', 'alice-demo-1');
    await page.click('button[type=submit]');
    const balance = page.locator('[data-testid=balance]');
    await balance.waitFor();
    await page.waitForSelector('[data-testid=indicator][data-colour=green]');
    const before = Number(await balance.getAttribute('data-kopecks'));

    const { payment_id } = await stub.post('/payments', { client_uuid: ALICE_CLIENT, amount: 50_000 });
    await page.waitForSelector(`[data-testid=balance][data-kopecks="${before + 50_000}"]`, { timeout: 5_000 });
    const note = page.locator('[data-testid=payment-note]');
    assert.equal(await note.getAttribute('data-reason'), 'topup');
    assert.match((await note.innerText()).replace(/[\u00a0\u202f]/g, ' '), /\+500,00 ₽: пополнение в клубе/);

    await stub.post(`/payments/${payment_id}/refund`, {});
    await page.waitForSelector(`[data-testid=balance][data-kopecks="${before}"]`, { timeout: 5_000 });
    await page.waitForSelector('[data-testid=payment-note][data-reason=refund]');
  } finally {
    await browser.close();
  }
});
