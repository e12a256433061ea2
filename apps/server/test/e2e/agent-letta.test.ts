import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { schema } from '@hearth/core';
import { type LlmTestServer, startLlmTestServer } from '@hearth/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, startBackend } from '../support/agent-backends';
import { chatTurn, collectRun } from '../support/run-events';
import { startProcess } from '../support/server-process';
import { PASSWORD, signedInClient, startTestServer, type TestServer, uniqueEmail } from '../support/test-server';

describe('AGENT_BACKEND=letta: one Letta agent per user', () => {
  let backend: Backend;
  const dataDir = mkdtempSync(join(tmpdir(), 'hearth-letta-'));
  const store = { kind: 'pglite', dataDir } as const;

  beforeAll(async () => {
    backend = await startBackend('letta', 'offline');
  });
  afterEach(() => backend.assertClean());
  afterAll(async () => {
    await backend?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const agentsTagged = (userId: string) =>
    [...(backend.letta?.agents.values() ?? [])].filter((agent) => agent.tags.includes(`user:${userId}`));

  it('creates it once, tagged user:<id>, and finds it again after a restart and by tag alone', async () => {
    const email = uniqueEmail('letta');
    const first = await startTestServer({ store, ...backend.server });
    const client = first.client();
    const { user } = await client.auth.register.mutate({ email, password: PASSWORD });
    // Many first calls at once still make one agent.
    const statuses = await Promise.all(Array.from({ length: 5 }, () => client.agent.status.query()));
    const agentId = statuses[0]?.agentId;
    expect(new Set(statuses.map((s) => s.agentId))).toEqual(new Set([agentId]));
    expect(statuses[0]).toMatchObject({ backend: 'letta', model: backend.model });
    expect(agentsTagged(user.id).map((agent) => agent.id)).toEqual([agentId]);
    expect(backend.letta?.agents.get(agentId ?? '')?.metadata).toEqual({ hearth_user_id: user.id });
    await chatTurn(client, 'My name is Ada.');
    expect(await client.user.health.query()).toMatchObject({
      agent: { ready: true, backend: 'letta' },
      llm: { model: backend.model, reachable: true },
    });
    await first.close();

    const again = async () => {
      const server = await startTestServer({ store, ...backend.server });
      const signed = server.client();
      await signed.auth.login.mutate({ email, password: PASSWORD });
      return { server, client: signed };
    };
    const second = await again();
    expect((await second.client.agent.status.query()).agentId).toBe(agentId);
    // The row is gone (a store restored from before the agent existed): the tag finds the same agent.
    await second.server.hearth.store.db.delete(schema.lettaAgents);
    await second.server.close();

    const third = await again();
    expect((await third.client.agent.status.query()).agentId).toBe(agentId);
    expect((await third.client.chat.send.mutate({ text: "What's my name?" })).conversationId).toBeDefined();
    expect(agentsTagged(user.id)).toHaveLength(1);
    await third.server.close();
  }, 60_000);
});

describe('AGENT_BACKEND=letta against a scripted model', () => {
  let llm: LlmTestServer;
  let backend: Backend;
  let server: TestServer;

  beforeAll(async () => {
    llm = await startLlmTestServer();
    backend = await startBackend('letta', llm, { pingIntervalMs: 200 });
    server = await startTestServer({
      store: { kind: 'pglite-memory' },
      env: { ...backend.server.env, LETTA_API_KEY: 'letta-secret' },
    });
  });
  afterEach(() => {
    llm.reset();
    backend.assertClean();
  });
  afterAll(async () => {
    await server?.close();
    await backend?.close();
    await llm?.close();
  });

  const letta = () => {
    if (!backend.letta) throw new Error('no fake Letta');
    return backend.letta;
  };

  it('serializes the sends of one agent: two conversations at once never overlap at Letta', async () => {
    const client = await signedInClient(server, 'serial');
    const { agentId } = await client.agent.status.query();
    llm.setResponder(() => ({ text: 'a slow and steady answer', tokenIntervalMs: 20 }));
    const conversations = await Promise.all([1, 2, 3].map(() => client.chat.createConversation.mutate({})));
    const sent = await Promise.all(
      conversations.map((c) => client.chat.send.mutate({ text: 'go', conversationId: c.id })),
    );
    const runs = await Promise.all(sent.map((s) => collectRun(client, s.runId)));
    expect(runs.map((run) => run.terminal?.type)).toEqual(['run.completed', 'run.completed', 'run.completed']);
    expect(letta().maxConcurrentSends(agentId)).toBe(1);
    const sends = letta().sends.filter((send) => send.agentId === agentId);
    expect(sends).toHaveLength(3);
    for (let i = 1; i < sends.length; i += 1) {
      expect(sends[i]?.startedAt).toBeGreaterThanOrEqual(sends[i - 1]?.endedAt ?? Number.POSITIVE_INFINITY);
    }
    // Each conversation keeps its own copy in Hearth's store, both sides.
    for (const conversation of conversations) {
      const { messages } = await client.chat.history.query({ conversationId: conversation.id });
      expect(messages.map((m) => [m.role, m.content])).toEqual([
        ['user', 'go'],
        ['assistant', 'a slow and steady answer'],
      ]);
    }
    llm.setResponder(() => ({ text: 'Hello from the test model.' }));
  });

  it('sends only the new message, with the API key, and Letta keeps the context', async () => {
    const client = await signedInClient(server, 'context');
    const { agentId } = await client.agent.status.query();
    llm.enqueue({ text: 'First.' }, { text: 'Second.' });
    await chatTurn(client, 'one');
    await chatTurn(client, 'two');
    expect(
      letta()
        .sends.filter((s) => s.agentId === agentId)
        .map((s) => s.text),
    ).toEqual(['one', 'two']);
    expect(letta().authorizations.at(-1)).toBe('Bearer letta-secret');
    const context = (llm.calls[1]?.messages ?? []) as Array<{ role: string; content: string }>;
    expect(context.slice(1).map((m) => [m.role, m.content])).toEqual([
      ['user', 'one'],
      ['assistant', 'First.'],
      ['user', 'two'],
    ]);
  });

  it('cancels mid-stream: stops the stream, asks Letta to cancel, keeps the partial answer', async () => {
    const client = await signedInClient(server, 'cancel');
    const { agentId } = await client.agent.status.query();
    llm.enqueue({ text: Array.from({ length: 200 }, (_, i) => `w${i}`).join(' '), tokenIntervalMs: 10 });
    const sent = await client.chat.send.mutate({ text: 'go on' });
    await collectRun(client, sent.runId, { stopAfter: (_, count) => count >= 4 });
    await client.chat.cancel.mutate({ runId: sent.runId });
    const { terminal } = await collectRun(client, sent.runId);
    expect(terminal).toMatchObject({ type: 'run.cancelled', partial: { status: 'incomplete' } });
    const send = letta().sends.find((s) => s.agentId === agentId);
    expect(letta().cancels).toContainEqual({ agentId, runIds: [send?.runId] });
  });

  it('fails the run as UPSTREAM_UNAVAILABLE when Letta drops the connection, keeping what arrived', async () => {
    const client = await signedInClient(server, 'drop');
    letta().failNextSend({ dropAfterEvents: 3 });
    llm.enqueue({ text: 'one two three four five six' });
    const turn = await chatTurn(client, 'drop me');
    expect(turn.terminal).toMatchObject({
      type: 'run.failed',
      appCode: 'UPSTREAM_UNAVAILABLE',
      retryable: true,
      partial: { status: 'incomplete', content: 'one two three' },
    });
    expect((await client.user.budget.query()).reservedUsd).toBe(0);
  });

  it('waits out a slow first token while Letta pings, within LETTA_TIMEOUT_MS between events', async () => {
    const client = await signedInClient(server, 'slow');
    llm.enqueue({ text: 'worth the wait', ttftMs: 1_500 });
    const turn = await chatTurn(client, 'take your time');
    expect(turn.terminal).toMatchObject({ type: 'run.completed', message: { content: 'worth the wait' } });
  });

  it('clears Letta’s messages on reset, and its blocks back to the defaults', async () => {
    const client = await signedInClient(server, 'reset');
    const { agentId } = await client.agent.status.query();
    await client.agent.updateMemory.mutate({ label: 'human', value: 'Likes tea.' });
    await chatTurn(client, 'hello');
    expect(letta().agents.get(agentId)?.messages.length).toBeGreaterThan(0);
    await client.agent.reset.mutate({ scope: 'all' });
    expect(letta().agents.get(agentId)?.messages).toEqual([]);
    expect(letta().agents.get(agentId)?.blocks.get('human')?.value).toBe('');
    expect((await client.agent.memory.query()).blocks.find((b) => b.label === 'human')).toMatchObject({
      value: '',
      updatedBy: 'system',
    });
  });
});

describe('AGENT_BACKEND=letta: readiness and start-up', () => {
  it('/readyz names letta, and fails when Letta does not answer', async () => {
    const backend = await startBackend('letta', 'offline');
    const server = await startTestServer({ store: { kind: 'pglite-memory' }, ...backend.server });
    try {
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ checks: { store: 'ok', letta: 'ok' } });
      backend.assertClean();
      await backend.close();
      const down = await fetch(`${server.url}/readyz`);
      expect(down.status).toBe(503);
      expect(await down.json()).toMatchObject({ status: 'unavailable', failing: ['letta'] });
    } finally {
      await server.close();
      await backend.close();
    }
  });

  it('refuses to start without LETTA_BASE_URL, naming it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hearth-letta-start-'));
    try {
      const failure = await startProcess({ HEARTH_DATA_DIR: dataDir, AGENT_BACKEND: 'letta' }).catch(
        (error: { code: number; output: string }) => error,
      );
      expect(failure).toMatchObject({ code: 1 });
      expect((failure as { output: string }).output.trim()).toBe(
        'hearth: Invalid setting LETTA_BASE_URL: required when AGENT_BACKEND=letta',
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 30_000);
});
