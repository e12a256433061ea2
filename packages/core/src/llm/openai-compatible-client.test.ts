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
});
