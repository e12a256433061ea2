import { testDatabases } from '@hearth/core/testing';
import type { HearthClient } from '@hearth/sdk';
import { type LlmTestServer, startLlmTestServer } from '@hearth/testkit';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInClient, startTestServer, type TestServer, testLlmClient } from '../support/test-server';

// Within what a call reserves: a provider reporting more than was granted is billed the grant alone.
const ANSWER = { text: 'fine thanks', usage: { promptTokens: 8, completionTokens: 2 } };
/** At test-model's prices (test/fixtures/model-prices.json): $1 and $2 per million tokens. */
const COST_MICROS = 8 * 1 + 2 * 2;

describe.each(testDatabases())(
  'the OpenAI-compatible endpoint, driven by the official openai client ($name)',
  ({ location }) => {
    let llm: LlmTestServer;
    let server: TestServer;

    beforeAll(async () => {
      llm = await startLlmTestServer({ respond: () => ANSWER });
      const llmClient = testLlmClient(llm, { connectTimeoutMs: 5_000, idleTimeoutMs: 10_000 });
      server = await startTestServer({
        store: location,
        llm: llmClient,
        env: { LLM_MAX_OUTPUT_TOKENS: '50' },
        captureLogs: true,
      });
    }, 60_000);
    afterAll(async () => {
      await server?.close();
      await llm?.close();
    });

    const openai = (apiKey: string, headers: Record<string, string> = {}) =>
      new OpenAI({ baseURL: `${server.url}/openai/v1`, apiKey, maxRetries: 0, defaultHeaders: headers });

    /** A fresh user, their SDK client, and an openai client speaking with one of their API keys. */
    async function user(): Promise<{ hearth: HearthClient; ai: OpenAI; key: string }> {
      const hearth = await signedInClient(server, 'openai');
      const { key } = await hearth.auth.createApiKey.mutate({ name: 'openai client' });
      return { hearth, ai: openai(key), key };
    }

    it('lists the server model and hearth/agent', async () => {
      const { ai } = await user();
      const models = await ai.models.list();
      expect(models.data.map((m) => m.id)).toEqual(['test-model', 'hearth/agent']);
      expect(models.data[0]).toMatchObject({ object: 'model', owned_by: 'hearth' });
    });

    it('answers without streaming, billed to the user and counted in user.usage', async () => {
      const { hearth, ai } = await user();
      llm.reset();
      const completion = await ai.chat.completions.create({
        model: 'test-model',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'How are you?' },
        ],
      });
      expect(completion.object).toBe('chat.completion');
      expect(completion.choices[0]?.message).toMatchObject({ role: 'assistant', content: ANSWER.text });
      expect(completion.choices[0]?.finish_reason).toBe('stop');
      expect(completion.usage).toEqual({ prompt_tokens: 8, completion_tokens: 2, total_tokens: 10 });
      // The provider got the conversation as sent, with max_tokens within the server's cap.
      expect(llm.calls[0]?.messages).toEqual([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'How are you?' },
      ]);
      expect(llm.calls[0]?.maxTokens).toBeLessThanOrEqual(50);

      const usage = await hearth.user.usage.query({ groupBy: 'model' });
      expect(usage.totals).toMatchObject({ requests: 1, promptTokens: 8, completionTokens: 2 });
      expect(Math.round(usage.totals.costUsd * 1_000_000)).toBe(COST_MICROS);
      const budget = await hearth.user.budget.query();
      expect(Math.round(budget.spentUsd * 1_000_000)).toBe(COST_MICROS);
      expect(budget.reservedUsd).toBe(0);
    });

    it('streams chunks, with usage in the final chunk when include_usage is set', async () => {
      const { hearth, ai } = await user();
      llm.setResponder(() => ({ text: 'one two three four', usage: { promptTokens: 10, completionTokens: 4 } }));
      try {
        const stream = await ai.chat.completions.create({
          model: 'test-model',
          messages: [{ role: 'user', content: 'count' }],
          stream: true,
          stream_options: { include_usage: true },
        });
        const chunks = [];
        for await (const chunk of stream) chunks.push(chunk);
        expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
        const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
        expect(text).toBe('one two three four');
        expect(chunks.filter((c) => c.choices[0]?.finish_reason).map((c) => c.choices[0]?.finish_reason)).toEqual([
          'stop',
        ]);
        const last = chunks.at(-1);
        expect(last?.choices).toEqual([]);
        expect(last?.usage).toEqual({ prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 });
        expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);

        const plain = await ai.chat.completions.create({
          model: 'test-model',
          messages: [{ role: 'user', content: 'again' }],
          stream: true,
        });
        const plainChunks = [];
        for await (const chunk of plain) plainChunks.push(chunk);
        expect(plainChunks.some((c) => c.usage)).toBe(false);
        expect((await hearth.user.usage.query({})).totals).toMatchObject({ requests: 2, completionTokens: 8 });
      } finally {
        llm.setResponder(() => ANSWER);
      }
    });

    it('hearth/agent: talks to the personal agent, which remembers, in the default or a named conversation', async () => {
      const { hearth, ai } = await user();
      llm.enqueue(
        {
          toolCalls: [
            { name: 'memory_insert', arguments: JSON.stringify({ label: 'human', new_string: 'Drinks green tea.' }) },
          ],
        },
        { text: 'Noted: green tea.' },
      );
      const { data: stream, response } = await ai.chat.completions
        .create({ model: 'hearth/agent', messages: [{ role: 'user', content: 'I drink green tea.' }], stream: true })
        .withResponse();
      const conversationId = response.headers.get('x-hearth-conversation-id');
      const runId = response.headers.get('x-hearth-run-id');
      expect(conversationId).toMatch(/^[0-9a-f-]{36}$/);
      expect(runId).toMatch(/^[0-9a-f-]{36}$/);
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      expect(text).toBe('Noted: green tea.');

      const memory = await hearth.agent.memory.query();
      expect(memory.blocks.find((b) => b.label === 'human')?.value).toContain('Drinks green tea.');
      const history = await hearth.chat.history.query({});
      expect(history.messages.map((m) => [m.role, m.content])).toEqual([
        ['user', 'I drink green tea.'],
        ['assistant', 'Noted: green tea.'],
      ]);
      expect(history.messages[0]?.conversationId).toBe(conversationId);

      // A named conversation, and an answer without streaming: the agent reads its memory in the prompt.
      const named = await hearth.chat.createConversation.mutate({ title: 'from openai' });
      llm.reset();
      llm.enqueue({ text: 'Green tea, as ever.' });
      const agentWithHeader = openai(ai.apiKey ?? '', { 'X-Hearth-Conversation-Id': named.id });
      const completion = await agentWithHeader.chat.completions.create({
        model: 'hearth/agent',
        messages: [
          { role: 'user', content: 'ignored: the agent keeps its own history' },
          { role: 'assistant', content: 'ok' },
          { role: 'user', content: 'What do I drink?' },
        ],
      });
      expect(completion.choices[0]?.message.content).toBe('Green tea, as ever.');
      expect(JSON.stringify(llm.calls[0]?.messages)).toContain('Drinks green tea.');
      const namedHistory = await hearth.chat.history.query({ conversationId: named.id });
      expect(namedHistory.messages.map((m) => m.content)).toEqual(['What do I drink?', 'Green tea, as ever.']);
      expect(completion.usage?.total_tokens).toBeGreaterThan(0);
      expect((await hearth.user.usage.query({})).totals.requests).toBe(3);
    });

    it('hearth/agent: a conversation that is not the caller’s is 404, a bad header 400', async () => {
      const { ai } = await user();
      const stranger = await signedInClient(server, 'stranger');
      const theirs = await stranger.chat.createConversation.mutate({});
      const messages = [{ role: 'user' as const, content: 'hello' }];
      const foreign = await openai(ai.apiKey ?? '', { 'X-Hearth-Conversation-Id': theirs.id })
        .chat.completions.create({ model: 'hearth/agent', messages })
        .catch((e: unknown) => e);
      expect(foreign).toBeInstanceOf(OpenAI.NotFoundError);
      const bad = await openai(ai.apiKey ?? '', { 'X-Hearth-Conversation-Id': 'nope' })
        .chat.completions.create({ model: 'hearth/agent', messages })
        .catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
      expect((await stranger.chat.history.query({ conversationId: theirs.id })).messages).toEqual([]);
    });

    it('hearth/agent: a second call while the agent is answering is 429 run_active', async () => {
      const { ai, hearth } = await user();
      llm.enqueue({ text: 'slow answer', ttftMs: 800 });
      const messages = [{ role: 'user' as const, content: 'take your time' }];
      const first = ai.chat.completions.create({ model: 'hearth/agent', messages });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const second = await ai.chat.completions.create({ model: 'hearth/agent', messages }).catch((e: unknown) => e);
      expect(second).toBeInstanceOf(OpenAI.RateLimitError);
      expect(second).toMatchObject({ status: 429, code: 'run_active' });
      expect((await first).choices[0]?.message.content).toBe('slow answer');
      expect((await hearth.chat.history.query({})).messages).toHaveLength(2);
    });

    it('refuses calls past the budget with 429 budget_exceeded, never overspending, 20 at once', async () => {
      const { hearth, ai } = await user();
      const messages = [{ role: 'user' as const, content: 'how are you?' }];
      // Calibrate: what one call reserves, read while it waits for its first token.
      llm.setResponder(() => ({ ...ANSWER, ttftMs: 400 }));
      const probe = ai.chat.completions.create({ model: 'test-model', messages, max_tokens: 20 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const reservation = Math.round((await hearth.user.budget.query()).reservedUsd * 1_000_000);
      await probe;
      const spentBefore = Math.round((await hearth.user.budget.query()).spentUsd * 1_000_000);
      expect(reservation).toBeGreaterThan(0);

      const K = 5;
      const limitMicros = spentBefore + K * reservation;
      await hearth.user.setBudget.mutate({ limitUsd: limitMicros / 1_000_000, period: 'month' });
      llm.reset();
      // Slow answers, so that every reservation is taken before any is settled.
      llm.setResponder(() => ({ ...ANSWER, ttftMs: 2_500 }));
      try {
        const outcomes = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            (i % 2
              ? ai.chat.completions.create({ model: 'test-model', messages, max_tokens: 20 })
              : ai.chat.completions
                  .create({ model: 'test-model', messages, max_tokens: 20, stream: true })
                  .then(async (stream) => {
                    for await (const _chunk of stream) {
                      // drained
                    }
                  })
            ).then(
              () => 'ok' as const,
              (error: unknown) => error,
            ),
          ),
        );
        const refused = outcomes.filter((o) => o !== 'ok');
        expect(outcomes.length - refused.length).toBe(K);
        for (const error of refused) {
          expect(error).toBeInstanceOf(OpenAI.RateLimitError);
          expect(error).toMatchObject({ status: 429, code: 'budget_exceeded', type: 'insufficient_quota' });
        }
        // Refused before the provider was called.
        expect(llm.callCount).toBe(K);
        const budget = await hearth.user.budget.query();
        expect(budget.reservedUsd).toBe(0);
        expect(Math.round(budget.spentUsd * 1_000_000)).toBeLessThanOrEqual(limitMicros);
        const usage = await hearth.user.usage.query({});
        expect(usage.totals.requests).toBe(K + 1);
        expect(Math.round(usage.totals.costUsd * 1_000_000)).toBe(Math.round(budget.spentUsd * 1_000_000));

        // hearth/agent is under the same budget: refused before its first token, as a real 429.
        const agent = await ai.chat.completions
          .create({ model: 'hearth/agent', messages, stream: true })
          .catch((e: unknown) => e);
        expect(agent).toMatchObject({ status: 429, code: 'budget_exceeded' });
      } finally {
        llm.setResponder(() => ANSWER);
      }
    }, 60_000);

    it('accepts a session access token as well as an API key, and refuses a bad one with 401', async () => {
      const { hearth } = await user();
      const token = hearth.session?.accessToken ?? '';
      expect((await openai(token).models.list()).data.length).toBe(2);
      for (const bad of ['hth_not-a-key', 'nonsense', `${token}x`]) {
        const error = await openai(bad)
          .chat.completions.create({ model: 'test-model', messages: [{ role: 'user', content: 'hi' }] })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
        expect(error).toMatchObject({ status: 401, code: 'invalid_api_key' });
      }
      const none = await fetch(`${server.url}/openai/v1/models`);
      expect(none.status).toBe(401);
      expect(await none.json()).toMatchObject({ error: { code: 'invalid_api_key', type: 'invalid_request_error' } });
    });

    it('refuses bad input with 400 invalid_request, calling no model', async () => {
      const { ai, hearth } = await user();
      llm.reset();
      const bodies = [
        { model: 'test-model', messages: [] },
        { model: 'test-model', messages: [{ role: 'tool', content: 'x' }] },
        { model: 'test-model', messages: [{ role: 'user', content: 'hi' }], n: 2 },
        { model: 'test-model', messages: [{ role: 'user', content: 'a\u0000b' }] },
        { model: 'test-model', messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function' }] },
        { model: 'hearth/agent', messages: [{ role: 'system', content: 'no user message' }] },
        { model: 'hearth/agent', messages: [{ role: 'user', content: 'x'.repeat(32_001) }] },
        { messages: [{ role: 'user', content: 'hi' }] },
      ];
      for (const body of bodies) {
        const error = await ai.chat.completions
          .create(body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming)
          .catch((e: unknown) => e);
        expect(error, JSON.stringify(body).slice(0, 80)).toBeInstanceOf(OpenAI.BadRequestError);
        expect(error).toMatchObject({ status: 400, code: 'invalid_request', type: 'invalid_request_error' });
      }
      const unknownModel = await ai.chat.completions
        .create({ model: 'gpt-9', messages: [{ role: 'user', content: 'hi' }] })
        .catch((e: unknown) => e);
      expect(unknownModel).toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
      const notJson = await fetch(`${server.url}/openai/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ai.apiKey ?? ''}`, 'content-type': 'application/json' },
        body: '{"model":',
      });
      expect(notJson.status).toBe(400);
      expect(llm.callCount).toBe(0);
      expect((await hearth.chat.history.query({})).messages).toEqual([]);
      expect((await hearth.user.usage.query({})).totals.requests).toBe(0);
    });

    it('answers upstream failures with 502 and unknown paths with an OpenAI-shaped 404', async () => {
      const { ai, hearth } = await user();
      llm.enqueue({ error: { status: 500, message: 'provider secret detail', type: 'server_error' } });
      const error = await ai.chat.completions
        .create({ model: 'test-model', messages: [{ role: 'user', content: 'hi' }] })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.InternalServerError);
      expect(error).toMatchObject({ status: 502, code: 'upstream_error' });
      expect(String((error as Error).message)).not.toContain('provider secret detail');
      expect((await hearth.user.budget.query()).reservedUsd).toBe(0);

      const missing = await fetch(`${server.url}/openai/v1/embeddings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ai.apiKey ?? ''}` },
      });
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ error: { code: 'not_found', type: 'invalid_request_error' } });
    });

    it('sends an error event when the provider fails after the first token', async () => {
      const { ai } = await user();
      llm.enqueue({ text: 'one two three four five six', disconnectAfterTokens: 2 });
      const stream = await ai.chat.completions.create({
        model: 'test-model',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      });
      let text = '';
      const failure = await (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      })().catch((e: unknown) => e);
      expect(text.length).toBeGreaterThan(0);
      expect(failure).toBeInstanceOf(OpenAI.APIError);
      expect(String((failure as Error).message)).toMatch(/./);
    });

    it('keeps keys out of the logs', () => {
      expect(server.logs()).not.toMatch(/hth_[A-Za-z0-9_-]{20}/);
    });
  },
);
