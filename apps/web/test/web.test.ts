import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OfflineModel } from '@hearth/core';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startTestServer, type TestServer, uniqueEmail } from '../../server/test/support/test-server';
import { desktopPage, launchBrowser, screenshot, WEB_APP_DIR } from './support/browser';
import {
  firstDeltaArrival,
  pageClockOffset,
  recordFirstDeltaArrival,
  startPaintSampler,
  stopPaintSampler,
} from './support/paints';
import { epochNow, TimedModel } from './support/timed-model';

const README_SCREENSHOT = fileURLToPath(new URL('../../../docs/images/web-chat.png', import.meta.url));

async function signUp(page: Page, email: string): Promise<void> {
  await page.goto('/');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByRole('button', { name: 'Log out' }).waitFor();
  await page.getByLabel('Message').waitFor();
}

/** The chat's history is on screen (after a sign-in or a reload). */
const historyLoaded = (page: Page) => page.locator('[role="log"][aria-busy="false"]').waitFor();

const answers = (page: Page) => page.locator('article[data-role="assistant"]');

/** The answer to the user's message `text`: the assistant message right after it. */
const answerTo = (page: Page, text: string) =>
  page
    .locator('article[data-role="user"]')
    .filter({ has: page.getByText(text, { exact: true }) })
    .last()
    .locator('xpath=following-sibling::article[@data-role="assistant"][1]');

/** Sends `text` and waits for its answer to be complete on screen. */
async function chat(page: Page, text: string): Promise<Locator> {
  await historyLoaded(page);
  await page.getByLabel('Message').fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
  const answer = answerTo(page, text);
  await answer.and(page.locator('[data-status="complete"]')).waitFor();
  return answer;
}

