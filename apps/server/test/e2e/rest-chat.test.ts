import { setTimeout as sleep } from 'node:timers/promises';
import { testDatabases } from '@hearth/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataOf, RestContract, type SseEvent, streamedText } from '../support/rest';
import { PASSWORD, startTestServer, type TestServer, uniqueEmail } from '../support/test-server';

interface ErrorBody {
  error: { code: string; message: string; fieldErrors?: Record<string, string[]>; retryAfterSeconds?: number };
}
interface SendBody {
  runId: string;
  conversationId: string;
  userMessage: { id: string; content: string; createdAt: string };
}
interface HistoryBody {
  messages: Array<{ role: string; content: string; status: string; createdAt: string }>;
  nextCursor: string | null;
}

const ANSWER = "I'm Hearth's offline demo model";
const PER_USER = 2;

describe.each(testDatabases())('REST chat and its event streams on $name', ({ location }) => {
  let server: TestServer;
  let api: RestContract;

  beforeAll(async () => {
    server = await startTestServer({
      store: location,
      // Slow enough that a stream can be dropped and resumed while the run is still going.
      env: { OFFLINE_WORD_DELAY_MS: '15', STREAMS_PER_USER_MAX: String(PER_USER) },
    });
    api = await RestContract.load(server.url);
  });
  afterAll(async () => {
    await server?.close();
  });

  async function register(tag = 'rest-chat'): Promise<string> {
    const { body } = await api.call<{ session: { accessToken: string } }>('POST', '/api/v1/auth/register', {
      body: { email: uniqueEmail(tag), password: PASSWORD },
    });
    return body.session.accessToken;
  }

  const send = (token: string, body: Record<string, unknown>) =>
    api.call<SendBody>('POST', '/api/v1/chat/message', { token, body });

  function expectError(response: { status: number; body: unknown }, status: number, code: string) {
    expect(response.status).toBe(status);
    const { error } = response.body as ErrorBody;
    expect(error.code).toBe(code);
    return error;
  }

  function expectWholeRun(events: SseEvent[]) {
    expect(events[0]?.data.type).toBe('run.started');
    expect(events.at(-1)?.data.type).toBe('run.completed');
    const ids = events.map((e) => Number(e.id));
    expect(ids.every((id) => Number.isInteger(id))).toBe(true);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
  }

  it('streams the answer to a message sent with Accept: text/event-stream, and stores both sides', async () => {
    const token = await register();
    const response = await api.stream('POST', '/api/v1/chat/message', { token, body: { text: 'hello there' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toContain('no-cache');
    expectWholeRun(response.events);
    expect(response.events.some((e) => e.data.type === 'text.delta')).toBe(true);
    expect(streamedText(response.events)).toMatch(new RegExp(`^${ANSWER}`));
    const started = dataOf<{ runId: string; conversationId: string }>(response.events[0]);
    const completed = dataOf<{ message: { content: string; createdAt: string } }>(response.events.at(-1));
    expect(completed.message.content).toBe(streamedText(response.events));

    const history = await api.call<HistoryBody>('GET', '/api/v1/chat/history', {
      token,
      query: { conversationId: started.conversationId },
    });
    expect(history.body.messages.map((m) => [m.role, m.status])).toEqual([
      ['user', 'complete'],
      ['assistant', 'complete'],
    ]);
    expect(history.body.messages[0]?.content).toBe('hello there');
    expect(history.body.messages[1]?.content).toBe(completed.message.content);
    expect(history.body.messages[1]?.createdAt).toBe(completed.message.createdAt);
  });

  it('answers 202 without the Accept header; GET events streams the run; cancel reports its status', async () => {
    const token = await register();
    const sent = await send(token, { text: 'hello' });
    expect(sent.status).toBe(202);
    expect(sent.body.userMessage.content).toBe('hello');
    const events = await api.stream('GET', `/api/v1/chat/runs/${sent.body.runId}/events`, { token });
    expect(events.status).toBe(200);
    expectWholeRun(events.events);
    expect(dataOf<{ runId: string }>(events.events[0]).runId).toBe(sent.body.runId);

    // A run that has ended stays ended.
    const cancelled = await api.call('POST', `/api/v1/chat/runs/${sent.body.runId}/cancel`, { token });
    expect(cancelled).toMatchObject({ status: 200, body: { runId: sent.body.runId, status: 'completed' } });
  });

  it('cancels a running run: its stream ends with run.cancelled', async () => {
    const token = await register();
    const sent = await send(token, { text: 'tell me a long story' });
    const cancelled = await api.call<{ status: string }>('POST', `/api/v1/chat/runs/${sent.body.runId}/cancel`, {
      token,
    });
    expect(cancelled.status).toBe(200);
    expect(['cancelled', 'running', 'queued']).toContain(cancelled.body.status);
    const events = await api.stream('GET', `/api/v1/chat/runs/${sent.body.runId}/events`, { token });
    expect(events.events.at(-1)?.data.type).toBe('run.cancelled');
  });

  it.each([
    ['the Last-Event-ID header', (id: string) => ({ headers: { 'last-event-id': id } })],
    ['?lastEventId=', (id: string) => ({ query: { lastEventId: id } })],
  ])('resumes after %s with no gap and no duplicate', async (_, resumeFrom) => {
    const token = await register();
    const sent = await send(token, { text: 'hello there' });
    const path = `/api/v1/chat/runs/${sent.body.runId}/events`;
    const head = await api.stream('GET', path, { token, stopAfter: (_e, count) => count === 4 });
    expect(head.events).toHaveLength(4);
    const lastId = head.events.at(-1)?.id ?? '';
    const tail = await api.stream('GET', path, { token, ...resumeFrom(lastId) });
    expect(tail.status).toBe(200);
    const resumed = [...head.events, ...tail.events];
    expectWholeRun(resumed);

    // The same run read whole, from the start, is exactly the two pieces joined.
    const whole = await api.stream('GET', path, { token });
    expect(resumed.map((e) => [e.id, e.data])).toEqual(whole.events.map((e) => [e.id, e.data]));
  });

  it('stops streaming when the client hangs up: its stream slot is free again', async () => {
    const token = await register();
    const sent = await send(token, { text: 'hello there' });
    const path = `/api/v1/chat/runs/${sent.body.runId}/events`;
    // More hang-ups than the per-user cap: each must have given its slot back for the next to open.
    for (let i = 0; i < PER_USER * 3; i += 1) {
      for (let attempt = 1; ; attempt += 1) {
        const opened = await api.stream('GET', path, { token, stopAfter: () => true });
        if (opened.status === 200) {
          expect(opened.events).toHaveLength(1);
          break;
        }
        expectError(opened, 429, 'RATE_LIMITED');
        // The server sees the connection go a moment after the client drops it.
        expect(attempt).toBeLessThan(50);
        await sleep(20);
      }
    }
  });

  it('refuses a stream past the per-user cap with 429 and Retry-After', async () => {
    const token = await register();
    const sent = await send(token, { text: 'tell me everything' });
    const path = `${server.url}/api/v1/chat/runs/${sent.body.runId}/events`;
    const held = [];
    for (let i = 0; i < PER_USER; i += 1) {
      const stop = new AbortController();
      const response = await fetch(path, { headers: { authorization: `Bearer ${token}` }, signal: stop.signal });
      expect(response.status).toBe(200);
      held.push(stop);
    }
    const refused = await api.stream('GET', `/api/v1/chat/runs/${sent.body.runId}/events`, { token });
    const error = expectError(refused, 429, 'RATE_LIMITED');
    expect(error.retryAfterSeconds).toBeGreaterThan(0);
    expect(refused.headers.get('retry-after')).toBe(String(error.retryAfterSeconds));
    for (const stop of held) stop.abort();
  });

  it('refuses bad input with field errors and stores nothing', async () => {
    const token = await register();
    const conversationsBefore = await api.call<{ conversations: unknown[] }>('GET', '/api/v1/chat/conversations', {
      token,
    });
    for (const [body, field] of [
      [{ text: '   ' }, 'text'],
      [{ text: 'x'.repeat(32_001) }, 'text'],
      [{ text: 'hi', conversationId: 'nope' }, 'conversationId'],
      [{ text: 'hi', clientMessageId: 42 }, 'clientMessageId'],
      [{ text: 'hi', model: 'no-such-model' }, 'model'],
    ] as const) {
      const error = expectError(await send(token, body), 400, 'INVALID_INPUT');
      expect(Object.keys(error.fieldErrors ?? {}), JSON.stringify(body)).toEqual([field]);
      // The SSE form refuses in the same way, as JSON, before any stream opens.
      const streamed = await api.stream('POST', '/api/v1/chat/message', { token, body });
      expectError(streamed, 400, 'INVALID_INPUT');
    }
    // Reading history makes the default conversation, so conversations are counted first.
    const conversations = await api.call<{ conversations: unknown[] }>('GET', '/api/v1/chat/conversations', {
      token,
    });
    expect(conversations.body.conversations).toEqual(conversationsBefore.body.conversations);
    const history = await api.call<HistoryBody>('GET', '/api/v1/chat/history', { token });
    expect(history.body.messages).toEqual([]);

    expectError(await api.call('POST', '/api/v1/chat/runs/not-a-run/cancel', { token }), 400, 'INVALID_INPUT');
    const badResume = await api.stream('GET', `/api/v1/chat/runs/${crypto.randomUUID()}/events`, {
      token,
      query: { lastEventId: 'x'.repeat(65) },
    });
    expect(Object.keys(expectError(badResume, 400, 'INVALID_INPUT').fieldErrors ?? {})).toEqual(['lastEventId']);
    expectError(await api.call('GET', '/api/v1/chat/history', { token, query: { limit: '0' } }), 400, 'INVALID_INPUT');
  });

  it('keeps another user’s runs and conversations NOT_FOUND on every chat route', async () => {
    const alice = await register('rest-alice');
    const bob = await register('rest-bob');
    const sent = await send(alice, { text: 'hello' });
    const { runId, conversationId } = sent.body;

    const events = await api.stream('GET', `/api/v1/chat/runs/${runId}/events`, { token: bob });
    expectError(events, 404, 'NOT_FOUND');
    expectError(await api.call('POST', `/api/v1/chat/runs/${runId}/cancel`, { token: bob }), 404, 'NOT_FOUND');
    expectError(await send(bob, { text: 'sneaky', conversationId }), 404, 'NOT_FOUND');
    expectError(
      await api.call('GET', '/api/v1/chat/history', { token: bob, query: { conversationId } }),
      404,
      'NOT_FOUND',
    );
    const unknown = await api.stream('GET', `/api/v1/chat/runs/${crypto.randomUUID()}/events`, { token: alice });
    expectError(unknown, 404, 'NOT_FOUND');

    // Alice's run was neither cancelled nor joined by Bob's message.
    const own = await api.stream('GET', `/api/v1/chat/runs/${runId}/events`, { token: alice });
    expect(own.events.at(-1)?.data.type).toBe('run.completed');
    const history = await api.call<HistoryBody>('GET', '/api/v1/chat/history', {
      token: alice,
      query: { conversationId },
    });
    expect(history.body.messages.map((m) => m.content)).not.toContain('sneaky');
  });

  it('pages history with limit and cursor', async () => {
    const token = await register();
    const first = await api.stream('POST', '/api/v1/chat/message', { token, body: { text: 'one' } });
    const conversationId = dataOf<{ conversationId: string }>(first.events[0]).conversationId;
    await api.stream('POST', '/api/v1/chat/message', { token, body: { text: 'two', conversationId } });
    const page = await api.call<HistoryBody>('GET', '/api/v1/chat/history', {
      token,
      query: { conversationId, limit: '3' },
    });
    expect(page.body.messages).toHaveLength(3);
    expect(page.body.nextCursor).not.toBeNull();
    const rest = await api.call<HistoryBody>('GET', '/api/v1/chat/history', {
      token,
      query: { conversationId, limit: '3', cursor: page.body.nextCursor ?? '' },
    });
    const contents = [...rest.body.messages, ...page.body.messages].map((m) => m.content);
    expect(contents).toHaveLength(4);
    expect(contents.filter((c) => c === 'one' || c === 'two').sort()).toEqual(['one', 'two']);
    expect(rest.body.nextCursor).toBeNull();
  });
});
