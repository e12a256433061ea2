import { schema } from '@hearth/core';
import { testDatabases } from '@hearth/core/testing';
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, type Backend, startBackend } from '../support/agent-backends';
import { expectHearthError } from '../support/expect-error';
import { chatTurn, collectRun } from '../support/run-events';
import { signedInClient, startTestServer, type TestServer } from '../support/test-server';

const setups = testDatabases().flatMap((db) => BACKENDS.map(({ name }) => ({ ...db, backend: name })));

describe.each(setups)(
  'chat isolation, paging and limits on $name, agent backend $backend',
  ({ location, backend: name }) => {
    let backend: Backend;
    let server: TestServer;

    beforeAll(async () => {
      backend = await startBackend(name, 'offline');
      server = await startTestServer({ store: location, ...backend.server });
    });
    afterEach(() => backend.assertClean());
    afterAll(async () => {
      await server?.close();
      await backend?.close();
    });

    const signedIn = () => signedInClient(server, 'iso');

    it("answers NOT_FOUND for another user's run, conversation and cursor", async () => {
      const alice = await signedIn();
      const bob = await signedIn();
      const conversation = await alice.chat.createConversation.mutate({ title: 'private' });
      const turn = await chatTurn(alice, 'secret plans', conversation.id);
      for (let i = 0; i < 3; i += 1) await chatTurn(alice, `more ${i}`, conversation.id);
      const page = await alice.chat.history.query({ conversationId: conversation.id, limit: 2 });
      expect(page.nextCursor).not.toBeNull();
      const { runId } = turn.sent;

      await expectHearthError(bob.chat.cancel.mutate({ runId }), 'NOT_FOUND');
      await expectHearthError(collectRun(bob, runId), 'NOT_FOUND');
      await expectHearthError(bob.chat.history.query({ conversationId: conversation.id }), 'NOT_FOUND');
      await expectHearthError(bob.chat.send.mutate({ text: 'hi', conversationId: conversation.id }), 'NOT_FOUND');
      await expectHearthError(
        bob.chat.renameConversation.mutate({ conversationId: conversation.id, title: 'mine' }),
        'NOT_FOUND',
      );
      await expectHearthError(bob.chat.deleteConversation.mutate({ conversationId: conversation.id }), 'NOT_FOUND');
      await expectHearthError(bob.chat.history.query({ cursor: page.nextCursor ?? '' }), 'INVALID_INPUT');
      const unknown = await expectHearthError(bob.chat.cancel.mutate({ runId: crypto.randomUUID() }), 'NOT_FOUND');
      const foreign = await expectHearthError(bob.chat.cancel.mutate({ runId }), 'NOT_FOUND');
      expect(foreign.message).toBe(unknown.message);
      const bobs = (await bob.chat.conversations.query({})).conversations.map((c) => c.id);
      expect(bobs).not.toContain(conversation.id);
      expect((await alice.chat.history.query({ conversationId: conversation.id })).messages).toHaveLength(8);
    });

    it('replays a finished run to a late subscriber', async () => {
      const client = await signedIn();
      const turn = await chatTurn(client, 'hello');
      const replay = await collectRun(client, turn.sent.runId);
      expect(replay.events.map((e) => e.data)).toEqual(turn.events.map((e) => e.data));
    });

    it('pages history back in time across 250 messages', async () => {
      const client = await signedIn();
      const { conversationId } = (await chatTurn(client, 'message 0')).sent;
      // The other 124 turns go straight into the store: the pager is under test here, not the model.
      const userId = (await client.auth.me.query()).id;
      const base = Date.now();
      // One line of messages, each following the one before, the last one the branch's leaf.
      const ids = Array.from({ length: 248 }, () => crypto.randomUUID());
      const answer = (await client.chat.history.query({ conversationId })).messages.at(-1)?.id ?? null;
      const rows = ids.map((id, i) => ({
        id,
        userId,
        conversationId,
        parentId: i === 0 ? answer : (ids[i - 1] ?? null),
        role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
        content: `message ${i + 2}`,
        status: 'complete' as const,
        createdAt: new Date(base + i),
      }));
      await server.hearth.store.db.insert(schema.messages).values(rows);
      await server.hearth.store.db
        .update(schema.conversations)
        .set({ leafMessageId: ids.at(-1) ?? null })
        .where(eq(schema.conversations.id, conversationId));

      const seen: string[] = [];
      let cursor: string | null | undefined;
      let pages = 0;
      do {
        const page = await client.chat.history.query({ conversationId, limit: 40, ...(cursor ? { cursor } : {}) });
        seen.unshift(...page.messages.map((m) => m.content));
        cursor = page.nextCursor;
        pages += 1;
      } while (cursor);
      expect(pages).toBe(7);
      expect(seen).toHaveLength(250);
      expect(seen.slice(0, 1)).toEqual(['message 0']);
      expect(seen.at(-1)).toBe('message 249');
      expect(new Set(seen).size).toBe(250);
    });

    it('lists conversations most recently active first, with a cursor', async () => {
      const client = await signedIn();
      const a = await client.chat.createConversation.mutate({ title: 'a' });
      const b = await client.chat.createConversation.mutate({ title: 'b' });
      await chatTurn(client, 'bump a', a.id);
      const first = await client.chat.conversations.query({ limit: 1 });
      expect(first.conversations.map((c) => c.id)).toEqual([a.id]);
      expect(first.conversations[0]?.messageCount).toBe(2);
      const second = await client.chat.conversations.query({ limit: 1, cursor: first.nextCursor ?? '' });
      expect(second.conversations.map((c) => c.id)).toEqual([b.id]);
      const renamed = await client.chat.renameConversation.mutate({ conversationId: b.id, title: 'bee' });
      expect(renamed.title).toBe('bee');
      await client.chat.deleteConversation.mutate({ conversationId: b.id });
      await expectHearthError(client.chat.history.query({ conversationId: b.id }), 'NOT_FOUND');
    });

    it('enforces the input rules and memory limits', async () => {
      const client = await signedIn();
      const empty = await expectHearthError(client.chat.send.mutate({ text: '   ' }), 'INVALID_INPUT');
      expect(empty.data.fieldErrors?.text).toBeDefined();
      const long = await expectHearthError(client.chat.send.mutate({ text: 'x'.repeat(32_001) }), 'INVALID_INPUT');
      expect(long.data.fieldErrors?.text).toBeDefined();
      await expectHearthError(client.chat.send.mutate({ text: 'hi', clientMessageId: 'not-a-uuid' }), 'INVALID_INPUT');
      await expectHearthError(client.chat.send.mutate({ text: 'hi', model: 'gpt-9-ultra' }), 'INVALID_INPUT');
      await expectHearthError(client.chat.history.query({ limit: 101 }), 'INVALID_INPUT');
      expect((await client.chat.history.query({})).messages).toHaveLength(0);

      const over = await expectHearthError(
        client.agent.updateMemory.mutate({ label: 'human', value: 'x'.repeat(20_001) }),
        'MEMORY_LIMIT',
      );
      expect(over.data.fieldErrors?.value).toBeDefined();
      await expectHearthError(client.agent.updateMemory.mutate({ label: 'nonexistent', value: 'x' }), 'NOT_FOUND');
      expect((await client.agent.memory.query()).blocks.find((b) => b.label === 'human')?.value).toBe('');
    });
  },
);
