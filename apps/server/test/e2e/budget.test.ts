import { fileURLToPath } from 'node:url';
import { testDatabases } from '@hearth/core/testing';
import { createHearthClient, type HearthClient } from '@hearth/sdk';
import { type LlmTestServer, startLlmTestServer } from '@hearth/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, startBackend } from '../support/agent-backends';
import { expectHearthError } from '../support/expect-error';
import { collectRun } from '../support/run-events';
import { type Started, startProcess, stop } from '../support/server-process';
import {
  PASSWORD,
  startTestServer,
  TEST_JWT_SECRET,
  type TestServer,
  testLlmClient,
  uniqueEmail,
} from '../support/test-server';

const PRICES_FILE = fileURLToPath(new URL('../fixtures/model-prices.json', import.meta.url));
const ANSWER = { text: 'fine thanks', usage: { promptTokens: 300, completionTokens: 2 } };

type Setup = { name: string; location: ReturnType<typeof testDatabases>[number]['location']; twoProcesses: boolean };
const setups: Setup[] = testDatabases().flatMap((db) => [
  { name: db.name, location: db.location, twoProcesses: false },
  ...(db.name === 'postgres'
    ? [{ name: 'postgres, two server processes', location: db.location, twoProcesses: true }]
    : []),
]);

describe.each(setups)('budgets are never overspent ($name)', ({ location, twoProcesses }) => {
  let llm: LlmTestServer;
  let server: TestServer;
  let second: Started | undefined;

  beforeAll(async () => {
    llm = await startLlmTestServer({ respond: () => ({ ...ANSWER, ttftMs: 20 }) });
    // Answers are held back below until every send has reserved: long enough for a loaded machine.
    const llmClient = testLlmClient(llm, { connectTimeoutMs: 60_000, idleTimeoutMs: 10_000 });
    server = await startTestServer({ store: location, llm: llmClient, env: { LLM_MAX_OUTPUT_TOKENS: '50' } });
    if (twoProcesses && location.kind === 'postgres') {
      second = await startProcess({
        DATABASE_URL: location.url,
        DATABASE_POOL_SIZE: '4',
        JWT_SECRET: TEST_JWT_SECRET,
        LLM_BASE_URL: llm.url,
        LLM_API_KEY: 'k',
        LLM_MODEL: 'test-model',
        LLM_MAX_OUTPUT_TOKENS: '50',
        LLM_CONNECT_TIMEOUT_MS: '60000',
        MODEL_PRICES_FILE: PRICES_FILE,
        HEARTH_DATA_DIR: server.hearth.config.dataDir,
        LOGIN_MAX_ATTEMPTS_PER_IP: '100000',
      });
    }
  }, 60_000);
  afterAll(async () => {
    if (second) await stop(second.child);
    await server?.close();
    await llm?.close();
  });

  it('runs exactly the sends the budget covers when 100 arrive at once', async () => {
    const client = server.client();
    await client.auth.register.mutate({ email: uniqueEmail('budget'), password: PASSWORD });
    const clients: HearthClient[] = [client];
    // Same account, same session, the other server process: sends alternate between the two.
    if (second) clients.push(createHearthClient({ url: second.url, session: client.session }));

    // Calibrate: what one step reserves (the same prompt for every send below) and what it costs.
    llm.setResponder(() => ({ ...ANSWER, ttftMs: 400 }));
    const probe = await client.chat.send.mutate({
      text: 'how are you?',
      conversationId: (await client.chat.createConversation.mutate({})).id,
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const reservation = Math.round((await client.user.budget.query()).reservedUsd * 1_000_000);
    await collectRun(client, probe.runId);
    const spentBefore = Math.round((await client.user.budget.query()).spentUsd * 1_000_000);
    expect(reservation).toBeGreaterThan(0);

    const K = 7;
    const limitMicros = spentBefore + K * reservation;
    await client.user.setBudget.mutate({ limitUsd: limitMicros / 1_000_000, period: 'month' });
    const conversations = [];
    for (let i = 0; i < 100; i += 1) conversations.push((await client.chat.createConversation.mutate({})).id);

    llm.reset();
    // Every answer is held back until each run has reserved (it calls the model) or been refused, so
    // no settlement frees budget while another run is still reserving, however slow the machine is.
    let release = () => {};
    const allReserved = new Promise<void>((resolve) => {
      release = resolve;
    });
    llm.setResponder(async () => {
      await allReserved;
      return { ...ANSWER };
    });
    const sends = await Promise.all(
      conversations.map(async (conversationId, i) => {
        const sender = clients[i % clients.length] ?? client;
        const sent = await sender.chat.send.mutate({ text: 'how are you?', conversationId });
        return { sender, sent };
      }),
    );
    let ended = 0;
    const outcomesLater = Promise.all(
      sends.map(async ({ sender, sent }) => {
        const outcome = await collectRun(sender, sent.runId, { timeoutMs: 90_000 });
        ended += 1;
        return outcome;
      }),
    );
    const deadline = Date.now() + 45_000;
    while (llm.callCount + ended < sends.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    release();
    const outcomes = await outcomesLater;
    const completed = outcomes.filter((o) => o.terminal?.type === 'run.completed');
    const refused = outcomes.filter((o) => o.terminal?.type === 'run.failed');

    expect(completed).toHaveLength(K);
    if (second) {
      // A run followed through the process that is not running it still reports its end.
      const index = outcomes.findIndex((o, i) => i % 2 === 1 && o.terminal?.type === 'run.completed');
      const remote = sends[index];
      if (remote) {
        const seen = await collectRun(client, remote.sent.runId);
        expect(seen.terminal).toEqual(outcomes[index]?.terminal);
      }
    }
    expect(refused).toHaveLength(100 - K);
    for (const outcome of refused) {
      expect(outcome.terminal).toMatchObject({ type: 'run.failed', appCode: 'BUDGET_EXCEEDED', partial: null });
      expect(outcome.events.some((e) => e.data.type === 'text.delta' || e.data.type === 'usage')).toBe(false);
    }
    expect(llm.callCount).toBe(K);

    const budget = await client.user.budget.query();
    expect(budget.reservedUsd).toBe(0);
    expect(Math.round(budget.spentUsd * 1_000_000)).toBeLessThanOrEqual(limitMicros);
    const usage = await client.user.usage.query({});
    expect(usage.totals.requests).toBe(K + 1);
    expect(Math.round(usage.totals.costUsd * 1_000_000)).toBe(Math.round(budget.spentUsd * 1_000_000));
  }, 150_000);

  it.runIf(twoProcesses)('reports the end of a run live in the other process', async () => {
    const client = server.client();
    await client.auth.register.mutate({ email: uniqueEmail('remote'), password: PASSWORD });
    const other = createHearthClient({ url: second?.url ?? '', session: client.session });
    llm.setResponder(() => ({ ...ANSWER, ttftMs: 800 }));
    const sent = await other.chat.send.mutate({ text: 'from the other side' });
    const seen = await collectRun(client, sent.runId);
    expect(seen.terminal).toMatchObject({ type: 'run.completed', message: { content: 'fine thanks' } });
  });
});

describe('budgets are never overspent with AGENT_BACKEND=letta', () => {
  let llm: LlmTestServer;
  let backend: Backend;
  let server: TestServer;

  beforeAll(async () => {
    llm = await startLlmTestServer({ respond: () => ({ ...ANSWER, ttftMs: 20 }) });
    backend = await startBackend('letta', llm, { timeoutMs: 10_000 });
    server = await startTestServer({
      store: { kind: 'pglite-memory' },
      env: { ...backend.server.env, LLM_MAX_OUTPUT_TOKENS: '50', AGENT_MAX_STEPS: '2' },
    });
  });
  afterEach(() => backend.assertClean());
  afterAll(async () => {
    await server?.close();
    await backend?.close();
    await llm?.close();
  });

  it('reserves each send before it goes to Letta, so 30 sends at once stay within the limit', async () => {
    const client = server.client();
    await client.auth.register.mutate({ email: uniqueEmail('letta-budget'), password: PASSWORD });
    // Calibrate: what one send reserves (two steps of the agent's context and output) and what it costs.
    llm.setResponder(() => ({ ...ANSWER, ttftMs: 400 }));
    const probe = await client.chat.send.mutate({ text: 'how are you?' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const reservation = Math.round((await client.user.budget.query()).reservedUsd * 1_000_000);
    await collectRun(client, probe.runId);
    const spentBefore = Math.round((await client.user.budget.query()).spentUsd * 1_000_000);
    expect(reservation).toBeGreaterThan(0);

    const limitMicros = spentBefore + 3 * reservation;
    await client.user.setBudget.mutate({ limitUsd: limitMicros / 1_000_000, period: 'month' });
    const conversations = [];
    for (let i = 0; i < 30; i += 1) conversations.push((await client.chat.createConversation.mutate({})).id);
    llm.reset();
    llm.setResponder(() => ({ ...ANSWER, ttftMs: 20 }));
    const sends = await Promise.all(
      conversations.map((conversationId) => client.chat.send.mutate({ text: 'how are you?', conversationId })),
    );
    const outcomes = await Promise.all(sends.map((sent) => collectRun(client, sent.runId, { timeoutMs: 30_000 })));
    const completed = outcomes.filter((o) => o.terminal?.type === 'run.completed');
    const refused = outcomes.filter((o) => o.terminal?.type === 'run.failed');

    expect(completed.length).toBeGreaterThanOrEqual(3);
    expect(completed.length + refused.length).toBe(30);
    for (const outcome of refused) {
      expect(outcome.terminal).toMatchObject({ type: 'run.failed', appCode: 'BUDGET_EXCEEDED', partial: null });
      expect(outcome.events.some((e) => e.data.type === 'text.delta' || e.data.type === 'usage')).toBe(false);
    }
    // A refused send never reached Letta, nor its model.
    expect(backend.letta?.sends).toHaveLength(completed.length + 1);
    expect(llm.callCount).toBe(completed.length);
    const budget = await client.user.budget.query();
    expect(budget.reservedUsd).toBe(0);
    expect(Math.round(budget.spentUsd * 1_000_000)).toBeLessThanOrEqual(limitMicros);
    const usage = await client.user.usage.query({});
    expect(usage.totals.requests).toBe(completed.length + 1);
  }, 60_000);
});

describe('budget API', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      store: { kind: 'pglite-memory' },
      env: { BUDGET_CEILING_USD: '50', DEFAULT_BUDGET_USD: '5' },
    });
  });
  afterAll(() => server?.close());

  it("starts users on the operator's limit, lets them lower it only, and reports health", async () => {
    const client = server.client();
    await client.auth.register.mutate({ email: uniqueEmail('api'), password: PASSWORD });
    expect(await client.user.budget.query()).toMatchObject({
      limitUsd: 5,
      ceilingUsd: 5,
      period: 'month',
      spentUsd: 0,
      reservedUsd: 0,
      remainingUsd: 5,
    });
    const lowered = await client.user.setBudget.mutate({ limitUsd: 1.25, period: 'month' });
    expect(lowered).toMatchObject({ limitUsd: 1.25, ceilingUsd: 5, period: 'month', remainingUsd: 1.25 });
    expect(lowered.resetsAt?.getTime()).toBeGreaterThan(lowered.periodStart.getTime());
    await expectHearthError(client.user.setBudget.mutate({ limitUsd: 5.5, period: 'month' }), 'BUDGET_CEILING');
    await expectHearthError(client.user.setBudget.mutate({ limitUsd: null, period: 'month' }), 'BUDGET_CEILING');
    const period = await expectHearthError(
      client.user.setBudget.mutate({ limitUsd: 1, period: 'day' }),
      'BUDGET_CEILING',
    );
    expect(period.data.fieldErrors?.period).toBeDefined();
    const bad = await expectHearthError(client.user.setBudget.mutate({ limitUsd: -1, period: 'day' }), 'INVALID_INPUT');
    expect(bad.data.fieldErrors?.limitUsd).toBeDefined();
    expect((await client.user.budget.query()).limitUsd).toBe(1.25);

    const health = await client.user.health.query();
    expect(health).toMatchObject({
      status: 'ok',
      budget: { exceeded: false, limitUsd: 1.25 },
      agent: { backend: 'builtin' },
      llm: { model: 'hearth/offline', reachable: null, demo: true },
      activeRuns: 0,
    });
  });
});
