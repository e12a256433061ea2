import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/test-server';
import { desktopPage, launchBrowser, screenshot, WEB_APP_DIR } from './support/browser';

describe('the app in Chromium, served by the server at /', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchBrowser();
    server = await startTestServer({ store: { kind: 'pglite-memory' }, webAppDir: WEB_APP_DIR });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('loads from the same origin with no console errors', async () => {
    const { context, page } = await desktopPage(browser, server.url);
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto('/');
    await expect(page.title()).resolves.toBe('Hearth');
    await screenshot(page, 'app-shell');
    expect(errors).toEqual([]);
    await context.close();
  });
});
