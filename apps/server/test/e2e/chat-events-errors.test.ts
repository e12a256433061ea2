import { type HearthClient, isHearthError } from '@hearth/sdk';
import { type LlmTestServer, startLlmTestServer } from '@hearth/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrpcErrorBody } from '../support/expect-error';
import { chatTurn, collectRun } from '../support/run-events';
import { signedInClient, startTestServer, type TestServer, testLlmClient } from '../support/test-server';

describe('chat.events refused before the stream opens', () => {
  let llm: LlmTestServer;
  let server: TestServer;

  beforeAll(async () => {
    llm = await startLlmTestServer();
    server = await startTestServer({ store: { kind: 'pglite-memory' }, llm: testLlmClient(llm) });
  });
  afterAll(async () => {
    await server?.close();
    await llm?.close();
  });

  const eventsUrl = (input: unknown) =>
    `${server.url}/trpc/chat.events?input=${encodeURIComponent(JSON.stringify({ json: input }))}`;
  const tokenOf = (client: HearthClient) => client.session?.accessToken ?? '';
  const subscribe = (client: HearthClient, input: unknown) =>
    fetch(eventsUrl(input), { headers: { authorization: `Bearer ${tokenOf(client)}`, accept: 'text/event-stream' } });

  it("answers another user's run, and an unknown one, with a plain HTTP 404 in the contract's shape", async () => {
    const alice = await signedInClient(server, 'events-owner');
    const bob = await signedInClient(server, 'events-other');
    const { sent } = await chatTurn(alice, 'hello');
    const answers = [];
    for (const runId of [sent.runId, crypto.randomUUID()]) {
      const response = await subscribe(bob, { runId });
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await response.json()) as TrpcErrorBody;
      expect(body.error.json.data).toMatchObject({ appCode: 'NOT_FOUND', httpStatus: 404, path: 'chat.events' });
      expect(body.error.json.data.stack).toBeUndefined();
      answers.push(body.error.json);
    }
    expect(answers[0]).toEqual(answers[1]);

    const own = await subscribe(alice, { runId: sent.runId });
    expect(own.status).toBe(200);
    expect(own.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(await own.text()).toContain('run.completed');
  });

  it('answers a missing session and bad input before the stream as well', async () => {
    const signedOut = await fetch(eventsUrl({ runId: crypto.randomUUID() }));
    expect(signedOut.status).toBe(401);
    expect(((await signedOut.json()) as TrpcErrorBody).error.json.data.appCode).toBe('UNAUTHENTICATED');
    const bob = await signedInClient(server, 'events-input');
    const bad = await subscribe(bob, { runId: 'not a uuid' });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as TrpcErrorBody;
    expect(body.error.json.data).toMatchObject({ appCode: 'INVALID_INPUT', fieldErrors: { runId: expect.any(Array) } });
  });

  it('gives SDK callers a typed NOT_FOUND at the first attempt, through subscribe and streamRun', async () => {
    const alice = await signedInClient(server, 'events-owner');
    const { sent } = await chatTurn(alice, 'hello again');
    let attempts = 0;
    const counting: typeof fetch = (input, init) => {
      if (String(input instanceof Request ? input.url : input).includes('/trpc/chat.events')) attempts += 1;
      return fetch(input, init);
    };
    const bob = server.client({ fetch: counting });
    const other = await signedInClient(server, 'events-other');
    bob.setSession(other.session);

    const viaSubscribe = await collectRun(bob, sent.runId).catch((error: unknown) => error);
    expect(isHearthError(viaSubscribe, 'NOT_FOUND')).toBe(true);
    expect(attempts).toBe(1);

    const viaStreamRun = await (async () => {
      for await (const _ of bob.streamRun(sent.runId)) throw new Error('no event expected');
    })().catch((error: unknown) => error);
    expect(isHearthError(viaStreamRun, 'NOT_FOUND')).toBe(true);
    expect(attempts).toBe(2);
  });
});
