import { setTimeout as sleep } from 'node:timers/promises';
import { testDatabases, testRedisUrl } from '@hearth/core/testing';
import { type HearthClient, isHearthError } from '@hearth/sdk';
import { type LlmTestServer, startLlmTestServer } from '@hearth/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectHearthError } from '../support/expect-error';
import { signedInClient, startTestServer, type TestServer, testLlmClient } from '../support/test-server';

const postgres = testDatabases().find((db) => db.name === 'postgres');
const redisUrl = testRedisUrl();

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

/** Tries again while refused: a closed stream's slot is given back once its server has seen it go. */
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

// The open-stream caps of two instances behind a load balancer that is not sticky: one count in Redis.
// With each instance counting on its own (MemoryStreamSlots) the user would get twice the caps.
describe.runIf(postgres && redisUrl)('open-stream caps across two instances sharing PostgreSQL and Redis', () => {
  let llm: LlmTestServer;
  let first: TestServer;
  let second: TestServer;
  const open: OpenStream[] = [];
  const live: { client: HearthClient; runId: string }[] = [];

  beforeAll(async () => {
    if (!postgres || !redisUrl) return;
    llm = await startLlmTestServer();
    const env = {
      REDIS_URL: redisUrl,
      STREAMS_PER_USER_MAX: String(PER_USER),
      STREAMS_PER_RUN_MAX: String(PER_RUN),
    };
    // A stalled model keeps a run live for as long as the test needs streams open on it.
    const options = { store: postgres.location, llm: testLlmClient(llm, { idleTimeoutMs: 60_000 }), env };
    first = await startTestServer(options);
    second = await startTestServer(options);
  });
  afterEach(async () => {
    for (const stream of open.splice(0)) stream.close();
    for (const { client, runId } of live.splice(0)) await client.chat.cancel.mutate({ runId });
    llm.reset();
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
    await llm?.close();
  });

  /** A run that stays live (its model stalls after one token) until the test cancels it. */
  async function liveRun(client: HearthClient): Promise<string> {
    llm.enqueue({ text: 'one two three', stallAfterTokens: 1 });
    const { id } = await client.chat.createConversation.mutate({});
    const { runId } = await client.chat.send.mutate({ text: 'keep talking', conversationId: id });
    live.push({ client, runId });
    return runId;
  }

  it("refuses a stream past the per-user cap counted over both instances, and not another user's", async () => {
    const here = await signedInClient(first, 'streams-shared');
    const there = second.client({ session: here.session });
    const [a, b] = [await liveRun(here), await liveRun(here)];
    open.push(await openStream(here, a));
    open.push(await openStream(there, a));
    open.push(await openStream(there, b));

    // Each instance holds fewer than PER_USER streams of this user; together they hold PER_USER.
    for (const client of [here, there]) {
      const refused = await expectHearthError(openStream(client, b), 'RATE_LIMITED');
      expect(refused.message).toMatch(/account/);
      expect(refused.data.retryAfterSeconds).toBeGreaterThan(0);
    }
    const bob = await signedInClient(second, 'streams-shared');
    open.push(await openStream(bob, await liveRun(bob)));

    // A stream closed on one instance frees a slot for the other.
    open.shift()?.close();
    open.push(await openWhenFree(there, b));
    await expectHearthError(openStream(here, b), 'RATE_LIMITED');
  });

  it('refuses a stream past the per-run cap counted over both instances', async () => {
    const here = await signedInClient(first, 'streams-shared');
    const there = second.client({ session: here.session });
    const runId = await liveRun(here);
    open.push(await openStream(here, runId));
    open.push(await openStream(there, runId));

    for (const client of [here, there]) {
      const refused = await expectHearthError(openStream(client, runId), 'RATE_LIMITED');
      expect(refused.message).toMatch(/this run/);
    }
  });
});
