import { costMicros, countTokens, schema } from '@hearth/core';
import type { HearthClient } from '@hearth/sdk';
import { type LlmTestServer, startLlmTestServer } from '@hearth/testkit';
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, type Backend, startBackend } from '../support/agent-backends';
import { expectHearthError } from '../support/expect-error';
import { chatTurn, collectRun } from '../support/run-events';
import { signedInClient, startTestServer, type TestServer, testLlmClient } from '../support/test-server';

describe.each(BACKENDS)('chat against a scripted model, agent backend $name', ({ name }) => {
  let llm: LlmTestServer;
  let backend: Backend;
  let server: TestServer;

  beforeAll(async () => {
    llm = await startLlmTestServer();
    backend = await startBackend(name, llm);
    server = await startTestServer({ store: { kind: 'pglite-memory' }, ...backend.server });
  });
  afterEach(() => {
    llm.reset();
    backend.assertClean();
  });
  afterAll(async () => {
    await server?.close();
    await backend?.close();
    await llm?.close();
  });

  const signedIn = () => signedInClient(server, 'llm');
  it('resumes a dropped subscription with lastEventId: the whole text, no gap, no duplicate', async () => {
    const client = await signedIn();
    const text = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    llm.enqueue({ text, tokenIntervalMs: 10 });
    const sent = await client.chat.send.mutate({ text: 'tell me a long story' });
    const before = await collectRun(client, sent.runId, {
      stopAfter: (e) => e.data.type === 'text.delta' && e.data.text.includes('word9'),
    });
    const lastEventId = before.events.at(-1)?.id;
    expect(before.terminal).toBeUndefined();
    const after = await collectRun(client, sent.runId, { ...(lastEventId ? { lastEventId } : {}) });
    const ids = [...before.events, ...after.events].map((e) => Number(e.id));
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    expect(before.text + after.text).toBe(text);
    expect(after.terminal).toMatchObject({ type: 'run.completed', message: { content: text } });

    // A late subscriber (from the start) gets everything too.
    const late = await collectRun(client, sent.runId);
    expect(late.text).toBe(text);
  });

  it('cancels mid-stream and keeps the partial answer', async () => {
    const client = await signedIn();
    llm.enqueue({ text: Array.from({ length: 200 }, (_, i) => `w${i}`).join(' '), tokenIntervalMs: 10 });
    const sent = await client.chat.send.mutate({ text: 'go on and on' });
    const seen = await collectRun(client, sent.runId, { stopAfter: (_, count) => count >= 6 });
    expect(await client.chat.cancel.mutate({ runId: sent.runId })).toEqual({ runId: sent.runId, status: 'cancelled' });
    expect(await client.chat.cancel.mutate({ runId: sent.runId })).toEqual({ runId: sent.runId, status: 'cancelled' });
    const rest = await collectRun(client, sent.runId, { lastEventId: seen.events.at(-1)?.id ?? '0' });
    expect(rest.terminal?.type).toBe('run.cancelled');
    const { messages } = await client.chat.history.query({});
    expect(messages.map((m) => [m.role, m.status])).toEqual([
      ['user', 'complete'],
      ['assistant', 'incomplete'],
    ]);
    expect(messages[1]?.content.length).toBeGreaterThan(0);
    expect(messages[1]?.content.length).toBeLessThan(600);
  });

  it('ends with run.failed on a provider error, keeping the user message', async () => {
    const client = await signedIn();
    llm.enqueue({ error: { status: 500, message: 'secret upstream detail sk-live-123' } });
    const turn = await chatTurn(client, 'this will fail');
    expect(turn.terminal).toMatchObject({
      type: 'run.failed',
      appCode: 'UPSTREAM_ERROR',
      retryable: true,
      partial: null,
    });
    expect(JSON.stringify(turn.terminal)).not.toContain('sk-live-123');
    const { messages } = await client.chat.history.query({});
    expect(messages.map((m) => m.role)).toEqual(['user']);
    expect(messages[0]?.content).toBe('this will fail');
  });

  it('ends with run.failed when the provider drops mid-stream, storing the partial answer', async () => {
    const client = await signedIn();
    llm.enqueue({ text: 'one two three four five six seven eight', disconnectAfterTokens: 4 });
    const turn = await chatTurn(client, 'drop me');
    // Letta reports its model's broken stream as an LLM error (event: error, llm_api_error).
    const appCode = name === 'letta' ? 'UPSTREAM_ERROR' : 'UPSTREAM_UNAVAILABLE';
    expect(turn.terminal).toMatchObject({ type: 'run.failed', appCode });
    const partial = turn.terminal?.type === 'run.failed' ? turn.terminal.partial : null;
    expect(partial).toMatchObject({ status: 'incomplete', content: 'one two three four' });
    expect(llm.callCount).toBe(1);
  });

  it('times out an upstream that goes silent', async () => {
    const client = await signedIn();
    llm.enqueue({ text: 'a b c d e f', stallAfterTokens: 2 });
    const turn = await chatTurn(client, 'stall');
    expect(turn.terminal).toMatchObject({
      type: 'run.failed',
      appCode: 'UPSTREAM_TIMEOUT',
      partial: { content: 'a b' },
    });
  });

  it('stops a tool loop at the step limit', async () => {
    const client = await signedIn();
    llm.setResponder(() => ({ toolCalls: [{ name: 'conversation_search', arguments: '{"query":"loop"}' }] }));
    const turn = await chatTurn(client, 'loop forever');
    expect(turn.terminal?.type).toBe('run.completed');
    expect(llm.callCount).toBe(8);
    llm.setResponder(() => ({ text: 'Hello from the test model.' }));
  });

  it('refuses a second send while a run is active, and makes clientMessageId idempotent', async () => {
    const client = await signedIn();
    llm.enqueue({ text: 'slow answer here', tokenIntervalMs: 50 });
    const clientMessageId = crypto.randomUUID();
    const first = await client.chat.send.mutate({ text: 'one', clientMessageId });
    await expectHearthError(client.chat.send.mutate({ text: 'two' }), 'RUN_ACTIVE');
    const again = await client.chat.send.mutate({ text: 'one', clientMessageId });
    expect(again).toEqual(first);
    await collectRun(client, first.runId);
    expect(llm.callCount).toBe(1);
    const { messages } = await client.chat.history.query({});
    expect(messages.filter((m) => m.role === 'user')).toHaveLength(1);
  });

  it('refuses a clientMessageId used again for another text or conversation, and starts nothing', async () => {
    const client = await signedIn();
    const clientMessageId = crypto.randomUUID();
    const first = await client.chat.send.mutate({ text: 'the first words', clientMessageId });
    await collectRun(client, first.runId);
    const calls = llm.callCount;
    const otherText = await expectHearthError(
      client.chat.send.mutate({ text: 'other words', clientMessageId }),
      'INVALID_INPUT',
    );
    expect(otherText.data.fieldErrors).toHaveProperty('clientMessageId');
    const elsewhere = await client.chat.createConversation.mutate({});
    await expectHearthError(
      client.chat.send.mutate({ text: 'the first words', clientMessageId, conversationId: elsewhere.id }),
      'INVALID_INPUT',
    );
    // The same send again, as it was, is still the first run.
    expect(await client.chat.send.mutate({ text: 'the first words', clientMessageId })).toEqual(first);
    expect(llm.callCount).toBe(calls);
    expect((await client.chat.history.query({ conversationId: elsewhere.id })).messages).toEqual([]);
  });

  it('names the agent in the profile once there is one', async () => {
    const client = await signedIn();
    expect((await client.user.profile.query()).agentId).toBeNull();
    const status = await client.agent.status.query();
    expect((await client.user.profile.query()).agentId).toBe(status.agentId);
  });

  it('keeps a run going when its subscriber disconnects', async () => {
    const client = await signedIn();
    llm.enqueue({ text: 'still here after you left', tokenIntervalMs: 20 });
    const sent = await client.chat.send.mutate({ text: 'keep going' });
    await collectRun(client, sent.runId, { stopAfter: (_, count) => count >= 2 });
    await new Promise((resolve) => setTimeout(resolve, 400));
    const { messages } = await client.chat.history.query({});
    expect(messages.at(-1)).toMatchObject({
      role: 'assistant',
      status: 'complete',
      content: 'still here after you left',
    });
  });
});

