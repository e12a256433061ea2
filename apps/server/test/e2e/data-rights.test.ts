import { schema } from '@hearth/core';
import { testDatabases } from '@hearth/core/testing';
import { type LlmTestServer, startLlmTestServer } from '@hearth/testkit';
import { eq, inArray, isNull } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, type Backend, startBackend } from '../support/agent-backends';
import { expectHearthError } from '../support/expect-error';
import { chatTurn, collectRun } from '../support/run-events';
import { PASSWORD, startTestServer, type TestServer, uniqueEmail } from '../support/test-server';

const setups = testDatabases().flatMap((db) => BACKENDS.map(({ name }) => ({ ...db, backend: name })));

interface ExportDocument {
  format: string;
  profile: { id: string; email: string };
  memory: {
    blocks: Array<{ label: string; value: string; updatedBy: string }>;
    history: Array<{ label: string; value: string; updatedBy: string; runId: string | null }>;
    archival: Array<{ id: string; content: string }>;
  };
  conversations: Array<{ id: string; model: string | null; messages: Array<{ role: string; content: string }> }>;
  usage: Array<{ id: string; model: string; costUsd: number }>;
}

describe.each(setups)('data rights on $name, agent backend $backend', ({ location, backend: name }) => {
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

  /** A user who told the agent their name, and whose agent filed a passage. */
  async function userWithData(tag: string) {
    const email = uniqueEmail(tag);
    const client = server.client();
    const { user } = await client.auth.register.mutate({ email, password: PASSWORD });
    const turn = await chatTurn(client, 'Hi! My name is Ada.');
    const { agentId } = await client.agent.status.query();
    // Filed as the agent's archival_memory_insert would (the offline model never does).
    if (backend.letta) {
      const filed = await fetch(`${backend.letta.url}/v1/agents/${agentId}/archival-memory`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'Ada likes green tea' }),
      });
      expect(filed.status).toBe(200);
    } else {
      await server.hearth.store.db
        .insert(schema.archivalPassages)
        .values({ id: crypto.randomUUID(), agentId, content: 'Ada likes green tea' });
    }
    return { client, email, user, agentId, turn };
  }

  it('exports the profile, memory with its history, archival memory, conversations and usage as one document', async () => {
    const { client, email, user, turn } = await userWithData('export');
    const response = await client.user.exportData();
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('content-disposition')).toMatch(/^attachment/);
    const document = (await response.json()) as ExportDocument;
    expect(document.format).toBe('hearth.user-export/1');
    expect(document.profile).toMatchObject({ id: user.id, email });
    expect(document.memory.blocks.find((b) => b.label === 'human')).toMatchObject({
      value: 'Name: Ada',
      updatedBy: 'agent',
    });
    expect(document.memory.history.at(-1)).toMatchObject({
      label: 'human',
      value: 'Name: Ada',
      updatedBy: 'agent',
      runId: turn.sent.runId,
    });
    expect(document.memory.archival.map((p) => p.content)).toEqual(['Ada likes green tea']);
    expect(document.conversations).toHaveLength(1);
    // Its own model, or null: the server's default.
    expect(document.conversations[0]).toHaveProperty('model', null);
    expect(document.conversations[0]?.messages.map((m) => [m.role, m.content])).toEqual([
      ['user', 'Hi! My name is Ada.'],
      ['assistant', turn.text],
    ]);
    expect(document.usage.length).toBeGreaterThan(0);
    expect(document.usage.every((u) => u.model === backend.model)).toBe(true);

    const signedOut = server.client();
    await expectHearthError(signedOut.user.exportData(), 'UNAUTHENTICATED');
  });

  it('deletes the account after the password, keeps only its usage under nobody, and lets the email register again', async () => {
    const { client, email, user, agentId } = await userWithData('delete');
    const { db } = server.hearth.store;
    const usageIds = (
      await db
        .select({ id: schema.usageRecords.id })
        .from(schema.usageRecords)
        .where(eq(schema.usageRecords.userId, user.id))
    ).map((row) => row.id);
    expect(usageIds.length).toBeGreaterThan(0);

    await expectHearthError(client.user.deleteAccount.mutate({ password: 'not the password' }), 'INVALID_CREDENTIALS');
    await expectHearthError(client.user.deleteAccount.mutate({ password: '' }), 'INVALID_INPUT');
    const key = await client.auth.createApiKey.mutate({ name: 'script' });
    const keyed = server.client({ apiKey: key.key });
    await expectHearthError(keyed.user.deleteAccount.mutate({ password: PASSWORD }), 'FORBIDDEN');
    // Refused: nothing changed.
    expect((await client.chat.history.query({})).messages).toHaveLength(2);
    if (backend.letta) expect(backend.letta.agents.has(agentId)).toBe(true);

    expect(await client.user.deleteAccount.mutate({ password: PASSWORD })).toEqual({ ok: true });

    // Its session and its key are refused at once.
    for (const caller of [client, keyed]) {
      const error = await caller.agent.memory.query().then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).not.toBeNull();
    }
    await expectHearthError(server.client().auth.login.mutate({ email, password: PASSWORD }), 'INVALID_CREDENTIALS');
    const left = await Promise.all(
      [
        schema.users,
        schema.conversations,
        schema.messages,
        schema.runs,
        schema.memoryVersions,
        schema.sessions,
        schema.apiKeys,
        schema.budgets,
      ].map((table) =>
        db.$count(
          table,
          eq(table === schema.users ? schema.users.id : (table as typeof schema.messages).userId, user.id),
        ),
      ),
    );
    expect(left).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(await db.$count(schema.agents, eq(schema.agents.userId, user.id))).toBe(0);
    // With Letta, the agent (its blocks and archival memory with it) is deleted there.
    if (backend.letta) {
      expect(backend.letta.agents.has(agentId)).toBe(false);
      expect(await db.$count(schema.lettaAgents, eq(schema.lettaAgents.userId, user.id))).toBe(0);
    } else {
      expect(await db.$count(schema.archivalPassages, eq(schema.archivalPassages.agentId, agentId))).toBe(0);
    }
    // Accounting keeps what was spent, on which model and when: not whose, nor in which run.
    const kept = await db.select().from(schema.usageRecords).where(inArray(schema.usageRecords.id, usageIds));
    expect(kept.map((row) => [row.userId, row.runId])).toEqual(usageIds.map(() => [null, null]));

    const again = server.client();
    const { user: reborn } = await again.auth.register.mutate({ email, password: PASSWORD });
    expect(reborn.id).not.toBe(user.id);
    expect((await again.agent.memory.query()).blocks.find((b) => b.label === 'human')?.value).toBe('');
    expect((await again.user.usage.query({})).totals.requests).toBe(0);
  });
});

