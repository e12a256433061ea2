import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startTestServer, type TestServer, uniqueEmail } from '../../server/test/support/test-server';
import { desktopPage, launchBrowser, screenshot, WEB_APP_DIR } from './support/browser';

const answers = (page: Page) => page.locator('article[data-role="assistant"]');

describe('an answer still running when the page reloads', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchBrowser();
    // Slow words: the answer takes seconds, so the reload lands in its middle.
    server = await startTestServer({
      store: { kind: 'pglite-memory' },
      webAppDir: WEB_APP_DIR,
      env: { OFFLINE_WORD_DELAY_MS: '80' },
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('finishes on screen after the reload, with no gap and no duplicate', async () => {
    const { context, page } = await desktopPage(browser, server.url);
    await page.goto('/');
    await page.getByLabel('Email').fill(uniqueEmail('reload'));
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByLabel('Message').waitFor();
    const text = 'Please answer at some length, so that this answer is still arriving when the page reloads.';
    await page.getByLabel('Message').fill(text);
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('button', { name: 'Stop' }).waitFor();
    // A few words in, well before the end.
    await page.waitForFunction(() => {
      const body = document.querySelector('article[data-role="assistant"] .body');
      return (body?.textContent ?? '').split(/\s+/).length >= 4;
    });
    const seen = (await answers(page).first().locator('.body').textContent()) ?? '';
    await page.reload();
    await page.locator('[role="log"][aria-busy="false"]').waitFor();

    const answer = answers(page).first();
    await answer.waitFor();
    // Still running after the reload: picked up again, not just read back when it was done.
    expect(await answer.getAttribute('data-status')).not.toBe('complete');
    await answer.and(page.locator('[data-status="complete"]')).waitFor({ timeout: 30_000 });
    await screenshot(page, 'after-reload');

    const shown = ((await answer.locator('.body').textContent()) ?? '').trim();
    expect(shown.startsWith(seen.trim())).toBe(true);
    expect(shown).toBe(
      `I'm Hearth's offline demo model, so I can't really think, but I heard you: “${text}”. Tell me your name and I'll remember it.`.replace(
        /[“”]/g,
        '"',
      ),
    );
    expect(await answers(page).count()).toBe(1);
    expect(await page.getByRole('log').getByText(text, { exact: true }).count()).toBe(1);
    await context.close();
  });

  it('stops an answer with Stop, keeping its text so far', async () => {
    const { context, page } = await desktopPage(browser, server.url);
    await page.goto('/');
    await page.getByLabel('Email').fill(uniqueEmail('stop'));
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByLabel('Message').fill('Please answer at some length, so that there is time to stop this answer.');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.waitForFunction(() => {
      const body = document.querySelector('article[data-role="assistant"] .body');
      return (body?.textContent ?? '').split(/\s+/).length >= 3;
    });
    await page.getByRole('button', { name: 'Stop' }).click();
    const answer = answers(page).first();
    await answer.getByText('Stopped.').waitFor();
    expect(await answer.getAttribute('data-status')).toBe('incomplete');
    expect(await page.getByRole('button', { name: 'Stop' }).count()).toBe(0);
    const kept = (await answer.locator('.body').textContent()) ?? '';
    expect(kept.length).toBeGreaterThan(0);
    expect(kept).not.toContain('Tell me your name');
    await context.close();
  });
});
