import { testDatabases } from '@hearth/core/testing';
import { type HearthClient, isHearthError } from '@hearth/sdk';
import { type LlmTestServer, startLlmTestServer } from '@hearth/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectRun } from '../support/run-events';
import { signedInClient, startTestServer, type TestServer, testLlmClient } from '../support/test-server';

/** What a caller learns from an answer: success, or the error's status, code and message. */
async function answerOf(call: Promise<unknown>) {
  try {
    await call;
    return { ok: true };
  } catch (error) {
    if (!isHearthError(error)) throw error;
    return { httpStatus: error.data.httpStatus, appCode: error.data.appCode, message: error.message };
  }
}

const cursorFor = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe.each(testDatabases())('another user’s ids answer as random ids do, on $name', ({ location }) => {
  let llm: LlmTestServer;
  let server: TestServer;

  beforeAll(async () => {
    llm = await startLlmTestServer();
    server = await startTestServer({ store: location, llm: testLlmClient(llm) });
  });
  afterAll(async () => {
    await server?.close();
    await llm?.close();
  });

  /** Every procedure that takes an id, called by `caller` with the ids in `ids`. */
  const idTakingCalls = (
    caller: HearthClient,
    ids: { conversationId: string; runId: string; historyCursor: string },
  ): Record<string, () => Promise<unknown>> => ({
    'chat.send': () => caller.chat.send.mutate({ text: 'let me in', conversationId: ids.conversationId }),
    'chat.events': () => collectRun(caller, ids.runId, { timeoutMs: 5_000 }),
    'chat.cancel': () => caller.chat.cancel.mutate({ runId: ids.runId }),
    'chat.history': () => caller.chat.history.query({ conversationId: ids.conversationId }),
    'chat.history cursor': () => caller.chat.history.query({ cursor: ids.historyCursor }),
    'chat.renameConversation': () =>
      caller.chat.renameConversation.mutate({
        conversationId: ids.conversationId,
        title: 'mine now',
      }),
    'chat.setConversationModel': () =>
      caller.chat.setConversationModel.mutate({ conversationId: ids.conversationId, model: 'test-model' }),
    'chat.deleteConversation': () => caller.chat.deleteConversation.mutate({ conversationId: ids.conversationId }),
  });

  const answersOf = async (calls: Record<string, () => Promise<unknown>>) => {
    const answers: Record<string, unknown> = {};
    for (const [name, call] of Object.entries(calls)) answers[name] = await answerOf(call());
    return answers;
  };

  it('for every id-taking procedure, while the owner’s run is active and after it ended', async () => {
    const alice = await signedInClient(server, 'owner');
    const bob = await signedInClient(server, 'other');
    const conversation = await alice.chat.createConversation.mutate({ title: 'private' });
    llm.enqueue({ text: 'first answer' });
    const first = await alice.chat.send.mutate({ text: 'one', conversationId: conversation.id });
    await collectRun(alice, first.runId);
    llm.enqueue({ text: 'second answer' });
    const second = await alice.chat.send.mutate({ text: 'two', conversationId: conversation.id });
    await collectRun(alice, second.runId);
    const page = await alice.chat.history.query({ conversationId: conversation.id, limit: 2 });
    const alicesIds = { conversationId: conversation.id, runId: second.runId, historyCursor: page.nextCursor ?? '' };
    const randomIds = {
      conversationId: crypto.randomUUID(),
      runId: crypto.randomUUID(),
      historyCursor: cursorFor({ c: crypto.randomUUID(), s: 2 }),
    };
    // Bob's own default conversation exists, so his cursor calls reach the cursor check.
    await bob.chat.history.query({});

    llm.enqueue({ text: Array.from({ length: 2_000 }, (_, i) => `w${i}`).join(' '), tokenIntervalMs: 5 });
    const active = await alice.chat.send.mutate({ text: 'talk for a while', conversationId: conversation.id });
    await collectRun(alice, active.runId, { stopAfter: (_, count) => count >= 3 });
    const whileActive = await answersOf(idTakingCalls(bob, { ...alicesIds, runId: active.runId }));
    const random = await answersOf(idTakingCalls(bob, randomIds));
    expect(whileActive).toEqual(random);

    expect(await alice.chat.cancel.mutate({ runId: active.runId })).toMatchObject({ status: 'cancelled' });
    expect(await answersOf(idTakingCalls(bob, alicesIds))).toEqual(random);
    expect(random['chat.deleteConversation']).toMatchObject({ appCode: 'NOT_FOUND', httpStatus: 404 });
    expect(random['chat.setConversationModel']).toMatchObject({ appCode: 'NOT_FOUND', httpStatus: 404 });
    expect(random['chat.events']).toMatchObject({ appCode: 'NOT_FOUND' });
    expect(random['chat.history cursor']).toMatchObject({ appCode: 'INVALID_INPUT' });

    // Nothing of Alice's changed, and a clientMessageId is the sender's own: Bob's starts Bob's run.
    const after = await alice.chat.history.query({ conversationId: conversation.id });
    expect(after.messages.map((m) => m.content).slice(0, 4)).toEqual(['one', 'first answer', 'two', 'second answer']);
    expect((await alice.chat.conversations.query({})).conversations[0]).toMatchObject({
      title: 'private',
      model: null,
    });
  });

  it('keeps clientMessageIds per user', async () => {
    const alice = await signedInClient(server, 'owner');
    const bob = await signedInClient(server, 'other');
    const clientMessageId = crypto.randomUUID();
    const hers = await alice.chat.send.mutate({ text: 'mine', clientMessageId });
    await collectRun(alice, hers.runId);
    const his = await bob.chat.send.mutate({ text: 'mine too', clientMessageId });
    expect(his.runId).not.toBe(hers.runId);
    expect(his.userMessage.content).toBe('mine too');
    await collectRun(bob, his.runId);
  });
});
