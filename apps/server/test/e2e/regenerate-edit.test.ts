import { testDatabases } from '@hearth/core/testing';
import type { HearthClient, HistoryMessage } from '@hearth/sdk';
import { type LlmTestServer, startLlmTestServer } from '@hearth/testkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Backend, startBackend } from '../support/agent-backends';
import { expectHearthError } from '../support/expect-error';
import { RestContract } from '../support/rest';
import { chatTurn, collectRun } from '../support/run-events';
import { signedInClient, startTestServer, type TestServer, testLlmClient } from '../support/test-server';

type Sent = Array<{ role: string; content: string | null }>;

/** Answers every call with a new text, `answer <n>`, so each run's answer can be told apart. */
function numberedAnswers() {
  let n = 0;
  return () => {
    n += 1;
    return { text: `answer ${n}`, usage: { promptTokens: 100, completionTokens: 3 } };
  };
}

const lastCall = (llm: LlmTestServer) => (llm.calls.at(-1)?.messages ?? []) as Sent;
const contents = (messages: Sent) => messages.map((m) => m.content ?? '');
const texts = (messages: HistoryMessage[]) => messages.map((m) => m.content);

describe.each(testDatabases())('regenerate and edit on the built-in runtime ($name)', ({ location }) => {
  let llm: LlmTestServer;
  let server: TestServer;

  beforeAll(async () => {
    llm = await startLlmTestServer({ respond: numberedAnswers() });
    server = await startTestServer({ store: location, llm: testLlmClient(llm) });
  });
  beforeEach(() => llm.setResponder(numberedAnswers()));
  afterAll(async () => {
    await server?.close();
    await llm?.close();
  });

  const history = async (client: HearthClient, conversationId: string) =>
    (await client.chat.history.query({ conversationId })).messages;

  it('regenerates the last answer: a new run, and the old answer stays listable as its sibling', async () => {
    const client = await signedInClient(server, 'regenerate');
    const { id: conversationId } = await client.chat.createConversation.mutate({});
    const first = await chatTurn(client, 'Tell me about lighthouses.', conversationId);
    expect(first.text).toBe('answer 1');
    const oldAnswer = (await history(client, conversationId)).at(-1);
    if (!oldAnswer) throw new Error('no answer stored');

    const again = await client.chat.regenerate.mutate({ messageId: oldAnswer.id });
    // What chat.send returns: the run to follow, and the user message it answers (the same one).
    expect(again).toMatchObject({ conversationId, userMessage: { id: first.sent.userMessage.id } });
    const run = await collectRun(client, again.runId);
    expect(run.events[0]?.data).toMatchObject({ type: 'run.started', userMessageId: first.sent.userMessage.id });
    expect(run.terminal).toMatchObject({ type: 'run.completed', message: { content: 'answer 2' } });

    // The new run's context is the branch it answers: the old answer is not in it.
    expect(contents(lastCall(llm))).not.toContain('answer 1');
    expect(lastCall(llm).at(-1)).toMatchObject({ role: 'user', content: 'Tell me about lighthouses.' });

    const shown = await history(client, conversationId);
    expect(texts(shown)).toEqual(['Tell me about lighthouses.', 'answer 2']);
    const newAnswer = shown[1];
    expect(newAnswer?.parentId).toBe(first.sent.userMessage.id);
    expect(newAnswer?.siblingIds).toEqual([oldAnswer.id, newAnswer?.id]);

    // The old version, shown again, and back.
    expect(await client.chat.switchBranch.mutate({ messageId: oldAnswer.id })).toEqual({
      conversationId,
      leafId: oldAnswer.id,
    });
    expect(texts(await history(client, conversationId))).toEqual(['Tell me about lighthouses.', 'answer 1']);
    // A regenerate of the user message the last answer answers is the same as of that answer.
    const third = await client.chat.regenerate.mutate({ messageId: first.sent.userMessage.id });
    expect((await collectRun(client, third.runId)).text).toBe('answer 3');
    const versions = (await history(client, conversationId)).at(-1)?.siblingIds;
    expect(versions).toHaveLength(3);
    // Every version is a stored message; messageCount counts them all.
    expect((await client.chat.conversations.query({})).conversations[0]).toMatchObject({ messageCount: 4 });
  });

  it('edits a user message and answers from there, with the edited text in the context and not the old', async () => {
    const client = await signedInClient(server, 'edit');
    const { id: conversationId } = await client.chat.createConversation.mutate({});
    await chatTurn(client, 'My boat is called Gull.', conversationId);
    const second = await chatTurn(client, 'What colour is the sea at dawn?', conversationId);
    await chatTurn(client, 'And at dusk?', conversationId);

    const edited = await client.chat.editMessage.mutate({
      messageId: second.sent.userMessage.id,
      text: 'What colour is the sea at noon?',
    });
    expect(edited).toMatchObject({
      conversationId,
      userMessage: { content: 'What colour is the sea at noon?', parentId: second.sent.userMessage.parentId },
    });
    const run = await collectRun(client, edited.runId);
    expect(run.terminal?.type).toBe('run.completed');

    const sent = contents(lastCall(llm));
    expect(sent.at(-1)).toBe('What colour is the sea at noon?');
    expect(sent).toContain('My boat is called Gull.');
    expect(sent).toContain('answer 1');
    // What came after the edited point, and the old text, are on another branch.
    expect(sent.join('\n')).not.toContain('dawn');
    expect(sent.join('\n')).not.toContain('dusk');
    expect(sent).not.toContain('answer 2');

    const shown = await history(client, conversationId);
    expect(texts(shown)).toEqual(['My boat is called Gull.', 'answer 1', 'What colour is the sea at noon?', run.text]);
    expect(shown[2]?.siblingIds).toEqual([second.sent.userMessage.id, edited.userMessage.id]);

    // The next send follows the edited branch.
    await chatTurn(client, 'Thanks.', conversationId);
    expect(contents(lastCall(llm)).join('\n')).not.toContain('dawn');

    // The old branch is still there: back to it, whole, down to its newest message.
    await client.chat.switchBranch.mutate({ messageId: second.sent.userMessage.id });
    expect(texts(await history(client, conversationId))).toEqual([
      'My boat is called Gull.',
      'answer 1',
      'What colour is the sea at dawn?',
      'answer 2',
      'And at dusk?',
      'answer 3',
    ]);
  });

  it('refuses a message that is not there, not the caller’s, not the last answer, or a bad text, changing nothing', async () => {
    const client = await signedInClient(server, 'refused');
    const other = await signedInClient(server, 'refused-other');
    const { id: conversationId } = await client.chat.createConversation.mutate({});
    const first = await chatTurn(client, 'first', conversationId);
    await chatTurn(client, 'second', conversationId);
    const mine = await history(client, conversationId);
    const theirs = await chatTurn(other, 'not yours');
    const theirHistory = await other.chat.history.query({});
    const callsBefore = llm.callCount;
    const usageBefore = await client.user.usage.query({});

    const theirAnswer = theirHistory.messages.at(-1)?.id ?? '';
    await expectHearthError(client.chat.regenerate.mutate({ messageId: theirAnswer }), 'NOT_FOUND');
    await expectHearthError(client.chat.regenerate.mutate({ messageId: crypto.randomUUID() }), 'NOT_FOUND');
    await expectHearthError(
      client.chat.editMessage.mutate({ messageId: theirs.sent.userMessage.id, text: 'mine now' }),
      'NOT_FOUND',
    );
    await expectHearthError(client.chat.switchBranch.mutate({ messageId: theirAnswer }), 'NOT_FOUND');
    const older = await expectHearthError(
      client.chat.regenerate.mutate({ messageId: mine[1]?.id ?? '' }),
      'INVALID_INPUT',
    );
    expect(older.data.fieldErrors).toHaveProperty('messageId');
    await expectHearthError(
      client.chat.editMessage.mutate({ messageId: mine[1]?.id ?? '', text: 'an answer is not mine to edit' }),
      'INVALID_INPUT',
    );
    for (const text of ['', '   ', 'x'.repeat(32_001), 'nul \u0000']) {
      const error = await expectHearthError(
        client.chat.editMessage.mutate({ messageId: first.sent.userMessage.id, text }),
        'INVALID_INPUT',
      );
      expect(error.data.fieldErrors).toHaveProperty('text');
    }

    expect(llm.callCount).toBe(callsBefore);
    expect(await history(client, conversationId)).toEqual(mine);
    expect(await other.chat.history.query({})).toEqual(theirHistory);
    expect(await client.user.usage.query({})).toEqual(usageBefore);
  });

  it('refuses a regenerate or an edit while a run answers in the conversation', async () => {
    const client = await signedInClient(server, 'conflict');
    const { id: conversationId } = await client.chat.createConversation.mutate({});
    const done = await chatTurn(client, 'first', conversationId);
    llm.setResponder(() => ({ text: 'slow answer', ttftMs: 1_500 }));
    const running = await client.chat.send.mutate({ text: 'second', conversationId });
    await expectHearthError(client.chat.regenerate.mutate({ messageId: running.userMessage.id }), 'RUN_ACTIVE');
    await expectHearthError(
      client.chat.editMessage.mutate({ messageId: done.sent.userMessage.id, text: 'again' }),
      'RUN_ACTIVE',
    );
    await expectHearthError(client.chat.switchBranch.mutate({ messageId: done.sent.userMessage.id }), 'RUN_ACTIVE');
    expect((await collectRun(client, running.runId)).text).toBe('slow answer');
    expect(texts(await history(client, conversationId))).toEqual(['first', 'answer 1', 'second', 'slow answer']);
  });

  it('bills a regenerate and an edit like a send, and refuses them on a spent budget as it refuses a send', async () => {
    const client = await signedInClient(server, 'billing');
    const { id: conversationId } = await client.chat.createConversation.mutate({});
    const first = await chatTurn(client, 'hello', conversationId);
    const answer = (await history(client, conversationId)).at(-1)?.id ?? '';
    const before = await client.user.usage.query({});
    const again = await client.chat.regenerate.mutate({ messageId: answer });
    const regenerated = await collectRun(client, again.runId);
    const edit = await client.chat.editMessage.mutate({ messageId: first.sent.userMessage.id, text: 'hello again' });
    const edited = await collectRun(client, edit.runId);
    const after = await client.user.usage.query({});
    expect(after.totals.requests - before.totals.requests).toBe(2);
    const billed = [regenerated, edited].map((run) => {
      if (run.terminal?.type !== 'run.completed') throw new Error('run did not complete');
      return run.terminal.usage.costUsd;
    });
    expect(billed.every((cost) => cost > 0)).toBe(true);
    expect(after.totals.costUsd - before.totals.costUsd).toBeCloseTo(
      billed.reduce((sum, cost) => sum + cost, 0),
      6,
    );
    const budget = await client.user.budget.query();
    expect(budget.reservedUsd).toBe(0);

    // Spent to the limit: the run is refused before the model is called, and the answer shown stays.
    await client.user.setBudget.mutate({ limitUsd: budget.spentUsd, period: 'month' });
    const shown = await history(client, conversationId);
    const calls = llm.callCount;
    const refused = await client.chat.regenerate.mutate({ messageId: shown.at(-1)?.id ?? '' });
    const outcome = await collectRun(client, refused.runId);
    expect(outcome.terminal).toMatchObject({ type: 'run.failed', appCode: 'BUDGET_EXCEEDED', partial: null });
    const editRefused = await client.chat.editMessage.mutate({ messageId: edit.userMessage.id, text: 'once more' });
    expect((await collectRun(client, editRefused.runId)).terminal).toMatchObject({
      type: 'run.failed',
      appCode: 'BUDGET_EXCEEDED',
    });
    expect(llm.callCount).toBe(calls);
    expect((await client.user.usage.query({})).totals).toEqual(after.totals);
    // The refused regenerate left the branch as it was; the refused edit stays, unanswered, as a send would.
    const afterEdit = await history(client, conversationId);
    expect(afterEdit.at(-1)).toMatchObject({ id: editRefused.userMessage.id, content: 'once more' });
    await client.chat.switchBranch.mutate({ messageId: shown.at(-1)?.id ?? '' });
    expect((await history(client, conversationId)).map((m) => m.id)).toEqual(shown.map((m) => m.id));
  });

  it('offers the same over REST, documented in the OpenAPI document', async () => {
    const client = await signedInClient(server, 'rest');
    const token = client.session?.accessToken ?? '';
    const api = await RestContract.load(server.url);
    const first = await chatTurn(client, 'over REST');
    const answer = (await client.chat.history.query({})).messages.at(-1)?.id ?? '';

    const regenerated = await api.call<{ runId: string; userMessage: { id: string } }>(
      'POST',
      `/api/v1/chat/messages/${answer}/regenerate`,
      { token, body: {} },
    );
    expect(regenerated.status).toBe(202);
    expect(regenerated.body.userMessage.id).toBe(first.sent.userMessage.id);
    await collectRun(client, regenerated.body.runId);

    const edited = await api.stream('POST', `/api/v1/chat/messages/${first.sent.userMessage.id}/edit`, {
      token,
      body: { text: 'over REST, edited' },
    });
    expect(edited.status).toBe(200);
    expect(edited.events.at(-1)?.data).toMatchObject({ type: 'run.completed', message: { content: 'answer 3' } });
    const history = await api.call<{ messages: HistoryMessage[] }>('GET', '/api/v1/chat/history', { token });
    expect(history.body.messages.map((m) => m.content)).toEqual(['over REST, edited', 'answer 3']);
    expect(history.body.messages[0]?.siblingIds).toHaveLength(2);

    const switched = await api.call('POST', `/api/v1/chat/messages/${first.sent.userMessage.id}/switch-branch`, {
      token,
    });
    expect(switched.status).toBe(200);
    const missing = await api.call<{ error: { code: string } }>(
      'POST',
      `/api/v1/chat/messages/${crypto.randomUUID()}/regenerate`,
      { token, body: {} },
    );
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
    const empty = await api.call<{ error: { code: string } }>('POST', `/api/v1/chat/messages/${answer}/edit`, {
      token,
      body: { text: ' ' },
    });
    expect(empty.status).toBe(400);
  });
});

