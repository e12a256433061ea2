import { testDatabases } from '@hearth/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectRun } from '../support/run-events';
import { PASSWORD, startTestServer, type TestServer, uniqueEmail } from '../support/test-server';

const postgres = testDatabases().find((db) => db.name === 'postgres');

// Two servers on one PostgreSQL, as behind a load balancer: a run lives in the process that
// started it, and a cancel that lands on the other one must still stop it.
describe.runIf(postgres)('a run cancelled through another process sharing PostgreSQL', () => {
  let first: TestServer;
  let second: TestServer;

  beforeAll(async () => {
    if (!postgres) return;
    // Slow words, so the run is still streaming when the cancel arrives.
    const env = { OFFLINE_WORD_DELAY_MS: '150' };
    first = await startTestServer({ store: postgres.location, env });
    second = await startTestServer({ store: postgres.location, env });
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
  });

  it('stops, keeps the partial answer, and tells both the canceller and the subscriber', async () => {
    const here = first.client();
    await here.auth.register.mutate({ email: uniqueEmail('cancel'), password: PASSWORD });
    const { runId } = await here.chat.send.mutate({ text: 'tell me a long story please' });
    const streaming = collectRun(here, runId);
    await new Promise((resolve) => setTimeout(resolve, 600));

    const there = second.client({ session: here.session });
    expect(await there.chat.cancel.mutate({ runId })).toEqual({ runId, status: 'cancelled' });

    const { terminal, text } = await streaming;
    expect(terminal).toMatchObject({ type: 'run.cancelled', partial: { status: 'incomplete' } });
    expect(text.length).toBeGreaterThan(0);
    const { messages } = await there.chat.history.query({});
    expect(messages.map((m) => [m.role, m.status])).toEqual([
      ['user', 'complete'],
      ['assistant', 'incomplete'],
    ]);
    expect(messages[1]?.content).toBe(text);
  });

  it('answers a cancel for a run that already ended with its status, from either process', async () => {
    const client = second.client();
    await client.auth.register.mutate({ email: uniqueEmail('ended'), password: PASSWORD });
    const { runId } = await client.chat.send.mutate({ text: 'hi' });
    await collectRun(client, runId);
    const elsewhere = first.client({ session: client.session });
    expect(await elsewhere.chat.cancel.mutate({ runId })).toEqual({ runId, status: 'completed' });
  });
});
