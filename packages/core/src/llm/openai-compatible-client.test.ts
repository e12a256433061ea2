import { type LlmTestServer, startLlmTestServer } from '@hearth/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../domain/errors';
import type { LlmStreamEvent } from '../ports/llm-client';
import { OpenAiCompatibleClient } from './openai-compatible-client';

async function collect(stream: AsyncIterable<LlmStreamEvent>): Promise<LlmStreamEvent[]> {
  const events: LlmStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

describe('OpenAiCompatibleClient', () => {
  let llm: LlmTestServer;
  beforeAll(async () => {
    llm = await startLlmTestServer();
  });
  afterAll(() => llm?.close());

  const client = (fetchImpl?: typeof fetch) =>
    new OpenAiCompatibleClient({
      baseUrl: llm.url,
      apiKey: 'k',
      defaultModel: 'test-model',
      connectTimeoutMs: 1_000,
      idleTimeoutMs: 1_000,
      ...(fetchImpl ? { fetch: fetchImpl } : {}),
    });
  const request = () => ({
    model: 'test-model',
    messages: [{ role: 'user' as const, content: 'hi' }],
    signal: new AbortController().signal,
  });

  it('retries once when the connection fails before the first token', async () => {
    llm.reset();
    let attempts = 0;
    const flaky: typeof fetch = (input, init) => {
      attempts += 1;
      return attempts === 1 ? Promise.reject(new TypeError('fetch failed')) : fetch(input, init);
    };
    llm.enqueue({ text: 'second time lucky' });
    const events = await collect(client(flaky).stream(request()));
    expect(
      events
        .filter((e) => e.type === 'text')
        .map((e) => (e.type === 'text' ? e.text : ''))
        .join(''),
    ).toBe('second time lucky');
    expect(attempts).toBe(2);
    expect(llm.callCount).toBe(1);
  });

  it('gives up after the one retry with UPSTREAM_UNAVAILABLE', async () => {
    let attempts = 0;
    const down: typeof fetch = () => {
      attempts += 1;
      return Promise.reject(new TypeError('fetch failed'));
    };
    await expect(collect(client(down).stream(request()))).rejects.toSatisfy((e) =>
      isAppError(e, 'UPSTREAM_UNAVAILABLE'),
    );
    expect(attempts).toBe(2);
  });

  it('does not retry a refusal from the provider', async () => {
    llm.reset();
    llm.enqueue({ error: { status: 400, message: 'bad request' } });
    await expect(collect(client().stream(request()))).rejects.toSatisfy((e) => isAppError(e, 'UPSTREAM_ERROR'));
    expect(llm.callCount).toBe(1);
  });

  it('hands on the text that came before an error in the same network chunk, then fails', async () => {
    const chunk = (content: string) =>
      `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'test-model', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
    const body = `${chunk('kept ')}${chunk('too')}data: ${JSON.stringify({ error: { message: 'overloaded', type: 'server_error' } })}\n\n`;
    const oneChunk: typeof fetch = async () =>
      new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
    const received: string[] = [];
    const failure = await (async () => {
      for await (const event of client(oneChunk).stream(request()))
        if (event.type === 'text') received.push(event.text);
    })().catch((error: unknown) => error);
    expect(received.join('')).toBe('kept too');
    expect(isAppError(failure, 'UPSTREAM_ERROR')).toBe(true);
  });

  it('sends the cap as both max_tokens and max_completion_tokens', async () => {
    llm.reset();
    await collect(client().stream({ ...request(), maxTokens: 77 }));
    expect(llm.calls[0]?.body).toMatchObject({ max_tokens: 77, max_completion_tokens: 77 });
  });

  it.each([
    {
      refuses: 'max_tokens',
      keeps: 'max_completion_tokens',
      // OpenAI's reasoning models.
      error: {
        status: 400,
        message:
          "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
        code: 'unsupported_parameter',
        param: 'max_tokens',
      },
    },
    {
      refuses: 'max_completion_tokens',
      keeps: 'max_tokens',
      // A strict server that knows only the legacy name, saying so in its message alone.
      error: { status: 400, message: 'max_completion_tokens: Extra inputs are not permitted' },
    },
  ])(
    'asks again with $keeps alone when a provider refuses $refuses, and remembers it',
    async ({ refuses, keeps, error }) => {
      llm.reset();
      llm.setResponder((record) => (refuses in record.body ? { error } : { text: 'capped answer' }));
      const model = `strict-${refuses}`;
      const llmClient = client();
      const events = await collect(llmClient.stream({ ...request(), model, maxTokens: 50 }));
      expect(events).toContainEqual({ type: 'text', text: ' answer' });
      await collect(llmClient.stream({ ...request(), model, maxTokens: 60 }));
      expect(llm.calls.map((call) => [refuses in call.body, call.body[keeps]])).toEqual([
        [true, 50],
        [false, 50],
        [false, 60],
      ]);
      llm.setResponder(() => ({ text: 'Hello from the test model.' }));
    },
  );

  it('does not take any 400 that names max_tokens for a refusal of the name', async () => {
    llm.reset();
    llm.enqueue({
      error: { status: 400, message: 'max_tokens is too large: 99999. This model supports at most 4096.' },
    });
    await expect(collect(client().stream({ ...request(), maxTokens: 99_999 }))).rejects.toSatisfy((e) =>
      isAppError(e, 'UPSTREAM_ERROR'),
    );
    expect(llm.callCount).toBe(1);
  });

  it('hands on tool-call pieces as they arrive, to be counted', async () => {
    llm.reset();
    llm.enqueue({ toolCalls: [{ name: 'core_memory_append', arguments: '{"label":"human","content":"likes tea"}' }] });
    const events = await collect(client().stream(request()));
    const pieces = events.flatMap((e) => (e.type === 'tool_call_delta' ? [e.text] : []));
    expect(pieces.join('')).toBe('core_memory_append{"label":"human","content":"likes tea"}');
    expect(events.find((e) => e.type === 'tool_calls')).toMatchObject({
      calls: [{ name: 'core_memory_append', arguments: '{"label":"human","content":"likes tea"}' }],
    });
  });
});