describe('regenerate and edit count against the per-user send limits', () => {
  let llm: LlmTestServer;
  let server: TestServer;

  beforeAll(async () => {
    llm = await startLlmTestServer({ respond: numberedAnswers() });
    server = await startTestServer({
      store: { kind: 'pglite-memory' },
      llm: testLlmClient(llm),
      env: { SENDS_PER_MINUTE_MAX: '3' },
    });
  });
  afterAll(async () => {
    await server?.close();
    await llm?.close();
  });

  it('counts them as sends: past the minute’s sends, RATE_LIMITED and nothing stored', async () => {
    const client = await signedInClient(server, 'limits');
    const first = await chatTurn(client, 'one');
    const answer = (await client.chat.history.query({})).messages.at(-1)?.id ?? '';
    await collectRun(client, (await client.chat.regenerate.mutate({ messageId: answer })).runId);
    await collectRun(
      client,
      (await client.chat.editMessage.mutate({ messageId: first.sent.userMessage.id, text: 'two' })).runId,
    );
    const before = await client.chat.history.query({});
    const limited = await expectHearthError(
      client.chat.regenerate.mutate({ messageId: before.messages.at(-1)?.id ?? '' }),
      'RATE_LIMITED',
    );
    expect(limited.data.retryAfterSeconds).toBeGreaterThan(0);
    await expectHearthError(
      client.chat.editMessage.mutate({ messageId: first.sent.userMessage.id, text: 'three' }),
      'RATE_LIMITED',
    );
    expect(await client.chat.history.query({})).toEqual(before);
  });
});

