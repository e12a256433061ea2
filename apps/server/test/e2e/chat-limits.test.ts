import { TestClock, testDatabases } from '@hearth/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectHearthError } from '../support/expect-error';
import { collectRun } from '../support/run-events';
import { signedInClient, startTestServer, type TestServer } from '../support/test-server';

describe.each(testDatabases())('per-user chat limits, on $name', ({ location }) => {
  let server: TestServer;
  const clock = new TestClock();

  beforeAll(async () => {
    server = await startTestServer({
      store: location,
      clock,
      // Slow words: runs stay active while the test sends more.
      env: { RUNS_PER_USER_MAX: '2', SENDS_PER_MINUTE_MAX: '4', OFFLINE_WORD_DELAY_MS: '40' },
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('refuses a third run at once with RATE_LIMITED, and takes it once one has ended', async () => {
    const client = await signedInClient(server, 'runs');
    const conversations = await Promise.all(
      ['a', 'b', 'c'].map((title) => client.chat.createConversation.mutate({ title })),
    );
    const [a, b, c] = conversations.map((conversation) => conversation.id);
    const first = await client.chat.send.mutate({ text: 'a long answer please', conversationId: a });
    await client.chat.send.mutate({ text: 'another long one', conversationId: b });

    const refused = await expectHearthError(
      client.chat.send.mutate({ text: 'and a third', conversationId: c }),
      'RATE_LIMITED',
    );
    expect(refused.data.retryAfterSeconds).toBeGreaterThan(0);
    const { messages } = await client.chat.history.query({ conversationId: c });
    expect(messages).toEqual([]);

    await client.chat.cancel.mutate({ runId: first.runId });
    const third = await client.chat.send.mutate({ text: 'and a third', conversationId: c });
    await client.chat.cancel.mutate({ runId: third.runId });
  });

  it('refuses sends past the per-minute limit until the minute has passed; a repeated send counts once', async () => {
    const client = await signedInClient(server, 'rate');
    const clientMessageId = crypto.randomUUID();
    for (let i = 0; i < 4; i += 1) {
      const { runId } = await client.chat.send.mutate({ text: `hi ${i}`, ...(i === 0 ? { clientMessageId } : {}) });
      await collectRun(client, runId);
    }
    // The same send again (its clientMessageId) is the first run again, not a fifth send.
    await client.chat.send.mutate({ text: 'hi 0', clientMessageId });

    const refused = await expectHearthError(client.chat.send.mutate({ text: 'one too many' }), 'RATE_LIMITED');
    expect(refused.data.retryAfterSeconds).toBeGreaterThan(0);
    expect(refused.data.retryAfterSeconds).toBeLessThanOrEqual(60);
    const { messages } = await client.chat.history.query({});
    expect(messages.filter((m) => m.role === 'user')).toHaveLength(4);

    clock.advance(61_000);
    const { runId } = await client.chat.send.mutate({ text: 'a minute later' });
    await collectRun(client, runId);
  });
});
