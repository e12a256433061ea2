import { testDatabases } from '@hearth/core/testing';
import type { HearthClient, RunEvent } from '@hearth/sdk';
import { type LlmTestServer, startLlmTestServer } from '@hearth/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHearth } from '../../src/compose';
import { loadConfig } from '../../src/config';
import { type Backend, startBackend } from '../support/agent-backends';
import { expectHearthError } from '../support/expect-error';
import { RestContract } from '../support/rest';
import { collectRun } from '../support/run-events';
import {
  PASSWORD,
  signedInClient,
  startTestServer,
  type TestServer,
  testLlmClient,
  uniqueEmail,
} from '../support/test-server';

const CHEAP = 'test-model';
const PRICEY = 'test-model-pricey';

/** Sends, follows the run to its end, and returns the model it ran with and its terminal event. */
async function sendAndFollow(client: HearthClient, input: { text: string; conversationId?: string; model?: string }) {
  const sent = await client.chat.send.mutate(input);
  const run = await collectRun(client, sent.runId);
  const started = run.events.map((e) => e.data).find((d) => d.type === 'run.started');
  if (started?.type !== 'run.started') throw new Error('no run.started');
  return { sent, model: started.model, terminal: run.terminal as RunEvent };
}

describe.each(testDatabases())('models on the built-in runtime ($name)', ({ location }) => {
  let llm: LlmTestServer;
  let server: TestServer;
  let rest: RestContract;

  beforeAll(async () => {
    llm = await startLlmTestServer({ respond: () => ({ text: 'fine thanks' }) });
    server = await startTestServer({
      store: location,
      llm: testLlmClient(llm),
      env: { LLM_MODELS: `${CHEAP}, ${PRICEY}` },
    });
    rest = await RestContract.load(server.url);
  });
  afterAll(async () => {
    await server?.close();
    await llm?.close();
  });

  it('lists the configured models with window, output cap, prices per million tokens and the default', async () => {
    const client = await signedInClient(server, 'models-list');
    const { models } = await client.chat.models.query();
    expect(models).toEqual([
      {
        id: CHEAP,
        contextWindow: 128_000,
        maxOutputTokens: 4_096,
        inputUsdPerMillionTokens: 1,
        outputUsdPerMillionTokens: 2,
        supportsVision: false,
        default: true,
      },
      {
        id: PRICEY,
        contextWindow: 32_000,
        maxOutputTokens: null,
        inputUsdPerMillionTokens: 100,
        outputUsdPerMillionTokens: 200,
        supportsVision: false,
        default: false,
      },
    ]);
    const token = client.session?.accessToken ?? null;
    const listed = await rest.call<{ models: unknown[] }>('GET', '/api/v1/chat/models', { token });
    expect(listed.status).toBe(200);
    expect(listed.body.models).toEqual(JSON.parse(JSON.stringify(models)));
  });

  it('answers with the send’s model, else the conversation’s, else the default', async () => {
    const client = await signedInClient(server, 'models-order');
    const plain = await client.chat.createConversation.mutate({ title: 'plain' });
    expect(plain.model).toBeNull();
    expect((await sendAndFollow(client, { text: 'hi', conversationId: plain.id })).model).toBe(CHEAP);
    expect(llm.calls.at(-1)?.model).toBe(CHEAP);

    const pricey = await client.chat.createConversation.mutate({ title: 'pricey', model: PRICEY });
    expect(pricey.model).toBe(PRICEY);
    const inConversation = await sendAndFollow(client, { text: 'hi', conversationId: pricey.id });
    expect(inConversation.model).toBe(PRICEY);
    expect(inConversation.terminal.type).toBe('run.completed');
    expect(llm.calls.at(-1)?.model).toBe(PRICEY);

    const overridden = await sendAndFollow(client, { text: 'hi', conversationId: pricey.id, model: CHEAP });
    expect(overridden.model).toBe(CHEAP);
    expect(llm.calls.at(-1)?.model).toBe(CHEAP);

    const reset = await client.chat.setConversationModel.mutate({ conversationId: pricey.id, model: null });
    expect(reset).toMatchObject({ id: pricey.id, model: null, title: 'pricey' });
    expect((await sendAndFollow(client, { text: 'hi', conversationId: pricey.id })).model).toBe(CHEAP);

    // On the built-in runtime the agent's model is the default, whatever the conversations chose.
    expect((await client.agent.status.query()).model).toBe(CHEAP);
    // The list carries each conversation's model.
    const { conversations } = await client.chat.conversations.query({});
    expect(conversations.find((c) => c.id === plain.id)?.model).toBeNull();
  });

  it('sets a conversation’s model over REST, validated against the OpenAPI document', async () => {
    const client = await signedInClient(server, 'models-rest');
    const token = client.session?.accessToken ?? null;
    const created = await rest.call<{ id: string; model: string | null }>('POST', '/api/v1/chat/conversations', {
      token,
      body: { title: 'rest', model: PRICEY },
    });
    expect(created.status).toBe(201);
    expect(created.body.model).toBe(PRICEY);
    const path = `/api/v1/chat/conversations/${created.body.id}/model`;
    const set = await rest.call<{ model: string | null }>('PUT', path, { token, body: { model: CHEAP } });
    expect(set.status).toBe(200);
    expect(set.body.model).toBe(CHEAP);
    const refused = await rest.call<{ error: { code: string; fieldErrors?: Record<string, string[]> } }>('PUT', path, {
      token,
      body: { model: 'no-such-model' },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('INVALID_INPUT');
    expect(refused.body.error.fieldErrors?.model?.[0]).toContain(CHEAP);
    const agentModel = await rest.call<{ error: { code: string } }>('PUT', '/api/v1/agent/model', {
      token,
      body: { model: PRICEY },
    });
    expect(agentModel.status).toBe(400);
    expect(agentModel.body.error.code).toBe('INVALID_INPUT');
  });

  it('refuses a model the server does not offer, and changes nothing', async () => {
    const client = await signedInClient(server, 'models-refused');
    const conversation = await client.chat.createConversation.mutate({ title: 'kept', model: PRICEY });
    const onSend = await expectHearthError(
      client.chat.send.mutate({ text: 'hi', conversationId: conversation.id, model: 'gpt-unknown' }),
      'INVALID_INPUT',
    );
    expect(onSend.data.fieldErrors?.model?.[0]).toBe(`Available: ${CHEAP}, ${PRICEY}`);
    await expectHearthError(
      client.chat.setConversationModel.mutate({ conversationId: conversation.id, model: 'gpt-unknown' }),
      'INVALID_INPUT',
    );
    await expectHearthError(client.chat.createConversation.mutate({ model: 'gpt-unknown' }), 'INVALID_INPUT');
    await expectHearthError(client.agent.setModel.mutate({ model: PRICEY }), 'INVALID_INPUT');
    const { conversations } = await client.chat.conversations.query({});
    expect(conversations.map((c) => [c.title, c.model])).toEqual([['kept', PRICEY]]);
    expect((await client.chat.history.query({ conversationId: conversation.id })).messages).toEqual([]);
    // Another user's conversation is one that does not exist.
    const other = await signedInClient(server, 'models-other');
    await expectHearthError(
      other.chat.setConversationModel.mutate({ conversationId: conversation.id, model: CHEAP }),
      'NOT_FOUND',
    );
  });

  it('reserves at the chosen model’s price: under one budget the cheap model answers, the pricey one is refused', async () => {
    const client = await signedInClient(server, 'models-budget');
    // About a hundred prompt tokens: the cheap model's first slice costs well under a tenth of a cent;
    // the pricey one's minimal answer (prompt + 16 tokens) about a cent.
    await client.user.setBudget.mutate({ limitUsd: 0.004, period: 'month' });
    const conversation = await client.chat.createConversation.mutate({ title: 'budget' });
    const callsBefore = llm.calls.length;

    const pricey = await sendAndFollow(client, { text: 'hello there', conversationId: conversation.id, model: PRICEY });
    expect(pricey.model).toBe(PRICEY);
    expect(pricey.terminal).toMatchObject({ type: 'run.failed', appCode: 'BUDGET_EXCEEDED' });
    // Refused before any model call.
    expect(llm.calls.slice(callsBefore).filter((call) => call.model === PRICEY)).toEqual([]);

    const cheap = await sendAndFollow(client, { text: 'hello there', conversationId: conversation.id, model: CHEAP });
    expect(cheap.terminal.type).toBe('run.completed');
    const budget = await client.user.budget.query();
    expect(budget.spentUsd).toBeGreaterThan(0);
    expect(budget.spentUsd).toBeLessThanOrEqual(0.004);
    const usage = await client.user.usage.query({ groupBy: 'model' });
    expect(usage.buckets.map((b) => b.key)).toEqual([CHEAP]);
  });
});

describe('models: the offline default and start-up', () => {
  it('offers hearth/offline alone, free, without a model endpoint', async () => {
    const [db] = testDatabases();
    if (!db) throw new Error('no test database');
    const server = await startTestServer({ store: db.location, env: { LLM_MODELS: `${CHEAP},${PRICEY}` } });
    try {
      const client = await signedInClient(server, 'models-offline');
      expect((await client.chat.models.query()).models).toEqual([
        {
          id: 'hearth/offline',
          contextWindow: 8_192,
          maxOutputTokens: 1_024,
          inputUsdPerMillionTokens: 0,
          outputUsdPerMillionTokens: 0,
          supportsVision: true,
          default: true,
        },
      ]);
      const conversation = await client.chat.createConversation.mutate({ model: 'hearth/offline' });
      expect((await sendAndFollow(client, { text: 'hi', conversationId: conversation.id })).model).toBe(
        'hearth/offline',
      );
      // CONVERSATION_TITLES=off (the test servers' default): no title is written.
      expect((await client.chat.conversations.query({})).conversations[0]?.title).toBeNull();
      expect((await client.user.usage.query({})).totals.requests).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('refuses to start with a model that has no price, naming it and the setting', async () => {
    const config = loadConfig({
      LOG_LEVEL: 'silent',
      LLM_BASE_URL: 'http://127.0.0.1:9/v1',
      LLM_MODELS: 'gpt-4o-mini,my-unpriced-model',
      HEARTH_DATA_DIR: '/tmp/hearth-models-unpriced',
    });
    await expect(createHearth(config, { storeLocation: { kind: 'pglite-memory' }, webAppDir: null })).rejects.toThrow(
      'Invalid setting LLM_MODELS: "my-unpriced-model" has no price; add it to a MODEL_PRICES_FILE',
    );
  });

  it('reads LLM_MODELS before LLM_MODEL, and refuses a model listed twice', () => {
    expect(loadConfig({ LLM_MODEL: 'gpt-4o', LLM_MODELS: ' gpt-4.1 , gpt-4o ,' }).LLM_MODELS).toEqual([
      'gpt-4.1',
      'gpt-4o',
    ]);
    expect(() => loadConfig({ LLM_MODELS: 'gpt-4o,gpt-4o' })).toThrow('LLM_MODELS');
  });
});

describe.each(testDatabases())('models on Letta: the agent has one ($name)', ({ location }) => {
  const DEFAULT_HANDLE = 'openai/test-model';
  const PRICEY_HANDLE = 'openai/test-model-pricey';
  let backend: Backend;
  let server: TestServer;

  beforeAll(async () => {
    backend = await startBackend('letta', 'offline');
    server = await startTestServer({
      store: location,
      env: { ...backend.server.env, LETTA_MODELS: `${DEFAULT_HANDLE},${PRICEY_HANDLE}` },
    });
  });
  afterEach(() => backend.assertClean());
  afterAll(async () => {
    await server?.close();
    await backend?.close();
  });

  it('lists the Letta handles, switches the user’s agent with agent.setModel, and runs with it', async () => {
    const client = server.client();
    await client.auth.register.mutate({ email: uniqueEmail('letta-models'), password: PASSWORD });
    const { models } = await client.chat.models.query();
    expect(models.map((m) => [m.id, m.default, m.inputUsdPerMillionTokens])).toEqual([
      [DEFAULT_HANDLE, true, 1],
      [PRICEY_HANDLE, false, 100],
    ]);
    const conversation = await client.chat.createConversation.mutate({ title: 'letta' });
    expect((await sendAndFollow(client, { text: 'hi', conversationId: conversation.id })).model).toBe(DEFAULT_HANDLE);

    const status = await client.agent.setModel.mutate({ model: PRICEY_HANDLE });
    expect(status).toMatchObject({ backend: 'letta', model: PRICEY_HANDLE });
    const agent = backend.letta?.agents.get(status.agentId);
    expect(agent?.model).toBe(PRICEY_HANDLE);
    expect((await client.agent.status.query()).model).toBe(PRICEY_HANDLE);

    const switched = await sendAndFollow(client, { text: 'hi again', conversationId: conversation.id });
    expect(switched.model).toBe(PRICEY_HANDLE);
    expect(switched.terminal.type).toBe('run.completed');
    // Naming the agent's own model is fine; naming another is refused, and nothing is stored.
    expect(
      (await sendAndFollow(client, { text: 'once more', conversationId: conversation.id, model: PRICEY_HANDLE })).model,
    ).toBe(PRICEY_HANDLE);
    const before = (await client.chat.history.query({ conversationId: conversation.id })).messages.length;
    const refused = await expectHearthError(
      client.chat.send.mutate({ text: 'nope', conversationId: conversation.id, model: DEFAULT_HANDLE }),
      'INVALID_INPUT',
    );
    expect(refused.message).toContain('agent.setModel');
    expect((await client.chat.history.query({ conversationId: conversation.id })).messages).toHaveLength(before);
    await expectHearthError(
      client.chat.setConversationModel.mutate({ conversationId: conversation.id, model: DEFAULT_HANDLE }),
      'INVALID_INPUT',
    );
    await expectHearthError(client.chat.createConversation.mutate({ model: DEFAULT_HANDLE }), 'INVALID_INPUT');
    await expectHearthError(client.agent.setModel.mutate({ model: 'openai/not-offered' }), 'INVALID_INPUT');
    expect(agent?.model).toBe(PRICEY_HANDLE);

    // The usage is billed under each run's model.
    const usage = await client.user.usage.query({ groupBy: 'model' });
    expect(usage.buckets.map((b) => b.key).sort()).toEqual([DEFAULT_HANDLE, PRICEY_HANDLE].sort());
  });
});
