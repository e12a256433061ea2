import { type LlmTestServer, startLlmTestServer } from '@hearth/testkit';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PASSWORD,
  startTestServer,
  type TestServer,
  testLlmClient,
  uniqueEmail,
} from '../../server/test/support/test-server';
import { desktopPage, launchBrowser, screenshot, WEB_APP_DIR } from './support/browser';

describe('a send over the budget', () => {
  let llm: LlmTestServer;
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchBrowser();
    // A priced model (test/fixtures/model-prices.json) and a budget smaller than one step's reservation.
    llm = await startLlmTestServer({
      respond: () => ({ text: 'fine thanks', usage: { promptTokens: 300, completionTokens: 2 } }),
    });
    server = await startTestServer({
      store: { kind: 'pglite-memory' },
      webAppDir: WEB_APP_DIR,
      llm: testLlmClient(llm),
      env: { DEFAULT_BUDGET_USD: '0.0001', DEFAULT_BUDGET_PERIOD: 'day' },
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await llm?.close();
  });

  it('says the budget is exceeded and what is left', async () => {
    const { context, page } = await desktopPage(browser, server.url);
    await page.goto('/');
    await page.getByLabel('Email').fill(uniqueEmail('budget'));
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByLabel('Message').waitFor();
    await page.getByLabel('Message').fill('how are you?');
    await page.getByRole('button', { name: 'Send' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/Budget exceeded: \$0\.0001 left/);
    await screenshot(page, 'budget-exceeded');
    // The model was never asked.
    expect(llm.calls.length).toBe(0);
    await context.close();
  });
});