describe('the built-in runtime against an OpenAI-compatible provider', () => {
  let llm: LlmTestServer;
  let server: TestServer;

  beforeAll(async () => {
    llm = await startLlmTestServer();
    server = await startTestServer({
      store: { kind: 'pglite-memory' },
      llm: testLlmClient(llm, { connectTimeoutMs: 2_000, idleTimeoutMs: 1_000 }),
    });
  });
  afterEach(() => llm.reset());
  afterAll(async () => {
    await server?.close();
    await llm?.close();
  });

  const signedIn = () => signedInClient(server, 'llm');

  it('sends the first text at once and merges the rest per STREAM_BATCH_MS window, the answer intact', async () => {
    const batched = await startTestServer({
      store: { kind: 'pglite-memory' },
      llm: testLlmClient(llm),
      env: { STREAM_BATCH_MS: '50' },
    });
    try {
      const client = await signedInClient(batched, 'batching');
      const words = Array.from({ length: 40 }, (_, i) => `w${i}`);
      llm.enqueue({ text: words.join(' '), tokenIntervalMs: 5 });
      const turn = await chatTurn(client, 'stream quickly');
      const deltas = turn.events.flatMap((e) => (e.data.type === 'text.delta' ? [e.data.text] : []));
      expect(deltas[0]).toBe('w0');
      // 200 ms of tokens in 50 ms windows: the first alone, then about four merged events, not 39.
      expect(deltas.length).toBeGreaterThanOrEqual(3);
      expect(deltas.length).toBeLessThanOrEqual(10);
      expect(turn.text).toBe(words.join(' '));
      expect(turn.terminal).toMatchObject({ type: 'run.completed', message: { content: words.join(' ') } });
    } finally {
      await batched.close();
    }
  });

  it('sends the compiled memory, history and tools, and asks for usage', async () => {
    const client = await signedIn();
    await client.agent.updateMemory.mutate({ label: 'human', value: 'Likes tea.' });
    llm.enqueue({ text: 'First answer.' }, { text: 'Second answer.' });
    await chatTurn(client, 'first question');
    await chatTurn(client, 'second question');
    const request = llm.calls[1];
    expect(request?.streamOptions).toEqual({ include_usage: true });
    expect(JSON.stringify(request?.tools)).toContain('memory_insert');
    const messages = request?.messages as Array<{ role: string; content: string }>;
    expect(messages[0]?.role).toBe('system');
    expect(messages[0]?.content).toContain('<human>');
    expect(messages[0]?.content).toContain('Likes tea.');
    expect(messages.slice(1).map((m) => [m.role, m.content])).toEqual([
      ['user', 'first question'],
      ['assistant', 'First answer.'],
      ['user', 'second question'],
    ]);
  });

  it('fails a send whose message could not be stored, and keeps nothing of it', async () => {
    const client = await signedIn();
    const { id } = await client.chat.createConversation.mutate({});
    // Deleted behind the server's back: on the store it alone writes, it decides sends from memory.
    await server.hearth.store.db.delete(schema.conversations).where(eq(schema.conversations.id, id));
    await expectHearthError(client.chat.send.mutate({ text: 'lost', conversationId: id }), 'NOT_FOUND');
    await expectHearthError(client.chat.send.mutate({ text: 'lost again', conversationId: id }), 'NOT_FOUND');
    const runs = await server.hearth.store.db.select().from(schema.runs).where(eq(schema.runs.conversationId, id));
    expect(runs).toEqual([]);
    llm.enqueue({ text: 'Here.' });
    expect((await chatTurn(client, 'still there?')).terminal).toMatchObject({ type: 'run.completed' });
  });

  it('returns tool errors to the model instead of crashing: unknown tool, bad arguments', async () => {
    const client = await signedIn();
    llm.enqueue(
      { toolCalls: [{ name: 'launch_rockets', arguments: '{}' }] },
      { toolCalls: [{ name: 'memory_insert', arguments: '{"label": "human", ' }] },
      { toolCalls: [{ name: 'memory_replace', arguments: '{"label":"human","old_string":"nope","new_string":"x"}' }] },
      { text: 'Sorry, I could not do that.' },
    );
    const turn = await chatTurn(client, 'do something odd');
    const results = turn.events.flatMap((e) => (e.data.type === 'tool.result' ? [e.data] : []));
    expect(results.map((r) => r.ok)).toEqual([false, false, false]);
    expect(JSON.stringify(results[0]?.result)).toMatch(/Unknown tool/);
    expect(JSON.stringify(results[1]?.result)).toMatch(/not valid JSON/);
    expect(JSON.stringify(results[2]?.result)).toMatch(/occurs 0 times/);
    expect(turn.terminal).toMatchObject({ type: 'run.completed', message: { content: 'Sorry, I could not do that.' } });
    const toolMessages = ((llm.calls[3]?.messages ?? []) as Array<{ role: string }>).filter((m) => m.role === 'tool');
    expect(toolMessages).toHaveLength(3);
  });
});

