import { type LlmTestServer, startLlmTestServer } from '@hearth/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatTurn } from '../support/run-events';
import { signedInClient, startTestServer, type TestServer, testLlmClient } from '../support/test-server';

type Sent = Array<{ role: string; content: string | null }>;
const isSummaryRequest = (messages: Sent) => messages[0]?.content?.startsWith('You are summarizing') ?? false;

describe('context overflow', () => {
  let llm: LlmTestServer;
  let server: TestServer;

  beforeAll(async () => {
    llm = await startLlmTestServer({
      respond: (request) => {
        const messages = request.messages as Sent;
        if (isSummaryRequest(messages)) return { text: 'SUMMARY: the person keeps describing lighthouses.' };
        const last = messages.at(-1)?.content ?? '';
        if (last.includes('search please')) {
          return messages.at(-1)?.role === 'tool'
            ? { text: 'Found it.' }
            : { toolCalls: [{ name: 'conversation_search', arguments: '{"query":"lighthouse0"}' }] };
        }
        if (messages.at(-1)?.role === 'tool') return { text: 'Found it.' };
        return { text: 'Noted, that is a fine lighthouse.' };
      },
    });
    server = await startTestServer({
      store: { kind: 'pglite-memory' },
      env: { LLM_CONTEXT_WINDOW: '1024' },
      llm: testLlmClient(llm),
    });
  });
  afterAll(async () => {
    await server?.close();
    await llm?.close();
  });

  it('folds the oldest messages into a model-written summary and the chat goes on', async () => {
    const client = await signedInClient(server, 'context');
    const filler = 'with a red lamp, white stones, a spiral stair and gulls circling above the sea at dusk '.repeat(3);
    const usageEventsPerTurn: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      const turn = await chatTurn(client, `Here is lighthouse${i}, ${filler}`);
      expect(turn.terminal?.type).toBe('run.completed');
      usageEventsPerTurn.push(turn.events.filter((e) => e.data.type === 'usage').length);
    }
    // The summary is a model call too, and is reported (and later billed) like any other step.
    expect(Math.max(...usageEventsPerTurn)).toBe(2);

    const calls = llm.calls.map((call) => call.messages as Sent);
    const summaryCalls = calls.filter(isSummaryRequest);
    expect(summaryCalls.length).toBeGreaterThan(0);
    expect(summaryCalls[0]?.at(-1)?.content).toContain('lighthouse0');

    const chatCalls = calls.filter((messages) => !isSummaryRequest(messages));
    const last = chatCalls.at(-1) ?? [];
    expect(last[0]?.content).toContain('<conversation_summary>');
    expect(last[0]?.content).toContain('SUMMARY: the person keeps describing lighthouses.');
    expect(last.some((m) => m.content?.includes('lighthouse0'))).toBe(false);
    expect(last.at(-1)?.content).toContain('lighthouse9');
    for (const messages of chatCalls) {
      const characters = messages.reduce((n, m) => n + (m.content?.length ?? 0), 0);
      expect(characters).toBeLessThan(1024 * 4);
    }

    // Nothing is lost: history keeps every message, and the agent can still search the evicted ones.
    const { messages } = await client.chat.history.query({ limit: 100 });
    expect(messages).toHaveLength(20);
    const search = await chatTurn(client, 'search please');
    const result = search.events.find((e) => e.data.type === 'tool.result')?.data;
    expect(JSON.stringify(result)).toContain('lighthouse0');
  });
});
