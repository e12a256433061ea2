import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startTestServer, type TestServer, uniqueEmail } from '../../server/test/support/test-server';
import { desktopPage, launchBrowser, screenshot, WEB_APP_DIR } from './support/browser';

describe('regenerate, edit and versions in the web app', () => {
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

  it('regenerates the last answer, edits a message, and steps through the versions', async () => {
    const { context, page } = await desktopPage(browser, server.url);
    await page.goto('/');
    await page.getByLabel('Email').fill(uniqueEmail('branches'));
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByLabel('Message').fill('My name is Ada.');
    await page.getByRole('button', { name: 'Send' }).click();
    const assistant = page.locator('article[data-role="assistant"]');
    const user = page.locator('article[data-role="user"]');
    await assistant.and(page.locator('[data-status="complete"]')).waitFor();

    await page.getByRole('button', { name: 'Regenerate' }).click();
    await assistant.getByText('2/2').waitFor();
    expect(await assistant.count()).toBe(1);
    await assistant.getByRole('button', { name: 'Previous version' }).click();
    await assistant.getByText('1/2').waitFor();

    await user.getByRole('button', { name: 'Edit' }).click();
    expect(await page.getByLabel('Message').inputValue()).toBe('My name is Ada.');
    await page.getByLabel('Message').fill('My name is Grace.');
    await page.getByRole('button', { name: 'Save and answer' }).click();
    await user.getByText('2/2').waitFor();
    await assistant.and(page.locator('[data-status="complete"]')).waitFor();
    expect(await user.locator('.body').textContent()).toBe('My name is Grace.');
    expect(await user.count()).toBe(1);
    await screenshot(page, 'branches');

    // The first version is still there, with its newest answer.
    await user.getByRole('button', { name: 'Previous version' }).click();
    await user.getByText('My name is Ada.').waitFor();
    await assistant.getByText('2/2').waitFor();
    await context.close();
  });
});