describe('billing an interrupted answer', () => {
  let llm: LlmTestServer;
  let server: TestServer;
  const price = {
    inputUsdPerToken: 0.000001,
    outputUsdPerToken: 0.000002,
    contextWindow: 128_000,
    maxOutputTokens: 4_096,
  };

  beforeAll(async () => {
    llm = await startLlmTestServer();
    server = await startTestServer({
      store: { kind: 'pglite-memory' },
      llm: testLlmClient(llm),
    });
  });
  afterAll(async () => {
    await server?.close();
    await llm?.close();
  });

  const expectBilledFor = async (client: HearthClient, partial: string) => {
    const { totals } = await client.user.usage.query({});
    expect(totals.requests).toBe(1);
    expect(totals.completionTokens).toBe(countTokens(partial));
    expect(totals.promptTokens).toBeGreaterThan(0);
    expect(Math.round(totals.costUsd * 1_000_000)).toBe(
      costMicros(price, totals.promptTokens, totals.completionTokens),
    );
    const budget = await client.user.budget.query();
    expect(budget).toMatchObject({ reservedUsd: 0, spentUsd: totals.costUsd });
  };

  it('bills nothing for sends whose message could not be stored', async () => {
    const client = await signedInClient(server, 'bill-unstored');
    const { id } = await client.chat.createConversation.mutate({});
    // Deleted behind the server's back: the embedded store decides the send from memory, so the
    // model step starts before the insert that fails.
    await server.hearth.store.db.delete(schema.conversations).where(eq(schema.conversations.id, id));
    for (let i = 0; i < 3; i += 1) {
      await expectHearthError(client.chat.send.mutate({ text: `lost ${i}`, conversationId: id }), 'NOT_FOUND');
    }
    llm.reset();
    llm.enqueue({ text: 'Here.' });
    const turn = await chatTurn(client, 'still there?');
    expect(turn.terminal).toMatchObject({ type: 'run.completed' });
    const { totals } = await client.user.usage.query({});
    expect(totals.requests).toBe(1);
    const budget = await client.user.budget.query();
    expect(budget).toMatchObject({ reservedUsd: 0, spentUsd: totals.costUsd });
    expect(totals.costUsd).toBe(turn.terminal?.type === 'run.completed' ? turn.terminal.usage.costUsd : -1);
  });

  it('bills exactly the tokens received before a cancel', async () => {
    const client = await signedInClient(server, 'bill-cancel');
    llm.enqueue({ text: Array.from({ length: 300 }, (_, i) => `w${i}`).join(' '), tokenIntervalMs: 5 });
    const sent = await client.chat.send.mutate({ text: 'a long one please' });
    await collectRun(client, sent.runId, { stopAfter: (_, count) => count >= 10 });
    await client.chat.cancel.mutate({ runId: sent.runId });
    const partial = (await client.chat.history.query({})).messages.at(-1);
    expect(partial?.status).toBe('incomplete');
    await expectBilledFor(client, partial?.content ?? '');
  });

  it('bills exactly the tokens received before the provider dropped the stream', async () => {
    const client = await signedInClient(server, 'bill-drop');
    llm.enqueue({ text: 'one two three four five six seven eight', disconnectAfterTokens: 4 });
    const turn = await chatTurn(client, 'drop me');
    expect(turn.terminal?.type).toBe('run.failed');
    await expectBilledFor(client, 'one two three four');
  });
});
