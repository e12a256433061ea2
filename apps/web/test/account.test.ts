import { readFileSync } from 'node:fs';
import { OfflineModel } from '@hearth/core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startTestServer, type TestServer, uniqueEmail } from '../../server/test/support/test-server';
import { desktopPage, launchBrowser, screenshot, WEB_APP_DIR } from './support/browser';

/** Undoing the agent's memory change, exporting the account's data and deleting the account, in Chromium. */
describe('memory history and the account in the web app', () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const email = uniqueEmail('account');

  const signedIn = async () => {
    const client = server.client();
    await client.auth.login.mutate({ email, password: PASSWORD });
    return client;
  };
  const humanOnServer = async () => {
    const client = await signedIn();
    return (await client.agent.memory.query()).blocks.find((block) => block.label === 'human')?.value;
  };

  beforeAll(async () => {
    browser = await launchBrowser();
    server = await startTestServer({
      store: { kind: 'pglite-memory' },
      webAppDir: WEB_APP_DIR,
      llm: new OfflineModel(1),
    });
    ({ context, page } = await desktopPage(browser, server.url));
    await page.goto('/');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByLabel('Message').waitFor();
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
  });

  it("undoes the agent's memory change: the value from before it is back, in the panel and on the server", async () => {
    // A value of the user's own first, so the undo has something to bring back.
    const before = 'Likes: tea';
    await (await signedIn()).agent.updateMemory.mutate({ label: 'human', value: before });
    await page.reload();
    await page.locator('[role="log"][aria-busy="false"]').waitFor();
    await page.getByLabel('Message').fill('My name is Ada');
    await page.getByRole('button', { name: 'Send' }).click();
    const human = page.getByRole('region', { name: 'Memory' }).locator('article[data-label="human"]');
    await human.getByText(/Likes: tea\s+Name: Ada/).waitFor();

    await human.getByText('History', { exact: true }).click();
    const history = human.getByRole('list', { name: 'human history' });
    const agentVersion = history.locator('li[data-updated-by="agent"]').first();
    await agentVersion.getByText('Name: Ada').waitFor();
    expect(await agentVersion.textContent()).toMatch(/^Agent/);
    // Only the agent's changes can be undone.
    expect(await history.getByRole('button', { name: 'Undo this change' }).count()).toBe(
      await history.locator('li[data-updated-by="agent"]').count(),
    );
    await agentVersion.getByRole('button', { name: 'Undo this change' }).click();

    await page.locator('article[data-label="human"][data-updated-by="user"]').getByText('by you').waitFor();
    expect(await human.locator('.value').first().textContent()).toBe(before);
    // The undo is a new version, by the user, with the old value; the agent's change stays in the history.
    await history.locator('li[data-updated-by="user"]').first().waitFor();
    expect(await history.locator('li').first().getAttribute('data-updated-by')).toBe('user');
    expect(await humanOnServer()).toBe(before);
    await screenshot(page, 'memory-history-undo');
  });

  it('exports the data as a JSON file holding the conversation', async () => {
    await page.getByRole('link', { name: 'Usage' }).click();
    const account = page.getByRole('region', { name: 'Account' });
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      account.getByRole('button', { name: 'Export my data' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^hearth-export-.*\.json$/);
    const path = await download.path();
    const data = JSON.parse(readFileSync(path, 'utf8')) as {
      format: string;
      profile: { email: string };
      conversations: { messages: { role: string; content: string }[] }[];
      memory: { history: { updatedBy: string }[] };
    };
    expect(data.format).toBe('hearth.user-export/1');
    expect(data.profile.email).toBe(email);
    const messages = data.conversations.flatMap((conversation) => conversation.messages);
    expect(messages.some((message) => message.role === 'user' && message.content === 'My name is Ada')).toBe(true);
    expect(messages.some((message) => message.role === 'assistant' && message.content.includes('Ada'))).toBe(true);
    expect(data.memory.history.some((version) => version.updatedBy === 'agent')).toBe(true);
  });

  it('deletes the account with its password: a wrong one is refused, then it signs out for good', async () => {
    const account = page.getByRole('region', { name: 'Account' });
    await account.getByRole('button', { name: 'Delete account' }).click();
    const password = account.getByLabel('Password');
    await password.fill('not the password at all');
    await account.getByRole('button', { name: 'Delete account' }).click();
    await account.getByRole('button', { name: 'Yes, delete my account' }).click();
    const alert = account.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toBe('Wrong password.');
    expect(await humanOnServer()).toBeDefined();

    await password.fill(PASSWORD);
    await account.getByRole('button', { name: 'Delete account' }).click();
    await account.getByRole('button', { name: 'Yes, delete my account' }).click();
    // The sign-in screen.
    await page.getByRole('button', { name: 'Sign up' }).waitFor();
    expect(await page.getByRole('button', { name: 'Log out' }).count()).toBe(0);
    expect(new URL(page.url()).pathname).toBe('/');

    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('button', { name: 'Log out' }).count()).toBe(0);
    await expect(signedIn()).rejects.toThrow();
  });
});