describe('the web app in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const model = new TimedModel(new OfflineModel(15), 300);
  const email = uniqueEmail('web');

  beforeAll(async () => {
    browser = await launchBrowser();
    server = await startTestServer({
      store: { kind: 'pglite-memory' },
      webAppDir: WEB_APP_DIR,
      llm: model,
      // As deployed: deltas batched over 50 ms after the first, which goes out at once.
      env: { STREAM_BATCH_MS: '50' },
    });
    ({ context, page } = await desktopPage(browser, server.url));
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('signs up, and shows the memory and Log out beside the chat', async () => {
    await signUp(page, email);
    const memory = page.getByRole('region', { name: 'Memory' });
    const message = page.getByLabel('Message');
    const logOut = page.getByRole('button', { name: 'Log out' });
    for (const element of [memory, message, logOut]) expect(await element.isVisible()).toBe(true);
    const [memoryBox, messageBox] = [await memory.boundingBox(), await message.boundingBox()];
    expect(memoryBox && messageBox && memoryBox.x >= messageBox.x + messageBox.width).toBe(true);
    expect(memoryBox && memoryBox.x + memoryBox.width <= 1280).toBe(true);
  });

  it('streams an answer: it grows over several paints before it completes', async () => {
    await historyLoaded(page);
    const before = await answers(page).count();
    const firstDeltas = model.firstDeltas.length;
    await recordFirstDeltaArrival(page);
    const offset = await pageClockOffset(page, epochNow);
    await startPaintSampler(page, before);
    const text = 'Tell me something about streaming answers, word by word, so that I can watch them arrive.';
    await page.getByLabel('Message').fill(text);
    await page.getByRole('button', { name: 'Send' }).click();
    // The user's message is on screen at once, before any answer.
    await page.getByRole('log').getByText(text, { exact: true }).waitFor({ timeout: 2_000 });
    await answers(page).nth(before).and(page.locator('[data-status="complete"]')).waitFor();
    const paints = await stopPaintSampler(page);
    const arrived = await firstDeltaArrival(page);

    const partial = paints.filter((paint) => paint.text.length > 0 && paint.status !== 'complete');
    expect(new Set(partial.map((paint) => paint.text)).size).toBeGreaterThanOrEqual(3);
    const final = paints.at(-1);
    expect(final?.status).toBe('complete');
    expect(final?.text).toContain("I'm Hearth's offline demo model");
    for (const paint of partial) expect(final?.text.startsWith(paint.text.replace(/\s+$/, ''))).toBe(true);

    const delta = model.firstDeltas[firstDeltas];
    const firstPaint = paints.find((paint) => paint.text.trim().length > 0);
    expect(delta && firstPaint).toBeTruthy();
    if (delta && firstPaint) {
      const ms = firstPaint.at - offset - delta.at;
      const network = arrived === null ? 'n/a' : `${(arrived - offset - delta.at).toFixed(1)} ms`;
      // Reported, not asserted: a shared CI machine's timing is no verdict (target: 50 ms or less).
      console.log(
        `web: first delta to paint ${ms.toFixed(1)} ms (target ≤ 50 ms; in the page after ${network}; clocks ${offset.toFixed(1)} ms apart); ${partial.length} partial paints`,
      );
    }
  });

  it('shows in the memory panel what the agent remembered, and when', async () => {
    const answer = await chat(page, 'my name is Ada');
    expect(await answer.textContent()).toContain('Ada');
    const human = page.getByRole('region', { name: 'Memory' }).locator('article[data-label="human"]');
    await human.getByText('Name: Ada').waitFor();
    await human.getByText('changed by the agent').waitFor();
    expect(await human.locator('time').textContent()).toMatch(/Updated/);
    await screenshot(page, 'chat-and-memory');
    // The README's picture, renewed on request only, so a test run leaves the work tree as it was.
    if (process.env.UPDATE_README_SCREENSHOT) {
      mkdirSync(dirname(README_SCREENSHOT), { recursive: true });
      copyFileSync(await screenshot(page, 'web-chat'), README_SCREENSHOT);
    }
  });

  it('edits a memory block, and the edit is kept', async () => {
    const memory = page.getByRole('region', { name: 'Memory' });
    await memory.getByRole('button', { name: 'Edit human' }).click();
    await memory.getByLabel('human memory').fill('Name: Ada\nLikes: short answers');
    await memory.getByRole('button', { name: 'Save' }).click();
    const human = memory.locator('article[data-label="human"]');
    await human.getByText('Likes: short answers').waitFor();
    await memory.locator('article[data-label="human"][data-updated-by="user"]').getByText('by you').waitFor();
    await page.reload();
    await memory.locator('article[data-label="human"]').getByText('Likes: short answers').waitFor();
  });

  it('renders Markdown in answers, and raw HTML only as text', async () => {
    // The offline model quotes the message back, so the answer carries this Markdown and HTML.
    const answer = await chat(
      page,
      'Some **bold** and `code`, <img src=x onerror="window.__xss=1"> [a link](javascript:window.__xss=2)',
    );
    expect(await answer.locator('strong').textContent()).toBe('bold');
    expect(await answer.locator('code').textContent()).toBe('code');
    expect(await answer.locator('img').count()).toBe(0);
    expect(await answer.textContent()).toContain('<img src=x onerror=');
    const hrefs = await answer.locator('a').evaluateAll((links) => links.map((link) => link.getAttribute('href')));
    expect(hrefs.filter((href) => href?.trim().toLowerCase().startsWith('javascript:'))).toEqual([]);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
  });

  it('charts the requests per day and per model', async () => {
    await page.getByRole('link', { name: 'Usage' }).click();
    await page.getByRole('heading', { name: 'Usage' }).waitFor();
    const perDay = page.getByRole('img', { name: 'Requests per day' });
    const perModel = page.getByRole('img', { name: 'Requests per model' });
    await perDay.waitFor();
    await perModel.locator('[data-bar="hearth/offline"]').waitFor();
    const requests = Number(await page.getByTestId('total-requests').textContent());
    // Three sends; remembering a name is two model steps.
    expect(requests).toBeGreaterThanOrEqual(4);
    const dayValues = await perDay
      .locator('[data-bar]')
      .evaluateAll((bars) => bars.map((bar) => bar.getAttribute('data-value')));
    expect(dayValues.map(Number).reduce((sum, value) => sum + value, 0)).toBe(requests);
    expect(await perModel.locator('[data-bar="hearth/offline"]').getAttribute('data-value')).toBe(String(requests));
    await screenshot(page, 'usage');

    const budget = page.getByRole('region', { name: 'Budget' });
    await budget.getByLabel('Limit (USD, empty for none)').fill('5');
    await budget.getByLabel('Period').selectOption('day');
    await budget.getByRole('button', { name: 'Save budget' }).click();
    await budget.getByText('Saved.').waitFor();
    await budget.getByText(/of \$5\.00, \$5\.00 left/).waitFor();
    expect(page.url()).toMatch(/\/usage$/);
    await page.reload();
    await page.getByRole('img', { name: 'Requests per day' }).waitFor();
  });

  it('logs out, and on logging in opens the latest conversation with its messages', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    expect(await page.evaluate(() => JSON.stringify(window.localStorage))).not.toMatch(/accessToken|refreshToken/);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('button', { name: 'Log out' }).waitFor();
    await page.getByRole('link', { name: 'Hearth' }).click();
    await page.getByRole('log').getByText('my name is Ada', { exact: true }).waitFor();
    expect(await answers(page).count()).toBeGreaterThanOrEqual(2);
    await context.close();
  });
});
