import { type LlmTestServer, startLlmTestServer } from '@hearth/testkit';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PASSWORD,
  startTestServer,
  type TestServer,
  testLlmClient,
  uniqueEmail,
} from '../../server/test/support/test-server';
import { desktopPage, launchBrowser, screenshot, WEB_APP_DIR } from './support/browser';

// Priced in apps/server/test/fixtures/model-prices.json.
const CHEAP = 'test-model';
const PRICEY = 'test-model-pricey';

/** Sends `text` and waits for its answer to be complete on screen; the answer's text. */
async function chat(page: Page, text: string): Promise<string> {
  await page.locator('[role="log"][aria-busy="false"]').waitFor();
  await page.getByLabel('Message').fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
  const answer = page
    .locator('article[data-role="user"]')
    .filter({ has: page.getByText(text, { exact: true }) })
    .locator('xpath=following-sibling::article[@data-role="assistant"][1]');
  await answer.and(page.locator('[data-status="complete"]')).waitFor();
  return (await answer.textContent()) ?? '';
}

/** The option shown in the picker now. */
const chosen = (page: Page) => page.getByLabel('Model').locator('option:checked').textContent();

describe('the model picker in the web app', () => {
  let llm: LlmTestServer;
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchBrowser();
    // The model says which model was asked, so the page shows whose answer it is.
    llm = await startLlmTestServer({ respond: (request) => ({ text: `Answered by ${request.model}.` }) });
    server = await startTestServer({
      store: { kind: 'pglite-memory' },
      webAppDir: WEB_APP_DIR,
      llm: testLlmClient(llm),
      env: { LLM_MODELS: `${CHEAP},${PRICEY}` },
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await llm?.close();
  });

  it('lists the models with their price, switches the conversation to another, and the next answer comes from it', async () => {
    const { context, page } = await desktopPage(browser, server.url);
    await page.goto('/');
    await page.getByLabel('Email').fill(uniqueEmail('models'));
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();

    const picker = page.getByRole('combobox', { name: 'Model' });
    await picker.and(page.locator(':enabled')).waitFor();
    expect(await picker.locator('option').allTextContents()).toEqual([
      `${CHEAP} — $1.00 in / $2.00 out per 1M tokens, 128K context`,
      `${PRICEY} — $100.00 in / $200.00 out per 1M tokens, 32K context`,
    ]);
    // A new conversation answers with the default, the first model.
    expect(await chosen(page)).toMatch(new RegExp(`^${CHEAP} `));
    expect(await chat(page, 'Who are you?')).toContain(`Answered by ${CHEAP}.`);
    expect(llm.calls.at(-1)?.model).toBe(CHEAP);

    await picker.selectOption(PRICEY);
    await picker.and(page.locator(':enabled')).waitFor();
    expect(await chosen(page)).toMatch(new RegExp(`^${PRICEY} `));
    expect(await chat(page, 'And now?')).toContain(`Answered by ${PRICEY}.`);
    expect(llm.calls.at(-1)?.model).toBe(PRICEY);
    await screenshot(page, 'model-picker');

    // The choice is the conversation's, kept by the server: a reload shows it, and it still answers.
    await page.reload();
    await picker.and(page.locator(':enabled')).waitFor();
    expect(await chosen(page)).toMatch(new RegExp(`^${PRICEY} `));
    expect(await chat(page, 'Still you?')).toContain(`Answered by ${PRICEY}.`);

    // Another conversation has its own model: the default until it chooses.
    await page.getByRole('button', { name: 'New conversation' }).click();
    await page.locator('[role="log"][aria-busy="false"]').waitFor();
    await page.waitForFunction(
      (cheap) => document.querySelector('select option:checked')?.textContent?.startsWith(`${cheap} `),
      CHEAP,
    );
    expect(await chat(page, 'Hello there')).toContain(`Answered by ${CHEAP}.`);
    expect(llm.calls.map((call) => call.model)).toEqual([CHEAP, PRICEY, PRICEY, CHEAP]);
    await context.close();
  });
});
