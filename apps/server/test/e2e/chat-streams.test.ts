import { setTimeout as sleep } from 'node:timers/promises';
import type { HearthClient, TrackedRunEvent } from '@hearth/sdk';
import { isHearthError } from '@hearth/sdk';
import { type LlmTestServer, startLlmTestServer } from '@hearth/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectHearthError } from '../support/expect-error';
import { chatTurn, collectRun } from '../support/run-events';
import { signedInClient, startTestServer, type TestServer, testLlmClient } from '../support/test-server';

const PER_USER = 3;
const PER_RUN = 2;

interface OpenStream {
  close(): void;
}

/** Subscribes to a run and resolves once its first event has arrived: the stream is open. */
function openStream(client: HearthClient, runId: string): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const subscription = client.chat.events.subscribe(
      { runId },
      {
        onData: () => resolve({ close: () => subscription.unsubscribe() }),
        onError: (error) => {
          subscription.unsubscribe();
          reject(error);
        },
      },
    );
  });
}

/**
 * Opens a stream, trying again while it is refused as RATE_LIMITED: a stream the client has just
 * closed gives its slot back only once the server has seen the connection go.
 */
async function openWhenFree(client: HearthClient, runId: string): Promise<OpenStream> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await openStream(client, runId);
    } catch (error) {
      if (!isHearthError(error, 'RATE_LIMITED') || attempt >= 50) throw error;
      await sleep(20);
    }
  }
}

async function drain(events: AsyncIterable<TrackedRunEvent>): Promise<TrackedRunEvent[]> {
  const seen: TrackedRunEvent[] = [];
  for await (const event of events) seen.push(event);
  return seen;
}

describe('chat.events: open-stream caps and resuming', () => {
  let llm: LlmTestServer;
  let server: TestServer;
  const open: OpenStream[] = [];

  beforeAll(async () => {
    llm = await startLlmTestServer();
    server = await startTestServer({
      store: { kind: 'pglite-memory' },
      // A stalled model keeps its run live for as long as a test needs streams open on it.
      llm: testLlmClient(llm, { idleTimeoutMs: 60_000 }),
      env: { STREAMS_PER_USER_MAX: String(PER_USER), STREAMS_PER_RUN_MAX: String(PER_RUN) },
    });
  });
  afterEach(() => {
    for (const stream of open.splice(0)) stream.close();
    llm.reset();
  });
  afterAll(async () => {
    await server?.close();
    await llm?.close();
  });

  /** A run that stays live (its model stalls after one token) until the test cancels it. */
  async function liveRun(client: HearthClient): Promise<string> {
    llm.enqueue({ text: 'one two three', stallAfterTokens: 1 });
    const { id } = await client.chat.createConversation.mutate({});
    return (await client.chat.send.mutate({ text: 'keep talking', conversationId: id })).runId;
  }

  it('refuses a stream past the per-run cap as RATE_LIMITED, and takes one again once a stream closes', async () => {
    const client = await signedInClient(server, 'streams');
    const runId = await liveRun(client);
    for (let i = 0; i < PER_RUN; i += 1) open.push(await openStream(client, runId));

    const refused = await expectHearthError(openStream(client, runId), 'RATE_LIMITED');
    expect(refused.data.retryAfterSeconds).toBeGreaterThan(0);
    expect(refused.message).toMatch(/this run/);

    open.shift()?.close();
    open.push(await openWhenFree(client, runId));
    await client.chat.cancel.mutate({ runId });
  });

  it("refuses a stream past the per-user cap over all the user's runs, and not another user's", async () => {
    const alice = await signedInClient(server, 'streams');
    const first = await liveRun(alice);
    const second = await liveRun(alice);
    for (let i = 0; i < PER_RUN; i += 1) open.push(await openStream(alice, first));
    for (let i = PER_RUN; i < PER_USER; i += 1) open.push(await openStream(alice, second));

    const refused = await expectHearthError(openStream(alice, second), 'RATE_LIMITED');
    expect(refused.message).toMatch(/account/);

    const bob = await signedInClient(server, 'streams');
    open.push(await openStream(bob, await liveRun(bob)));
    await alice.chat.cancel.mutate({ runId: first });
    await alice.chat.cancel.mutate({ runId: second });
  });

  it('gives every slot back: after 100 streams opened and closed, the full cap opens again', async () => {
    const client = await signedInClient(server, 'streams');
    const finished = (await chatTurn(client, 'a short one')).sent.runId;
    const runId = await liveRun(client);
    for (let i = 0; i < 50; i += 1) {
      // Closed by the client while the run goes on, and ended by the run's end (a replay of a finished run).
      (await openWhenFree(client, runId)).close();
      expect((await collectRun(client, finished)).terminal?.type).toBe('run.completed');
    }
    for (let i = 0; i < PER_RUN; i += 1) open.push(await openWhenFree(client, runId));
    const other = await liveRun(client);
    for (let i = PER_RUN; i < PER_USER; i += 1) open.push(await openWhenFree(client, other));
    await expectHearthError(openStream(client, other), 'RATE_LIMITED');
    await client.chat.cancel.mutate({ runId });
    await client.chat.cancel.mutate({ runId: other });
  });

  it('ends a stream resumed after the terminal event, with no event (SDK streamRun)', async () => {
    const client = await signedInClient(server, 'streams');
    llm.enqueue({ text: 'all of it' });
    const turn = await chatTurn(client, 'hello');
    const lastEventId = turn.events.at(-1)?.id ?? '';
    expect(turn.terminal?.type).toBe('run.completed');

    expect(await drain(client.streamRun(turn.sent.runId, { lastEventId }))).toEqual([]);
    expect(await drain(client.streamRun(turn.sent.runId, { lastEventId: 'final' }))).toEqual([]);
    const middle = turn.events.at(-2)?.id ?? '';
    expect((await drain(client.streamRun(turn.sent.runId, { lastEventId: middle }))).map((e) => e.id)).toEqual([
      lastEventId,
    ]);
  });

  it('refuses a lastEventId the run never sent as INVALID_INPUT, instead of replaying the run', async () => {
    const client = await signedInClient(server, 'streams');
    const turn = await chatTurn(client, 'hello');
    for (const lastEventId of ['abc', '-1', '1.5', '999']) {
      const error = await expectHearthError(drain(client.streamRun(turn.sent.runId, { lastEventId })), 'INVALID_INPUT');
      expect(error.data.fieldErrors?.lastEventId).toBeDefined();
    }
  });
});
