import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthStore } from '../../auth/builtin/auth-store';
import { systemClock } from '../../ports/clock';
import type { RunStart } from '../../ports/run-repository';
import { testDatabases } from '../../testing';
import { openStore, type Store } from '../database';
import { migrateStore } from '../migrate';
import { conversations, messages as messagesTable, runs } from '../schema';
import { DrizzleChatStore } from './chat-store';

describe.each(testDatabases())('ChatStore on $name', ({ location }) => {
  let store: Store;
  let chat: DrizzleChatStore;
  let userId: string;

  beforeAll(async () => {
    store = await openStore(location);
    await migrateStore(store, location);
    chat = new DrizzleChatStore(store.db, systemClock);
    const user = await new AuthStore(store.db).createUser({
      email: `chat-store-${crypto.randomUUID()}@example.com`,
      passwordHash: 'h',
      displayName: null,
    });
    userId = user?.id ?? '';
  });
  afterAll(() => store?.close());

  it('lets only one of many concurrent sends start a run in a conversation', async () => {
    const conversation = await chat.createConversation(userId, null);
    const attempts = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        chat.startRun({ userId, conversationId: conversation.id, text: `send ${i}`, model: 'm' }),
      ),
    );
    expect(attempts.filter((a) => 'runId' in a)).toHaveLength(1);
    expect(attempts.filter((a) => 'conflict' in a && a.conflict === 'run_active')).toHaveLength(5);
    const history = await chat.history(userId, conversation.id, undefined, 50);
    expect(history.messages).toHaveLength(1);
  });

  it('creates one default conversation however many ask at once', async () => {
    const ids = await Promise.all(Array.from({ length: 4 }, () => chat.defaultConversation(userId)));
    expect(new Set(ids.map((c) => c.id)).size).toBe(1);
  });

  it('fails only the runs whose process stopped beating, by the database clock', async () => {
    const conversation = await chat.createConversation(userId, null);
    const other = await chat.createConversation(userId, null);
    const dead = await chat.startRun({ userId, conversationId: conversation.id, text: 'dead', model: 'm' });
    const alive = await chat.startRun({ userId, conversationId: other.id, text: 'alive', model: 'm' });
    if (!('runId' in dead) || !('runId' in alive)) throw new Error('runs did not start');
    // A day without a beat; an hour is the window, so other suites' live runs on a shared PostgreSQL are safe.
    await store.db.update(runs).set({ heartbeatAt: sql`now() - interval '1 day'` }).where(eq(runs.id, dead.runId));
    await chat.heartbeat([alive.runId]);
    expect(await chat.failOrphanedRuns(3_600_000)).toEqual([dead.runId]);
    expect((await chat.run(userId, dead.runId)).status).toBe('failed');
    expect((await chat.run(userId, alive.runId)).status).toBe('running');
    await chat.finishRun({
      run: { id: alive.runId, userId, conversationId: other.id, userMessageId: alive.userMessage.id },
      status: 'cancelled',
      text: '',
      usage: { promptTokens: 0, completionTokens: 0, costUsd: 0 },
      firstTokenAt: null,
    });
  });

  // Only where one process owns the store: on a shared PostgreSQL the sweep would end other processes' runs.
  it.runIf(location.kind !== 'postgres')('marks runs a crash left running as failed', async () => {
    const conversation = await chat.createConversation(userId, null);
    const started = await chat.startRun({ userId, conversationId: conversation.id, text: 'interrupted', model: 'm' });
    if (!('runId' in started)) throw new Error('run did not start');
    expect(await chat.failOrphanedRuns()).toContain(started.runId);
    expect(await chat.run(userId, started.runId)).toMatchObject({ status: 'failed', errorCode: 'INTERNAL' });
    expect(await chat.activeRunIds(userId)).toEqual([]);
  });

  it('ends the runs of its own instance at once after a restart, keeping the text they had saved', async () => {
    const instance = `instance-${crypto.randomUUID()}`;
    const before = new DrizzleChatStore(store.db, systemClock, false, instance);
    const conversation = await before.createConversation(userId, null);
    const started = await before.startRun({ userId, conversationId: conversation.id, text: 'long one', model: 'm' });
    if (!('runId' in started)) throw new Error('run did not start');
    const run = { id: started.runId, userId, conversationId: conversation.id, userMessageId: started.userMessage.id };
    const messageId = crypto.randomUUID();
    await before.savePartial(run, messageId, 'Once upon');
    await before.savePartial(run, messageId, 'Once upon a time');

    // Restarted under the same instance id: its beats are fresh, yet its runs are its own leftovers.
    const after = new DrizzleChatStore(store.db, systemClock, false, instance);
    expect(await after.failOrphanedRuns(3_600_000, instance)).toEqual([started.runId]);
    const failed = await after.run(userId, started.runId);
    expect(failed).toMatchObject({ status: 'failed', assistantMessageId: messageId });
    expect(await after.message(messageId)).toMatchObject({ content: 'Once upon a time', status: 'incomplete' });
    expect((await after.conversation(userId, conversation.id)).messageCount).toBe(2);
  });

  it('ends a run under the message its partial text was saved as: one message, counted once', async () => {
    const conversation = await chat.createConversation(userId, null);
    const started = await chat.startRun({ userId, conversationId: conversation.id, text: 'hello', model: 'm' });
    if (!('runId' in started)) throw new Error('run did not start');
    const run = { id: started.runId, userId, conversationId: conversation.id, userMessageId: started.userMessage.id };
    const messageId = crypto.randomUUID();
    await chat.savePartial(run, messageId, 'Hi th');
    const usage = { promptTokens: 3, completionTokens: 2, costUsd: 0 };
    await chat.finishRun({ run, messageId, status: 'completed', text: 'Hi there', usage, firstTokenAt: null });
    const { messages } = await chat.history(userId, conversation.id, undefined, 50);
    expect(messages.map((m) => [m.role, m.content, m.status])).toEqual([
      ['user', 'hello', 'complete'],
      ['assistant', 'Hi there', 'complete'],
    ]);
    expect((await chat.conversation(userId, conversation.id)).messageCount).toBe(2);
    // A save still in flight when the run ended cannot take the ended message back.
    await chat.savePartial(run, messageId, 'Hi th');
    expect(await chat.message(messageId)).toMatchObject({ content: 'Hi there', status: 'complete' });
  });

  describe("as the store's one writer", () => {
    /** Whether a promise settles within a few microtasks: a database reply never comes that soon. */
    const settlesAtOnce = async (promise: Promise<unknown>) => {
      let settled = false;
      const mark = () => {
        settled = true;
      };
      promise.then(mark, mark);
      for (let i = 0; i < 5; i += 1) await Promise.resolve();
      return settled;
    };
    const sole = () => new DrizzleChatStore(store.db, systemClock, true);
    const noUsage = { promptTokens: 0, completionTokens: 0, costUsd: 0 };

    it('decides a send into a conversation it knows without waiting for the write, which lands', async () => {
      const chat = sole();
      const conversation = await chat.createConversation(userId, null);
      const started = await chat.startRun({ userId, conversationId: conversation.id, text: 'behind', model: 'm' });
      if (!('runId' in started)) throw new Error('run did not start');
      expect(await settlesAtOnce(started.stored)).toBe(false);
      // Decided in memory: a second send and another user's send are refused before anything is stored.
      expect(await chat.startRun({ userId, conversationId: conversation.id, text: 'again', model: 'm' })).toEqual({
        conflict: 'run_active',
      });
      expect(
        await chat.startRun({ userId: crypto.randomUUID(), conversationId: conversation.id, text: 'x', model: 'm' }),
      ).toEqual({ conflict: 'no_conversation' });
      await started.stored;
      expect((await chat.run(userId, started.runId)).status).toBe('running');
      expect((await chat.history(userId, conversation.id, undefined, 10)).messages.map((m) => m.content)).toEqual([
        'behind',
      ]);
      const run = { id: started.runId, userId, conversationId: conversation.id, userMessageId: started.userMessage.id };
      await chat.finishRun({ run, status: 'completed', text: 'answer', usage: noUsage, firstTokenAt: null });
      const next = await chat.startRun({ userId, conversationId: conversation.id, text: 'next', model: 'm' });
      if (!('runId' in next)) throw new Error('the conversation was not free after the run ended');
      await next.stored;
      // The history a turn is given from memory is what the database holds, positions included.
      const fromMemory = await chat.turnContext(conversation.id, next.userMessage.id, 10);
      const fromDatabase = await new DrizzleChatStore(store.db, systemClock).turnContext(
        conversation.id,
        next.userMessage.id,
        10,
      );
      expect(fromMemory).toEqual(fromDatabase);
      expect(fromMemory.history.map((m) => m.content)).toEqual(['behind', 'answer']);
    });

    it('fails the write that went behind when the database disagrees, and then asks the database', async () => {
      const chat = sole();
      const conversation = await chat.createConversation(userId, null);
      // Removed behind the store's back, which a sole writer never sees: its memory is now wrong.
      await store.db.delete(conversations).where(eq(conversations.id, conversation.id));
      const started = await chat.startRun({ userId, conversationId: conversation.id, text: 'lost', model: 'm' });
      if (!('runId' in started)) throw new Error('expected the send to be decided in memory');
      await expect(started.stored).rejects.toMatchObject({ appCode: 'NOT_FOUND' });
      await expect(chat.run(userId, started.runId)).rejects.toMatchObject({ appCode: 'NOT_FOUND' });
      expect(await chat.startRun({ userId, conversationId: conversation.id, text: 'again', model: 'm' })).toEqual({
        conflict: 'no_conversation',
      });
    });

    it('waits for the database when a send carries a clientMessageId', async () => {
      const chat = sole();
      const conversation = await chat.createConversation(userId, null);
      const clientMessageId = crypto.randomUUID();
      const first = await chat.startRun({
        userId,
        conversationId: conversation.id,
        text: 'once',
        model: 'm',
        clientMessageId,
      });
      if (!('runId' in first)) throw new Error('run did not start');
      expect(await settlesAtOnce(first.stored)).toBe(true);
      await chat.finishRun({
        run: { id: first.runId, userId, conversationId: conversation.id, userMessageId: first.userMessage.id },
        status: 'completed',
        text: 'done',
        usage: noUsage,
        firstTokenAt: null,
      });
      expect(
        await chat.startRun({ userId, conversationId: conversation.id, text: 'once', model: 'm', clientMessageId }),
      ).toEqual({ conflict: 'duplicate' });
    });
  });

  describe.each([
    { writer: 'one of many', sole: false },
    { writer: 'the one writer', sole: true },
  ])('branches, as $writer', ({ sole }) => {
    const noUsage = { promptTokens: 0, completionTokens: 0, costUsd: 0 };
    const turn = async (chat: DrizzleChatStore, started: RunStart | { conflict: string }, answer: string) => {
      if (!('runId' in started)) throw new Error(`did not start: ${started.conflict}`);
      await started.stored;
      const context = await chat.turnContext(started.conversationId, started.userMessage.id, 50);
      const run = {
        id: started.runId,
        userId,
        conversationId: started.conversationId,
        userMessageId: started.userMessage.id,
      };
      const message = await chat.finishRun({
        run,
        status: 'completed',
        text: answer,
        usage: noUsage,
        firstTokenAt: null,
      });
      return { context: context.history.map((m) => m.content), message, userMessage: started.userMessage };
    };
    const contents = async (chat: DrizzleChatStore, conversationId: string) =>
      (await chat.history(userId, conversationId, undefined, 50)).messages.map((m) => m.content);

    it('regenerates the last answer and edits a message as versions, each answered from its own branch', async () => {
      const chat = new DrizzleChatStore(store.db, systemClock, sole);
      const { id } = await chat.createConversation(userId, null);
      const send = (text: string) => chat.startRun({ userId, conversationId: id, text, model: 'm' });
      const first = await turn(chat, await send('q1'), 'a1');
      const second = await turn(chat, await send('q2'), 'a2');
      expect(second.context).toEqual(['q1', 'a1']);
      expect(second.userMessage.parentId).toBe(first.message?.id);

      const a1 = first.message?.id ?? '';
      const a2 = second.message?.id ?? '';
      expect(await chat.startRegenerate({ userId, messageId: a1, model: 'm' })).toEqual({
        conflict: 'not_last_answer',
      });
      expect(await chat.startRegenerate({ userId: crypto.randomUUID(), messageId: a2, model: 'm' })).toEqual({
        conflict: 'not_found',
      });
      const again = await chat.startRegenerate({ userId, messageId: a2, model: 'm' });
      expect(await chat.startRegenerate({ userId, messageId: a2, model: 'm' })).toMatchObject({
        conflict: expect.stringMatching(/run_active|not_last_answer/),
      });
      const regenerated = await turn(chat, again, 'a2 again');
      expect(regenerated.userMessage.id).toBe(second.userMessage.id);
      // The old answer is not in the new run's context.
      expect(regenerated.context).toEqual(['q1', 'a1']);
      const page = await chat.history(userId, id, undefined, 50);
      expect(page.messages.map((m) => m.content)).toEqual(['q1', 'a1', 'q2', 'a2 again']);
      expect(page.messages.at(-1)?.siblingIds).toEqual([a2, regenerated.message?.id]);
      expect(page.messages[0]?.siblingIds).toEqual([first.userMessage.id]);

      expect(await chat.startEdit({ userId, messageId: a1, text: 'x', model: 'm' })).toEqual({
        conflict: 'not_user_message',
      });
      const edited = await turn(
        chat,
        await chat.startEdit({ userId, messageId: second.userMessage.id, text: 'q2 edited', model: 'm' }),
        'b2',
      );
      expect(edited.context).toEqual(['q1', 'a1']);
      expect(await contents(chat, id)).toEqual(['q1', 'a1', 'q2 edited', 'b2']);
      const next = await turn(chat, await send('q3'), 'a3');
      expect(next.context).toEqual(['q1', 'a1', 'q2 edited', 'b2']);
      // What the cache gives a turn is what the database holds.
      const fresh = new DrizzleChatStore(store.db, systemClock);
      expect(await fresh.turnContext(id, next.userMessage.id, 50)).toEqual(
        await chat.turnContext(id, next.userMessage.id, 50),
      );

      // Back to the first version of q2: its newest answer is shown, and a send follows it.
      expect(await chat.switchBranch(userId, second.userMessage.id)).toEqual({
        conversationId: id,
        leafId: regenerated.message?.id,
      });
      expect(await contents(chat, id)).toEqual(['q1', 'a1', 'q2', 'a2 again']);
      const onOld = await turn(chat, await send('q4'), 'a4');
      expect(onOld.context).toEqual(['q1', 'a1', 'q2', 'a2 again']);
      expect(await chat.switchBranch(crypto.randomUUID(), a1)).toEqual({ conflict: 'not_found' });

      // An edit of the first message starts a branch with nothing before it.
      const restart = await turn(
        chat,
        await chat.startEdit({ userId, messageId: first.userMessage.id, text: 'q1 edited', model: 'm' }),
        'c1',
      );
      expect(restart.context).toEqual([]);
      expect(restart.userMessage.parentId).toBeNull();
      const top = (await chat.history(userId, id, undefined, 50)).messages;
      expect(top.map((m) => m.content)).toEqual(['q1 edited', 'c1']);
      expect(top[0]?.siblingIds).toEqual([first.userMessage.id, restart.userMessage.id]);
    });

    it('shows the earlier answer again when a regenerate ends with none', async () => {
      const chat = new DrizzleChatStore(store.db, systemClock, sole);
      const { id } = await chat.createConversation(userId, null);
      const first = await turn(chat, await chat.startRun({ userId, conversationId: id, text: 'q', model: 'm' }), 'a');
      const again = await chat.startRegenerate({ userId, messageId: first.message?.id ?? '', model: 'm' });
      if (!('runId' in again)) throw new Error('regenerate did not start');
      expect(await contents(chat, id)).toEqual(['q']);
      const run = { id: again.runId, userId, conversationId: id, userMessageId: again.userMessage.id };
      await chat.finishRun({ run, status: 'failed', text: '', usage: noUsage, firstTokenAt: null });
      expect(await contents(chat, id)).toEqual(['q', 'a']);
      const next = await turn(chat, await chat.startRun({ userId, conversationId: id, text: 'q2', model: 'm' }), 'a2');
      expect(next.context).toEqual(['q', 'a']);
    });

    it.runIf(location.kind !== 'postgres')(
      'shows the earlier answer again after a crash stopped a regenerate',
      async () => {
        const chat = new DrizzleChatStore(store.db, systemClock, sole);
        const { id } = await chat.createConversation(userId, null);
        const first = await turn(chat, await chat.startRun({ userId, conversationId: id, text: 'q', model: 'm' }), 'a');
        const again = await chat.startRegenerate({ userId, messageId: first.message?.id ?? '', model: 'm' });
        if (!('runId' in again)) throw new Error('regenerate did not start');
        expect(await chat.failOrphanedRuns()).toContain(again.runId);
        expect(await contents(chat, id)).toEqual(['q', 'a']);
      },
    );

    it('pages back along the branch, and drops a summary written on another branch', async () => {
      const chat = new DrizzleChatStore(store.db, systemClock, sole);
      const { id } = await chat.createConversation(userId, null);
      const send = (text: string) => chat.startRun({ userId, conversationId: id, text, model: 'm' });
      const turns = [];
      for (let i = 0; i < 4; i += 1) turns.push(await turn(chat, await send(`q${i}`), `a${i}`));
      const first = await chat.history(userId, id, undefined, 3);
      expect(first.messages.map((m) => m.content)).toEqual(['a2', 'q3', 'a3']);
      const second = await chat.history(userId, id, first.nextCursor ?? '', 3);
      expect(second.messages.map((m) => m.content)).toEqual(['q1', 'a1', 'q2']);
      const third = await chat.history(userId, id, second.nextCursor ?? '', 3);
      expect(third.messages.map((m) => m.content)).toEqual(['q0', 'a0']);
      expect(third.nextCursor).toBeNull();

      // A summary through a2 (written on this branch) is kept by an edit of q3, dropped by an edit of q1.
      const a2 = await chat.message(turns[2]?.message?.id ?? '');
      const [a2Row] = await store.db
        .select({ seq: messagesTable.seq })
        .from(messagesTable)
        .where(eq(messagesTable.id, a2?.id ?? ''));
      await chat.saveSummary(id, 'SUMMARY', a2Row?.seq ?? 0);
      const kept = await turn(
        chat,
        await chat.startEdit({ userId, messageId: turns[3]?.userMessage.id ?? '', text: 'q3 edited', model: 'm' }),
        'b3',
      );
      expect(kept.context).toEqual([]);
      expect((await chat.turnContext(id, kept.userMessage.id, 50)).summary).toBe('SUMMARY');
      const dropped = await turn(
        chat,
        await chat.startEdit({ userId, messageId: turns[1]?.userMessage.id ?? '', text: 'q1 edited', model: 'm' }),
        'b1',
      );
      expect(dropped.context).toEqual(['q0', 'a0']);
      expect((await chat.turnContext(id, dropped.userMessage.id, 50)).summary).toBeNull();
    });
  });
});
