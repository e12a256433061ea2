import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

/** Debian's Chromium; `.ci/run` installs it with apt when it is missing. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The build the tests serve: `pnpm test` builds it first (turbo, cached). */
export const WEB_APP_DIR = fileURLToPath(new URL('../../dist', import.meta.url));

export const SCREENSHOT_DIR = fileURLToPath(new URL('../screenshots', import.meta.url));

/**
 * Flags for a machine without internet: nothing in the browser reaches out on its own (updates,
 * sync, safe browsing lists), and no sandbox, since CI runs as root. Playwright's `launch` gives each
 * browser a fresh temporary --user-data-dir of its own, removed when it closes.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

export function assertPrerequisites(): void {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  if (!existsSync(`${WEB_APP_DIR}/index.html`)) {
    throw new Error(`no web build in ${WEB_APP_DIR}: run pnpm --filter @hearth/web build (pnpm test does)`);
  }
}

export async function launchBrowser(): Promise<Browser> {
  assertPrerequisites();
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/** A desktop-sized window, as a fresh visitor (no stored session). */
export async function desktopPage(browser: Browser, baseURL: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL, viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  // The page's own errors, in the test's output: the first thing to read when a step times out.
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') console.error(`[page console] ${message.text()}`);
  });
  return { context, page };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = `${SCREENSHOT_DIR}/${name}.png`;
  await page.screenshot({ path });
  return path;
}
