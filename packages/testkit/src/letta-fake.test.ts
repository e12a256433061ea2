import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeLetta, startFakeLetta } from './letta-fake';
import { startLlmTestServer } from './llm-test-server';
import type { LlmTestServer } from './types';

describe('the fake Letta server', () => {
  let llm: LlmTestServer;
  let letta: FakeLetta;

  beforeAll(async () => {
    llm = await startLlmTestServer();
    letta = await startFakeLetta({ llmUrl: llm.url });
  });
  afterEach(() => {
    llm.reset();
    letta.contract.assertClean();
  });
  afterAll(async () => {
    await letta?.close();
    await llm?.close();
  });

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${letta.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, text: await response.text() };
  };
  const createAgent = async (tags: string[]) =>
    JSON.parse(
      (
        await call('POST', '/v1/agents/', {
          name: 'a',
          model: 'openai/test-model',
          memory_blocks: [{ label: 'human', value: '', limit: 30 }],
          tags,
        })
      ).text,
    ) as { id: string };

  it('finds agents by tag and keeps block limits as Letta does', async () => {
    const mine = await createAgent(['user:1']);
    await createAgent(['user:2']);
    const found = JSON.parse((await call('GET', '/v1/agents/?tags=user:1&match_all_tags=true')).text);
    expect(found.map((agent: { id: string }) => agent.id)).toEqual([mine.id]);
    const over = await call('PATCH', `/v1/agents/${mine.id}/core-memory/blocks/human`, { value: 'x'.repeat(31) });
    expect(over.status).toBe(422);
    expect(over.text).toContain('Exceeds 30 character limit');
  });

  it('refuses a raw streaming send without the SDK version header (422), and streams with it', async () => {
    const agent = await createAgent(['user:3']);
    const body = { messages: [{ role: 'user', content: 'hi' }], streaming: true, stream_tokens: true };
    expect((await call('POST', `/v1/agents/${agent.id}/messages`, body)).status).toBe(422);

    llm.enqueue({ text: 'Hello there' });
    const streamed = await call('POST', `/v1/agents/${agent.id}/messages`, body, {
      'x-stainless-package-version': '1.12.1',
    });
    const events = streamed.text
      .split('\n\n')
      .filter(Boolean)
      .map((frame) => frame.replace(/^data: /, ''));
    expect(events.at(-1)).toBe('[DONE]');
    const types = events.slice(0, -1).map((data) => (JSON.parse(data) as { message_type: string }).message_type);
    expect(types.filter((type) => type === 'assistant_message').length).toBeGreaterThan(1);
    expect(types.slice(-2)).toEqual(['stop_reason', 'usage_statistics']);
  });

  it('reports a model failure mid-stream as event: error and stop_reason llm_api_error', async () => {
    const agent = await createAgent(['user:4']);
    llm.enqueue({ text: 'one two three', disconnectAfterTokens: 2 });
    const streamed = await call(
      'POST',
      `/v1/agents/${agent.id}/messages`,
      { messages: [{ role: 'user', content: 'hi' }], streaming: true, stream_tokens: true },
      { 'x-stainless-package-version': '1.12.1' },
    );
    expect(streamed.text).toContain('event: error\ndata: {"message_type":"error_message"');
    expect(streamed.text).toContain('"stop_reason":"llm_api_error"');
  });
});
