import { OpenAiCompatibleClient } from '@hearth/core';
import { testDatabases } from '@hearth/core/testing';
import { type LlmTestServer, startLlmTestServer } from '@hearth/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, startBackend } from '../support/agent-backends';
import { chatTurn, collectRun } from '../support/run-events';
import { signedInClient, startTestServer, type TestServer } from '../support/test-server';

/** Priced in the built-in table: $0.15 per million prompt tokens, $0.60 per million completion tokens. */
const MODEL = 'gpt-4o-mini';
const micros = (usd: number) => Math.round(usd * 1_000_000);

describe.each(testDatabases())('what a step is granted, and how it is held to it ($name)', ({ location }) => {
  let llm: LlmTestServer;
  let server: TestServer;

  beforeAll(async () => {
    llm = await startLlmTestServer();
    server = await startTestServer({
      store: location,
      llm: new OpenAiCompatibleClient({
        baseUrl: llm.url,
        apiKey: 'test-key',
        defaultModel: MODEL,
        connectTimeoutMs: 5_000,
        idleTimeoutMs: 10_000,
      }),
    });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await llm?.close();
  });

  it('stops a provider that ignores max_tokens at the grant: spend stays within the limit, the text is kept', async () => {
    const client = await signedInClient(server, 'ignores-cap');
    const limitUsd = 0.003;
    await client.user.setBudget.mutate({ limitUsd, period: 'month' });
    // 20,000 tokens whatever it is asked: $0.012 each at this price, four times the whole limit.
    const flood = Array.from({ length: 20_000 }, (_, i) => `w${i % 10}`).join(' ');
    llm.setResponder(() => ({ text: flood, ignoreMaxTokens: true, ttftMs: 200 }));
    const conversations = [];
    for (let i = 0; i < 5; i += 1) conversations.push((await client.chat.createConversation.mutate({})).id);

    const sends = await Promise.all(
      conversations.map((conversationId) => client.chat.send.mutate({ text: 'say a lot', conversationId })),
    );
    const outcomes = await Promise.all(sends.map((sent) => collectRun(client, sent.runId, { timeoutMs: 30_000 })));

    const budget = await client.user.budget.query();
    expect(budget.reservedUsd).toBe(0);
    expect(micros(budget.spentUsd)).toBeLessThanOrEqual(micros(limitUsd));
    expect(micros(budget.spentUsd)).toBeGreaterThan(0);

    for (const [i, outcome] of outcomes.entries()) {
      // A step that reaches its grant ends the answer the way max_tokens would have: completed, cut short.
      expect(outcome.terminal?.type).toBe('run.completed');
      if (outcome.terminal?.type !== 'run.completed') continue;
      expect(outcome.text.length).toBeLessThan(flood.length);
      expect(flood.startsWith(outcome.text)).toBe(true);
      expect(outcome.terminal.message.content).toBe(outcome.text);
      const { messages } = await client.chat.history.query({ conversationId: conversations[i] });
      expect(messages.at(-1)).toMatchObject({ role: 'assistant', status: 'complete', content: outcome.text });
    }
    const usage = await client.user.usage.query({});
    expect(micros(usage.totals.costUsd)).toBe(micros(budget.spentUsd));
    // Hearth asked for the cap under both names the chat-completions API knows.
    for (const call of llm.calls) {
      expect(call.body.max_tokens).toBeTypeOf('number');
      expect(call.body.max_completion_tokens).toBe(call.body.max_tokens);
    }
  }, 60_000);

  it('extends a long answer slice by slice while the budget has room, so it arrives whole', async () => {
    const client = await signedInClient(server, 'long-answer');
    await client.user.setBudget.mutate({ limitUsd: 1, period: 'month' });
    // 2,000 tokens as Hearth counts them (" w3" is two), eight slices of 256; the test server reports 1,000.
    const long = Array.from({ length: 1_000 }, (_, i) => `w${i % 10}`).join(' ');
    llm.setResponder(() => ({ text: long }));
    const outcome = await chatTurn(client, 'a long one, please');
    expect(outcome.terminal).toMatchObject({ type: 'run.completed', message: { content: long } });
    const budget = await client.user.budget.query();
    expect(budget.reservedUsd).toBe(0);
    const usage = await client.user.usage.query({});
    expect(usage.totals.completionTokens).toBe(1_000);
    expect(micros(usage.totals.costUsd)).toBe(micros(budget.spentUsd));
  }, 60_000);

  it('runs 50 short sends at once on a $0.05 budget without refusing any, and stays within it', async () => {
    const client = await signedInClient(server, 'many-short');
    const limitUsd = 0.05;
    await client.user.setBudget.mutate({ limitUsd, period: 'month' });
    // Slow first tokens, so that every send holds its reservation while the others ask for theirs.
    llm.setResponder(() => ({ text: 'fine, thanks for asking', ttftMs: 1_500 }));
    const conversations = [];
    for (let i = 0; i < 50; i += 1) conversations.push((await client.chat.createConversation.mutate({})).id);

    const sends = await Promise.all(
      conversations.map((conversationId) => client.chat.send.mutate({ text: 'how are you?', conversationId })),
    );
    const outcomes = await Promise.all(sends.map((sent) => collectRun(client, sent.runId, { timeoutMs: 30_000 })));

    const refused = outcomes.filter((o) => o.terminal?.type === 'run.failed');
    expect(refused).toHaveLength(0);
    expect(outcomes.filter((o) => o.terminal?.type === 'run.completed')).toHaveLength(50);
    const budget = await client.user.budget.query();
    expect(budget.reservedUsd).toBe(0);
    expect(micros(budget.spentUsd)).toBeLessThanOrEqual(micros(limitUsd));
  }, 60_000);
});

describe('a Letta agent whose model ignores max_tokens', () => {
  let llm: LlmTestServer;
  let backend: Backend;
  let server: TestServer;

  beforeAll(async () => {
    llm = await startLlmTestServer();
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

  it('is stopped (its Letta run cancelled) at the output its grant pays for, and ends with that text', async () => {
    const client = await signedInClient(server, 'letta-ignores-cap');
    const limitUsd = 0.05;
    await client.user.setBudget.mutate({ limitUsd, period: 'month' });
    const flood = Array.from({ length: 20_000 }, (_, i) => `w${i % 10}`).join(' ');
    llm.setResponder(() => ({ text: flood, ignoreMaxTokens: true }));

    for (let i = 0; i < 2; i += 1) {
      const outcome = await chatTurn(client, 'say a lot', (await client.chat.createConversation.mutate({})).id);
      expect(outcome.terminal?.type).toBe('run.completed');
      // Two steps of 50 output tokens were reserved: about 100 tokens of text, not 20,000.
      expect(outcome.text.length).toBeGreaterThan(0);
      expect(outcome.text.length).toBeLessThan(1_000);
      expect(flood.startsWith(outcome.text)).toBe(true);
      expect(outcome.terminal?.type === 'run.completed' && outcome.terminal.message.content).toBe(outcome.text);
    }
    const budget = await client.user.budget.query();
    expect(budget.reservedUsd).toBe(0);
    expect(micros(budget.spentUsd)).toBeLessThanOrEqual(micros(limitUsd));
  }, 60_000);
});