describe('regenerate and edit on Letta (AGENT_BACKEND=letta)', () => {
  let llm: LlmTestServer;
  let backend: Backend;
  let server: TestServer;

  beforeAll(async () => {
    llm = await startLlmTestServer({ respond: numberedAnswers() });
    backend = await startBackend('letta', llm);
    server = await startTestServer({ store: { kind: 'pglite-memory' }, ...backend.server });
  });
  afterEach(() => backend.assertClean());
  afterAll(async () => {
    await server?.close();
    await backend?.close();
    await llm?.close();
  });

  it('sends the text again as a new turn: Hearth keeps the branches, the agent its own whole history', async () => {
    const client = await signedInClient(server, 'letta-regenerate');
    const first = await chatTurn(client, 'Name a lighthouse.');
    const oldAnswer = (await client.chat.history.query({})).messages.at(-1);
    const again = await client.chat.regenerate.mutate({ messageId: oldAnswer?.id ?? '' });
    const run = await collectRun(client, again.runId);
    expect(run.terminal?.type).toBe('run.completed');
    expect(run.text).not.toBe(oldAnswer?.content);
    const shown = (await client.chat.history.query({})).messages;
    expect(texts(shown)).toEqual(['Name a lighthouse.', run.text]);
    expect(shown[1]?.siblingIds).toEqual([oldAnswer?.id, shown[1]?.id]);

    const edit = await client.chat.editMessage.mutate({
      messageId: first.sent.userMessage.id,
      text: 'Name a harbour.',
    });
    expect((await collectRun(client, edit.runId)).terminal?.type).toBe('run.completed');
    expect(texts((await client.chat.history.query({})).messages)[0]).toBe('Name a harbour.');

    // Letta's messages cannot be rewound (its modify endpoint is deprecated, its reset clears them
    // all): the agent was sent each text as a new turn, after what it had said before.
    const agentId = (await client.agent.status.query()).agentId;
    const agent = backend.letta?.agents.get(agentId);
    const said = (agent?.messages ?? []).filter((m) => m.message_type === 'user_message').map((m) => m.content);
    expect(said).toEqual(['Name a lighthouse.', 'Name a lighthouse.', 'Name a harbour.']);
  });
});
