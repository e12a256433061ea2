import { type FakeLiteLlm, type LlmTestServer, startFakeLiteLlm, startLlmTestServer } from '@hearth/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatTurn } from '../support/run-events';
import { PASSWORD, startTestServer, type TestServer, uniqueEmail } from '../support/test-server';

const ADMIN = uniqueEmail('proxy-admin');

describe('BILLING=litellm', () => {
  let llm: LlmTestServer;
  let proxy: FakeLiteLlm;
  let server: TestServer;

  beforeAll(async () => {
    llm = await startLlmTestServer({ respond: () => ({ text: 'Answered through the proxy.' }) });
    proxy = await startFakeLiteLlm({ masterKey: 'sk-master', upstreamUrl: llm.url, costPerCallUsd: 0.5 });
    server = await startTestServer({
      store: { kind: 'pglite-memory' },
      env: {
        BILLING: 'litellm',
        LITELLM_URL: proxy.url,
        LITELLM_MASTER_KEY: 'sk-master',
        LLM_MODEL: 'test-model',
        DEFAULT_BUDGET_USD: '10',
        ADMIN_EMAILS: ADMIN,
      },
    });
  });
  afterAll(async () => {
    await server?.close();
    await proxy?.close();
    await llm?.close();
  });

  it('provisions each user with a budget and a key of their own, and sends their traffic with it', async () => {
    const client = server.client();
    const { user } = await client.auth.register.mutate({ email: uniqueEmail('proxy'), password: PASSWORD });
    const turn = await chatTurn(client, 'hello');
    expect(turn.text).toBe('Answered through the proxy.');

    const provisioned = proxy.users.get(user.id);
    expect(provisioned).toMatchObject({ user_email: user.email, max_budget: 10, budget_duration: '1mo' });
    const key = provisioned?.keys[0] ?? '';
    expect(key).toMatch(/^sk-/);
    const completion = proxy.calls.find((call) => call.path === '/v1/chat/completions');
    expect(completion?.authorization).toBe(`Bearer ${key}`);
    expect(proxy.calls.filter((call) => call.path === '/user/new')).toHaveLength(1);

    // The key stays on the server: no answer the client gets carries it.
    const seen = JSON.stringify([
      await client.user.profile.query(),
      await client.user.health.query(),
      await client.user.budget.query(),
      await client.agent.status.query(),
      turn.events,
    ]);
    expect(seen).not.toContain(key);
  });

  it('pushes budget changes to the proxy and maps its budget_exceeded to BUDGET_EXCEEDED', async () => {
    const client = server.client();
    const { user } = await client.auth.register.mutate({ email: uniqueEmail('proxy'), password: PASSWORD });
    // New users start on the operator's limit (DEFAULT_BUDGET_USD), pushed when they are provisioned.
    await client.user.setBudget.mutate({ limitUsd: 0.75, period: 'month' });
    expect(proxy.users.get(user.id)).toMatchObject({ max_budget: 0.75, budget_duration: '1mo' });

    expect((await chatTurn(client, 'first')).terminal?.type).toBe('run.completed');
    expect((await chatTurn(client, 'second')).terminal?.type).toBe('run.completed'); // the proxy's spend: 1.00
    const refused = await chatTurn(client, 'third');
    expect(refused.terminal).toMatchObject({ type: 'run.failed', appCode: 'BUDGET_EXCEEDED' });
    expect(JSON.stringify(refused.terminal)).not.toContain('Current cost');
    // The budget shows what the proxy counts as spent, since that is what it enforces.
    expect(await client.user.budget.query()).toMatchObject({ spentUsd: 1, remainingUsd: 0 });
    expect((await client.user.health.query()).status).toBe('blocked');
  });

  it("pushes the limit an admin sets, and the lower of it and the user's cap", async () => {
    const admin = server.client();
    await admin.auth.register.mutate({ email: ADMIN, password: PASSWORD });
    const client = server.client();
    const { user } = await client.auth.register.mutate({ email: uniqueEmail('proxy'), password: PASSWORD });
    await admin.admin.setBudget.mutate({ userId: user.id, limitUsd: 3, period: 'week' });
    expect(proxy.users.get(user.id)).toMatchObject({ max_budget: 3, budget_duration: '7d' });
    await client.user.setBudget.mutate({ limitUsd: 2, period: 'week' });
    expect(proxy.users.get(user.id)).toMatchObject({ max_budget: 2, budget_duration: '7d' });
    await admin.admin.setBudget.mutate({ userId: user.id, limitUsd: 1, period: 'week' });
    expect(proxy.users.get(user.id)).toMatchObject({ max_budget: 1 });
  });

  it("reports usage from the proxy's spend logs", async () => {
    const client = server.client();
    const { user } = await client.auth.register.mutate({ email: uniqueEmail('proxy'), password: PASSWORD });
    await chatTurn(client, 'one');
    await chatTurn(client, 'two');
    const logged = proxy.spendLogs.filter((log) => log.user === user.id);
    expect(logged).toHaveLength(2);

    const usage = await client.user.usage.query({ groupBy: 'model' });
    expect(usage.totals).toMatchObject({
      requests: 2,
      costUsd: 1,
      promptTokens: logged.reduce((sum, log) => sum + Number(log.prompt_tokens), 0),
      completionTokens: logged.reduce((sum, log) => sum + Number(log.completion_tokens), 0),
    });
    expect(usage.totals.promptTokens).toBeGreaterThan(0);
    expect(usage.buckets).toEqual([expect.objectContaining({ key: 'test-model', requests: 2, costUsd: 1 })]);
    const spendQuery = proxy.calls.findLast((call) => call.path === '/spend/logs');
    expect(spendQuery?.authorization).toBe('Bearer sk-master');

    // A window that ends before the calls holds none of them.
    expect((await client.user.usage.query({ to: new Date(Date.now() - 60 * 60 * 1000) })).totals.requests).toBe(0);
  });

  it('deletes the user and their key on the proxy when the account is deleted', async () => {
    const client = server.client();
    const { user } = await client.auth.register.mutate({ email: uniqueEmail('proxy-gone'), password: PASSWORD });
    await chatTurn(client, 'hello');
    const key = proxy.users.get(user.id)?.keys[0];
    expect(key).toMatch(/^sk-/);
    expect(await client.user.deleteAccount.mutate({ password: PASSWORD })).toEqual({ ok: true });
    expect(proxy.users.has(user.id)).toBe(false);
    expect(proxy.calls.filter((call) => call.path === '/key/delete')).toHaveLength(1);
    // The key no longer opens the proxy.
    const direct = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-model', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(direct.status).toBe(401);
  });

  it('names LiteLLM in /readyz', async () => {
    const response = await fetch(`${server.url}/readyz`);
    expect(await response.json()).toMatchObject({ status: 'ready', checks: { store: 'ok', llm: 'ok', litellm: 'ok' } });
  });
});