describe('deleting an account while its agent answers', () => {
  let llm: LlmTestServer;
  let server: TestServer;

  beforeAll(async () => {
    llm = await startLlmTestServer();
    const backend = await startBackend('builtin', llm);
    server = await startTestServer({ store: { kind: 'pglite-memory' }, ...backend.server });
  });
  afterAll(async () => {
    await server?.close();
    await llm?.close();
  });

  it('cancels the run first, and bills what it used under nobody', async () => {
    const client = server.client();
    const { user } = await client.auth.register.mutate({ email: uniqueEmail('busy'), password: PASSWORD });
    llm.enqueue({ text: Array.from({ length: 300 }, (_, i) => `w${i}`).join(' '), tokenIntervalMs: 10 });
    const sent = await client.chat.send.mutate({ text: 'tell me everything' });
    await collectRun(client, sent.runId, { stopAfter: (_, count) => count >= 3 });
    const { db } = server.hearth.store;
    const nobodys = () => db.select().from(schema.usageRecords).where(isNull(schema.usageRecords.userId));
    expect(await nobodys()).toEqual([]);
    expect(await client.user.deleteAccount.mutate({ password: PASSWORD })).toEqual({ ok: true });
    expect(await db.$count(schema.users, eq(schema.users.id, user.id))).toBe(0);
    expect(await db.$count(schema.reservations, eq(schema.reservations.userId, user.id))).toBe(0);
    // The interrupted step was settled before the account went: its usage stays, with no user.
    const kept = await nobodys();
    expect(kept).toHaveLength(1);
    expect(kept[0]?.completionTokens).toBeGreaterThan(0);
    expect(llm.callCount).toBe(1);
  });
});
