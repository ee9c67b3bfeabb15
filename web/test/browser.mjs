// Headless Chromium for the page tests: Debian's /usr/bin/chromium driven by playwright-core (no
// browser download), with a fresh profile per launch. One persistent context = one browser profile,
// so its pages are tabs of the same site that share localStorage, Web Locks and BroadcastChannel.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

/** The Chromium binary: $CHROMIUM_PATH, else Debian's. */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
  // Background tabs must keep their timers and streams running like a member's real tabs do.
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows',
];

/**
 * Launches Chromium with a fresh profile; `close()` removes the profile too. `locale` is the
 * browser's language (navigator.languages, Accept-Language, Intl's default): English unless a test
 * is about another language, so that tests matching texts read the English page.
 */
export async function launchBrowser({ locale = 'en-US' } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'cyberhub-chromium-'));
  const launch = () => chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1360, height: 820 },
    locale,
  });
  let context;
  try {
    context = await launch();
  } catch (err) {
    // Chromium now and then dies while starting on a loaded CI box ("Target page, context or
    // browser has been closed" before any page exists). That says nothing about the page under
    // test, so one more start is allowed; a second failure fails the test.
    console.error(`# Chromium did not start (${String(err.message).split('\n')[0]}); starting it once more`);
    rmSync(profile, { recursive: true, force: true });
    mkdirSync(profile);
    context = await launch();
  }
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