describe('BILLING=litellm with the proxy gone', () => {
  it("answers usage and budget from Hearth's own ledger, and /readyz says the proxy is failing", async () => {
    const llm = await startLlmTestServer({ respond: () => ({ text: 'Answered through the proxy.' }) });
    const proxy = await startFakeLiteLlm({ masterKey: 'sk-master', upstreamUrl: llm.url, costPerCallUsd: 0.5 });
    const server = await startTestServer({
      store: { kind: 'pglite-memory' },
      env: { BILLING: 'litellm', LITELLM_URL: proxy.url, LITELLM_MASTER_KEY: 'sk-master', LLM_MODEL: 'test-model' },
    });
    try {
      const client = server.client();
      await client.auth.register.mutate({ email: uniqueEmail('proxy'), password: PASSWORD });
      expect((await chatTurn(client, 'hello')).terminal?.type).toBe('run.completed');
      await proxy.close();

      const usage = await client.user.usage.query({});
      expect(usage.totals.requests).toBe(1);
      expect(usage.totals.promptTokens).toBeGreaterThan(0);
      expect((await client.user.budget.query()).spentUsd).toBeGreaterThan(0);
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ failing: expect.arrayContaining(['litellm']) });
    } finally {
      await server.close();
      await proxy.close().catch(() => {});
      await llm.close();
    }
  });
});
