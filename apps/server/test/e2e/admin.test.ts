import { appRouter } from '@hearth/api';
import { testDatabases } from '@hearth/core/testing';
import type { HearthClient } from '@hearth/sdk';
import { type LlmTestServer, startLlmTestServer } from '@hearth/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectHearthError } from '../support/expect-error';
import { collectRun } from '../support/run-events';
import {
  PASSWORD,
  signedInClient,
  startTestServer,
  type TestServer,
  testLlmClient,
  uniqueEmail,
} from '../support/test-server';

const ANSWER = { text: 'fine thanks', usage: { promptTokens: 300, completionTokens: 2 } };

// At run time the router holds its procedures flat, by their dotted path.
const procedures = appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>;
const adminPaths = Object.keys(procedures).filter((path) => path.startsWith('admin.'));

describe.each(testDatabases())('operators ($name)', ({ location }) => {
  let llm: LlmTestServer;
  let server: TestServer;
  let admin: HearthClient;
  const adminEmail = uniqueEmail('first-admin');

  beforeAll(async () => {
    llm = await startLlmTestServer({ respond: () => ANSWER });
    server = await startTestServer({
      store: location,
      llm: testLlmClient(llm, { connectTimeoutMs: 5_000, idleTimeoutMs: 10_000 }),
      env: { DEFAULT_BUDGET_USD: '5', BUDGET_CEILING_USD: '100', ADMIN_EMAILS: ` ${adminEmail.toUpperCase()} ,x@y.z` },
    });
    admin = server.client();
    await admin.auth.register.mutate({ email: adminEmail, password: PASSWORD });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await llm?.close();
  });

  const userOf = async (client: HearthClient) => (await client.user.profile.query()).id;

  it('makes an account named in ADMIN_EMAILS an admin when it registers or logs in', async () => {
    expect((await admin.user.profile.query()).role).toBe('admin');
    const plain = await signedInClient(server, 'plain');
    expect((await plain.user.profile.query()).role).toBe('user');
  });

  it('refuses every admin procedure to a plain user, whatever the input', async () => {
    expect(adminPaths.length).toBeGreaterThanOrEqual(7);
    const plain = await signedInClient(server, 'plain');
    const token = plain.session?.accessToken ?? '';
    const victim = await userOf(plain);
    for (const path of adminPaths) {
      const kind = procedures[path]?._def.type;
      // A valid input for any of them: the role is checked before it is read.
      const input = JSON.stringify({ json: { userId: victim, limitUsd: 1000, period: 'month', groupBy: 'user' } });
      const url = new URL(`${server.url}/trpc/${path}`);
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      if (kind === 'query') url.searchParams.set('input', input);
      const response = await fetch(url, kind === 'query' ? { headers } : { method: 'POST', headers, body: input });
      const body = (await response.json()) as { error?: { json: { data: { appCode: string } } } };
      expect([path, response.status, body.error?.json.data.appCode]).toEqual([path, 403, 'FORBIDDEN']);
    }
    // And through the SDK, signed out: not even the role is known.
    await expectHearthError(server.client().admin.health.query(), 'UNAUTHENTICATED');
    // Nothing was done to the user by any of those calls.
    expect(await plain.user.budget.query()).toMatchObject({ limitUsd: 5, period: 'month' });
  });

  it("shows every user's spend, lowers a limit while the user chats, and no user can raise their own", async () => {
    const user = await signedInClient(server, 'chatty');
    const userId = await userOf(user);
    const first = await user.chat.send.mutate({ text: 'how are you?' });
    expect((await collectRun(user, first.runId)).terminal?.type).toBe('run.completed');

    const listed = await admin.admin.users.query({ query: 'chatty', limit: 100 });
    const row = listed.items.find((item) => item.id === userId);
    expect(row).toMatchObject({
      role: 'user',
      status: 'active',
      budget: { limitUsd: 5, operatorLimitUsd: 5, operatorSet: false, ownLimitUsd: null, period: 'month' },
    });
    const spent = row?.budget.spentUsd ?? 0;
    expect(spent).toBeGreaterThan(0);
    expect(row?.lastActiveAt).toBeInstanceOf(Date);

    // The user may lower their cap, never raise it past the operator's limit or drop it.
    expect(await user.user.setBudget.mutate({ limitUsd: 4, period: 'month' })).toMatchObject({
      limitUsd: 4,
      ceilingUsd: 5,
    });
    const raised = await expectHearthError(
      user.user.setBudget.mutate({ limitUsd: 5.01, period: 'month' }),
      'BUDGET_CEILING',
    );
    expect(raised.data.fieldErrors?.limitUsd).toBeDefined();
    await expectHearthError(user.user.setBudget.mutate({ limitUsd: null, period: 'month' }), 'BUDGET_CEILING');
    await expectHearthError(user.user.setBudget.mutate({ limitUsd: 1, period: 'day' }), 'BUDGET_CEILING');

    // While an answer is on its way, the operator lowers the limit to what was already spent.
    llm.setResponder(() => ({ ...ANSWER, ttftMs: 500 }));
    const second = await user.chat.send.mutate({ text: 'and now?' });
    const lowered = await admin.admin.setBudget.mutate({ userId, limitUsd: spent, period: 'month' });
    expect(lowered).toMatchObject({ limitUsd: spent, ceilingUsd: spent, period: 'month' });
    await collectRun(user, second.runId);
    llm.setResponder(() => ANSWER);
    const third = await user.chat.send.mutate({ text: 'one more?' });
    const refused = await collectRun(user, third.runId);
    expect(refused.terminal).toMatchObject({ type: 'run.failed', appCode: 'BUDGET_EXCEEDED' });
    expect(await user.user.budget.query()).toMatchObject({ limitUsd: spent, ceilingUsd: spent });
    await expectHearthError(user.user.setBudget.mutate({ limitUsd: spent + 1, period: 'month' }), 'BUDGET_CEILING');

    // The ceiling bounds what an admin sets; an admin may change the period.
    await expectHearthError(admin.admin.setBudget.mutate({ userId, limitUsd: 101, period: 'month' }), 'BUDGET_CEILING');
    await expectHearthError(
      admin.admin.setBudget.mutate({ userId, limitUsd: null, period: 'month' }),
      'BUDGET_CEILING',
    );
    expect(await admin.admin.setBudget.mutate({ userId, limitUsd: 20, period: 'day' })).toMatchObject({
      limitUsd: 20,
      period: 'day',
    });
    const details = await admin.admin.user.query({ userId });
    expect(details).toMatchObject({
      email: expect.stringContaining('chatty'),
      budget: { limitUsd: 20, operatorSet: true, ownLimitUsd: null, period: 'day' },
      counts: { activeRuns: 0, liveSessions: 1, apiKeys: 0 },
    });
    expect(details.counts.messages).toBeGreaterThanOrEqual(4);
    await expectHearthError(admin.admin.user.query({ userId: crypto.randomUUID() }), 'NOT_FOUND');
  }, 60_000);

  it('disables an account at once: sessions, refresh tokens and API keys refused, runs cancelled', async () => {
    const user = server.client();
    const email = uniqueEmail('locked');
    await user.auth.register.mutate({ email, password: PASSWORD });
    const userId = await userOf(user);
    const key = (await user.auth.createApiKey.mutate({ name: 'bot' })).key;
    const keyed = server.client({ apiKey: key });
    expect((await keyed.user.profile.query()).id).toBe(userId);
    const refreshToken = user.session?.refreshToken ?? '';

    llm.setResponder(() => ({ ...ANSWER, ttftMs: 5_000 }));
    const sent = await user.chat.send.mutate({ text: 'a long answer, please' });
    const following = collectRun(user, sent.runId, { timeoutMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const disabled = await admin.admin.disableUser.mutate({ userId });
    expect(disabled).toMatchObject({ userId, status: 'disabled', cancelledRuns: 1 });
    expect((await following).terminal?.type).toBe('run.cancelled');
    llm.setResponder(() => ANSWER);

    const refusal = await expectHearthError(user.user.profile.query(), 'FORBIDDEN');
    expect(refusal.message).toMatch(/disabled/);
    await expectHearthError(keyed.user.profile.query(), 'FORBIDDEN');
    await expectHearthError(user.auth.refresh.mutate({ refreshToken }), 'FORBIDDEN');
    await expectHearthError(server.client().auth.login.mutate({ email, password: PASSWORD }), 'FORBIDDEN');
    const row = (await admin.admin.users.query({ query: email })).items[0];
    expect(row).toMatchObject({ id: userId, status: 'disabled' });
    await expectHearthError(admin.admin.disableUser.mutate({ userId: await userOf(admin) }), 'FORBIDDEN');

    expect(await admin.admin.enableUser.mutate({ userId })).toEqual({ userId, status: 'active' });
    expect((await keyed.user.profile.query()).id).toBe(userId);
    const back = server.client();
    await back.auth.login.mutate({ email, password: PASSWORD });
    expect((await back.user.profile.query()).id).toBe(userId);
  }, 30_000);

  it('pages and searches users, reports usage by user, model and day, and the health of the server', async () => {
    const tag = `page${Date.now().toString(36)}`;
    for (let i = 0; i < 3; i += 1) await signedInClient(server, tag);
    const firstPage = await admin.admin.users.query({ query: tag, limit: 2 });
    expect(firstPage.items).toHaveLength(2);
    expect(firstPage.nextCursor).not.toBeNull();
    const secondPage = await admin.admin.users.query({ query: tag, limit: 2, cursor: firstPage.nextCursor ?? '' });
    expect(secondPage.items).toHaveLength(1);
    expect(secondPage.nextCursor).toBeNull();
    const ids = [...firstPage.items, ...secondPage.items].map((item) => item.id);
    expect(new Set(ids).size).toBe(3);
    // A search is text, not a pattern.
    expect((await admin.admin.users.query({ query: '%' })).items).toEqual([]);

    const byUser = await admin.admin.usage.query({ groupBy: 'user' });
    expect(byUser.totals.requests).toBeGreaterThan(0);
    expect(byUser.buckets[0]).toMatchObject({ email: expect.stringContaining('@example.com') });
    const sum = byUser.buckets.reduce((total, bucket) => total + bucket.costUsd, 0);
    expect(sum).toBeCloseTo(byUser.totals.costUsd, 6);
    const byModel = await admin.admin.usage.query({ groupBy: 'model' });
    expect(byModel.buckets.map((bucket) => bucket.key)).toContain('test-model');
    const byDay = await admin.admin.usage.query({ groupBy: 'day', from: new Date(Date.now() - 86_400_000) });
    expect(byDay.buckets[0]?.key).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const none = await admin.admin.usage.query({ groupBy: 'day', to: new Date('2000-01-01T00:00:00Z') });
    expect(none).toEqual({ totals: { requests: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 }, buckets: [] });

    const health = await admin.admin.health.query();
    expect(health.status).toBe('ok');
    if (location.kind === 'postgres') {
      // The database is shared with every other suite running now: their runs and reservations count too.
      expect(health.activeRuns).toBeGreaterThanOrEqual(0);
      expect(health.reservations.count).toBeGreaterThanOrEqual(0);
    } else {
      expect(health).toMatchObject({ activeRuns: 0, reservations: { count: 0, amountUsd: 0 } });
    }
    expect(health.checks).toContainEqual(expect.objectContaining({ name: 'store', ok: true }));
    expect(health.users.admins).toBeGreaterThanOrEqual(1);
  });
});
