import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base64, PNG_1X1, tinyPdf } from '../../server/test/support/files';
import { PASSWORD, startTestServer, type TestServer, uniqueEmail } from '../../server/test/support/test-server';
import { desktopPage, launchBrowser, screenshot, WEB_APP_DIR } from './support/browser';

describe('attachments in the web app', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchBrowser();
    // The offline demo model takes images and PDFs, and says which files it got.
    server = await startTestServer({ store: { kind: 'pglite-memory' }, webAppDir: WEB_APP_DIR });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('attaches an image and a PDF, sends them, and shows them on the message', async () => {
    const { context, page } = await desktopPage(browser, server.url);
    await page.goto('/');
    await page.getByLabel('Email').fill(uniqueEmail('web-attach'));
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByLabel('Message').waitFor();

    const chooser = page.waitForEvent('filechooser');
    await page.getByRole('button', { name: 'Attach' }).click();
    await (await chooser).setFiles([
      { name: 'pixel.png', mimeType: 'image/png', buffer: Buffer.from(PNG_1X1, 'base64') },
      { name: 'note.pdf', mimeType: 'application/pdf', buffer: tinyPdf('The secret word is marmalade') },
    ]);
    const waiting = page.getByRole('list', { name: 'Files to send' });
    await waiting.getByText('pixel.png').waitFor();
    await waiting.getByText('note.pdf').waitFor();

    await page.getByLabel('Message').fill('What are these?');
    await page.getByRole('button', { name: 'Send' }).click();
    const assistant = page.locator('article[data-role="assistant"]');
    await assistant.and(page.locator('[data-status="complete"]')).waitFor();
    expect(await assistant.textContent()).toContain('2 attachments: pixel.png, note.pdf');
    const sent = page.locator('article[data-role="user"]').getByRole('list', { name: 'Attachments' });
    expect(await sent.getByRole('listitem').allTextContents()).toEqual(['📎 pixel.png', '📎 note.pdf']);
    expect(await waiting.count()).toBe(0);
    await screenshot(page, 'attachments');

    // After a reload the history lists them too (from chat.history).
    await page.reload();
    await page.locator('article[data-role="user"]').getByText('📎 note.pdf').waitFor();
    await context.close();
  });

  it("shows the server's error for a file whose bytes are not what it says", async () => {
    const { context, page } = await desktopPage(browser, server.url);
    await page.goto('/');
    await page.getByLabel('Email').fill(uniqueEmail('web-attach-bad'));
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByLabel('Message').waitFor();
    const chooser = page.waitForEvent('filechooser');
    await page.getByRole('button', { name: 'Attach' }).click();
    await (await chooser).setFiles([
      { name: 'cat.png', mimeType: 'image/png', buffer: Buffer.from(base64('meow'), 'base64') },
    ]);
    await page.getByLabel('Message').fill('look');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('not a PNG image');
    await context.close();
  });
});
