import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { type LlmTestServer, type LlmTestServerOptions, startLlmTestServer, tokenize } from './index';

let server: LlmTestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options?: LlmTestServerOptions) {
  const started = await startLlmTestServer(options);
  server = started;
  const client = new OpenAI({ baseURL: started.url, apiKey: options?.apiKey ?? 'test', maxRetries: 0 });
  return { server: started, client };
}

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

describe('tokenize', () => {
  it('splits word by word with whitespace attached to the following word', () => {
    expect(tokenize('Hello there, Ada.')).toEqual(['Hello', ' there,', ' Ada.']);
    expect(tokenize('')).toEqual([]);
  });

  it('round-trips any text exactly', () => {
    for (const text of ['  leading', 'trailing  ', 'tabs\tand\nnew lines\n\n', '   ', 'emoji 👋🏽 ok', 'a']) {
      expect(tokenize(text).join('')).toBe(text);
    }
  });
});

describe('startLlmTestServer', () => {
  it('streams scripted text that reassembles exactly, followed by a usage chunk', async () => {
    const { server, client } = await start();
    const text = 'Streaming works, one word at a time.';
    server.enqueue({ text });

    const stream = await client.chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'Say something.' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = '';
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      content += chunk.choices[0]?.delta.content ?? '';
    }

    expect(content).toBe(text);
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: '', refusal: null });
    expect(chunks.at(-2)?.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toEqual({
      prompt_tokens: 4,
      completion_tokens: tokenize(text).length,
      total_tokens: 4 + tokenize(text).length,
    });
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
    expect(chunks[0]?.model).toBe('gpt-test');
  });

  it('cuts the reply at max_completion_tokens or max_tokens, unless the script ignores the cap', async () => {
    const { server, client } = await start();
    const text = 'one two three four five six seven eight';
    const ask = async (cap: { max_tokens?: number; max_completion_tokens?: number }) => {
      const stream = await client.chat.completions.create({
        model: 'm',
        messages: [],
        stream: true,
        stream_options: { include_usage: true },
        ...cap,
      });
      let content = '';
      let finish: string | null | undefined;
      let completionTokens: number | undefined;
      for await (const chunk of stream) {
        content += chunk.choices[0]?.delta.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
        completionTokens = chunk.usage?.completion_tokens ?? completionTokens;
      }
      return { content, finish, completionTokens };
    };
    server.enqueue({ text }, { text }, { text, ignoreMaxTokens: true });
    expect(await ask({ max_tokens: 3 })).toEqual({ content: 'one two three', finish: 'length', completionTokens: 3 });
    expect(await ask({ max_completion_tokens: 2, max_tokens: 5 })).toMatchObject({ content: 'one two' });
    expect(await ask({ max_tokens: 3 })).toEqual({ content: text, finish: 'stop', completionTokens: 8 });
  });

  it('sends no usage chunk when none was asked for, or when the script says null', async () => {
    const { server, client } = await start();
    server.enqueue({ text: 'a b' }, { text: 'a b', usage: null });
    for (const streamOptions of [undefined, { include_usage: true }]) {
      const stream = await client.chat.completions.create({
        model: 'm',
        messages: [],
        stream: true,
        ...(streamOptions ? { stream_options: streamOptions } : {}),
      });
      for await (const chunk of stream) {
        expect(chunk.usage).toBeUndefined();
        expect(chunk.choices).toHaveLength(1);
      }
    }
  });

  it('streams reasoning before content as reasoning_content deltas', async () => {
    const { server, client } = await start();
    server.enqueue({ reasoning: 'Think first.', text: 'Answer.' });
    const stream = await client.chat.completions.create({ model: 'm', messages: [], stream: true });
    const order: string[] = [];
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as { content?: string; reasoning_content?: string } | undefined;
      if (delta?.reasoning_content) order.push(`r:${delta.reasoning_content}`);
      if (delta?.content) order.push(`c:${delta.content}`);
    }
    expect(order).toEqual(['r:Think', 'r: first.', 'c:Answer.']);
  });

  it('streams tool calls that the SDK reassembles, finishing with tool_calls', async () => {
    const { server, client } = await start();
    const args = '{"city":"Reykjavík","units":"metric","detail":"full forecast"}';
    server.enqueue({
      toolCalls: [
        { name: 'get_weather', arguments: args, id: 'call_fixed' },
        { name: 'get_weather', arguments: '{"city":' },
      ],
    });

    const stream = client.chat.completions.stream({
      model: 'm',
      messages: [{ role: 'user', content: 'Weather?' }],
      tools: [weatherTool],
    });
    const argumentDeltas: string[] = [];
    stream.on('chunk', (chunk) => {
      const fragment = chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments;
      if (fragment) argumentDeltas.push(fragment);
    });
    const final = await stream.finalChatCompletion();

    const choice = final.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    const calls = choice?.message.tool_calls?.map((call) => (call.type === 'function' ? call : undefined));
    expect(calls?.map((call) => [call?.id, call?.function.name, call?.function.arguments])).toEqual([
      ['call_fixed', 'get_weather', args],
      [expect.stringMatching(/^call_/), 'get_weather', '{"city":'],
    ]);
    expect(argumentDeltas.length).toBeGreaterThan(2);
  });

  it('answers without streaming in the chat.completion shape', async () => {
    const { server, client } = await start();
    server.enqueue({ text: 'Plain answer.' }, { toolCalls: [{ name: 'get_weather', arguments: '{}' }] });

    const plain = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'Hi' }] });
    expect(plain).toMatchObject({
      id: expect.stringMatching(/^chatcmpl-/),
      object: 'chat.completion',
      created: expect.any(Number),
      model: 'm',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Plain answer.', refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
    });
    expect(plain.choices[0]?.message).not.toHaveProperty('tool_calls');

    const tools = await client.chat.completions.create({ model: 'm', messages: [], tools: [weatherTool] });
    expect(tools.choices[0]).toMatchObject({
      message: {
        content: null,
        tool_calls: [
          { id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'get_weather', arguments: '{}' } },
        ],
      },
      finish_reason: 'tool_calls',
    });
  });

  it('maps a scripted HTTP error to OpenAI.APIError with its status and message', async () => {
    const { server, client } = await start();
    server.enqueue({ error: { status: 429, message: 'Slow down.', type: 'requests', code: 'rate_limit_exceeded' } });

    const error = await client.chat.completions.create({ model: 'm', messages: [] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error).toMatchObject({
      status: 429,
      code: 'rate_limit_exceeded',
      type: 'requests',
      message: '429 Slow down.',
    });
    expect(server.callCount).toBe(1);
  });

  it('drops the connection mid-stream after disconnectAfterTokens', async () => {
    const { server, client } = await start();
    server.enqueue({ text: 'one two three four five', disconnectAfterTokens: 2 });

    const stream = await client.chat.completions.create({ model: 'm', messages: [], stream: true });
    let content = '';
    const consume = async () => {
      for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? '';
    };
    await expect(consume()).rejects.toThrow();
    expect(content).toBe('one two');
  });

  it('stalls without finishing and lets the client abort, then still serves', async () => {
    const { server, client } = await start();
    server.enqueue({ text: 'never finished', stallAfterTokens: 1 });

    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'm', messages: [], stream: true },
      { signal: controller.signal },
    );
    let content = '';
    let finished = false;
    for await (const chunk of stream) {
      content += chunk.choices[0]?.delta.content ?? '';
      finished ||= chunk.choices[0]?.finish_reason !== null;
      // The SDK ends iteration quietly on a user abort; reaching past the loop proves nothing else ended it.
      if (content === 'never') setTimeout(() => controller.abort(), 20);
    }
    expect(content).toBe('never');
    expect(finished).toBe(false);
    expect(controller.signal.aborted).toBe(true);

    const next = await client.chat.completions.create({ model: 'm', messages: [] });
    expect(next.choices[0]?.message.content).toBe('Hello from the test model.');
  });

  it('closes even while a stream is stalled', async () => {
    const { server, client } = await start();
    server.enqueue({ text: 'x', stallAfterTokens: 0 });
    const stream = await client.chat.completions.create({ model: 'm', messages: [], stream: true });
    const consumed = (async () => {
      for await (const _ of stream) {
        // Drain until close() cuts the stalled stream.
      }
    })().catch((error: unknown) => error);
    await server.close();
    expect(await consumed).toBeInstanceOf(Error);
  });

  it('paces the first chunk and the tokens after it', async () => {
    const { server, client } = await start({ ttftMs: 60 });
    server.enqueue({ text: 'a b c d', tokenIntervalMs: 20 });
    const started = performance.now();
    const stream = await client.chat.completions.create({ model: 'm', messages: [], stream: true });
    const arrivals: number[] = [];
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) arrivals.push(performance.now() - started);
    }
    expect(arrivals).toHaveLength(4);
    expect(arrivals[0]).toBeGreaterThanOrEqual(55);
    expect((arrivals[3] ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThanOrEqual(55);
  });

  it('records every request, including ones answered with errors', async () => {
    const { server, client } = await start();
    server.enqueue({ error: { status: 500 } });
    const messages = [
      { role: 'system' as const, content: 'Be brief.' },
      { role: 'user' as const, content: 'Hi' },
    ];
    await expect(client.chat.completions.create({ model: 'a', messages, tools: [weatherTool] })).rejects.toMatchObject({
      status: 500,
    });
    await client.chat.completions.create({
      model: 'b',
      messages,
      stream: true,
      max_completion_tokens: 64,
      stream_options: { include_usage: true },
    });

    expect(server.callCount).toBe(2);
    expect(server.calls[0]).toMatchObject({ model: 'a', messages, tools: [weatherTool], stream: false });
    expect(server.calls[1]).toMatchObject({
      model: 'b',
      stream: true,
      maxTokens: 64,
      streamOptions: { include_usage: true },
    });
    expect(server.calls[1]?.headers.authorization).toBe('Bearer test');
    expect(server.calls[1]?.body.max_completion_tokens).toBe(64);

    server.reset();
    expect(server.callCount).toBe(0);
    expect(server.calls).toEqual([]);
  });

  it('uses queued replies first-in first-out, then falls back to the responder', async () => {
    const { server, client } = await start({ respond: (_request, callIndex) => ({ text: `fallback ${callIndex}` }) });
    server.enqueue({ text: 'first' }, { text: 'second' });
    const ask = async () =>
      (await client.chat.completions.create({ model: 'm', messages: [] })).choices[0]?.message.content;

    expect([await ask(), await ask(), await ask()]).toEqual(['first', 'second', 'fallback 2']);
    server.setResponder((request) => ({ text: `echo ${request.model}` }));
    expect(await ask()).toBe('echo m');
  });

  it('answers a throwing responder with a 500 instead of crashing', async () => {
    const { client } = await start({
      respond: () => {
        throw new Error('broken script');
      },
    });
    await expect(client.chat.completions.create({ model: 'm', messages: [] })).rejects.toMatchObject({
      status: 500,
      message: expect.stringContaining('broken script'),
    });
  });

  it('enforces the API key when one is configured', async () => {
    const { server, client } = await start({ apiKey: 'sk-right' });
    const wrong = new OpenAI({ baseURL: server.url, apiKey: 'sk-wrong', maxRetries: 0 });

    const error = await wrong.chat.completions.create({ model: 'm', messages: [] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(error).toMatchObject({ status: 401, code: 'invalid_api_key' });
    await expect(wrong.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);

    const right = await client.chat.completions.create({ model: 'm', messages: [] });
    expect(right.choices[0]?.message.content).toBe('Hello from the test model.');
  });

  it('lists the test model and every model seen', async () => {
    const { client } = await start();
    await client.chat.completions.create({ model: 'gpt-seen', messages: [] });
    const models = await client.models.list();
    expect(models.data.map((model) => model.id)).toEqual(['test-model', 'gpt-seen']);
    expect(models.data[0]).toMatchObject({ object: 'model', owned_by: 'hearth-test', created: expect.any(Number) });
  });

  it('answers bad JSON with 400 and unknown paths with 404, both OpenAI-style', async () => {
    const { server } = await start();
    const badJson = await fetch(`${server.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model":',
    });
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toEqual({
      error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: null },
    });

    const missing = await fetch(`${server.url}/completions`, { method: 'POST', body: '{}' });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { message: 'Invalid URL (POST /v1/completions)' } });
    expect(server.callCount).toBe(0);
  });

  it('serves many concurrent streams', async () => {
    const { client } = await start();
    const texts = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const stream = await client.chat.completions.create({ model: 'm', messages: [], stream: true });
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
        return text;
      }),
    );
    expect(new Set(texts)).toEqual(new Set(['Hello from the test model.']));
  });
});
