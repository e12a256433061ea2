import { testDatabases } from '@hearth/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, type Backend, startBackend } from '../support/agent-backends';
import { chatTurn } from '../support/run-events';
import { signedInClient, startTestServer, type TestServer } from '../support/test-server';

const setups = testDatabases().flatMap((db) => BACKENDS.map(({ name }) => ({ ...db, backend: name })));

describe.each(setups)('chat with the offline model on $name, agent backend $backend', ({ location, backend: name }) => {
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

  const signedIn = () => signedInClient(server, 'chat');

  it('remembers a name told in one conversation and uses it in another', async () => {
    const client = await signedIn();
    const first = await chatTurn(client, 'Hi! My name is Ada.');
    const types = first.events.map((e) => e.data.type);
    expect(types[0]).toBe('run.started');
    expect(types).toContain('tool.call');
    expect(types).toContain('memory.updated');
    expect(types.at(-1)).toBe('run.completed');
    const call = first.events.find((e) => e.data.type === 'tool.call')?.data;
    expect(call).toMatchObject({ name: 'memory_insert', arguments: { label: 'human', new_string: 'Name: Ada' } });
    expect(first.text).toBe("Nice to meet you, Ada! I'll remember your name.");
    expect(first.terminal).toMatchObject({ type: 'run.completed', message: { role: 'assistant', status: 'complete' } });

    const memory = await client.agent.memory.query();
    expect(memory.blocks.find((b) => b.label === 'human')).toMatchObject({ value: 'Name: Ada', updatedBy: 'agent' });

    const other = await client.chat.createConversation.mutate({ title: 'Another day' });
    const second = await chatTurn(client, "What's my name?", other.id);
    expect(second.text).toBe('Your name is Ada.');
    expect(second.sent.conversationId).toBe(other.id);
  });

  it('streams word by word and stores both sides in history', async () => {
    const client = await signedIn();
    const turn = await chatTurn(client, 'hello there');
    const deltas = turn.events.filter((e) => e.data.type === 'text.delta');
    expect(deltas.length).toBeGreaterThan(5);
    const usage = turn.events.find((e) => e.data.type === 'usage')?.data;
    expect(usage).toMatchObject({ type: 'usage', costUsd: (await client.user.usage.query({})).totals.costUsd });
    const { messages } = await client.chat.history.query({});
    expect(messages.map((m) => [m.role, m.status])).toEqual([
      ['user', 'complete'],
      ['assistant', 'complete'],
    ]);
    expect(messages[1]?.content).toBe(turn.text);
    expect(messages[1]?.usage?.completionTokens).toBeGreaterThan(0);
  });

  it('streams a run as an async iterable through the SDK', async () => {
    const client = await signedIn();
    const { runId } = await client.chat.send.mutate({ text: 'My name is Mae' });
    const types: string[] = [];
    let text = '';
    for await (const { data } of client.streamRun(runId)) {
      types.push(data.type);
      if (data.type === 'text.delta') text += data.text;
    }
    expect(types.at(-1)).toBe('run.completed');
    expect(text).toBe("Nice to meet you, Mae! I'll remember your name.");

    const stop = new AbortController();
    const seen: string[] = [];
    for await (const { data } of client.streamRun(runId, { signal: stop.signal })) {
      seen.push(data.type);
      stop.abort();
    }
    expect(seen).toEqual(['run.started']);
  });

  it("lets the user edit memory, and the agent's next turn sees it", async () => {
    const client = await signedIn();
    const block = await client.agent.updateMemory.mutate({ label: 'human', value: 'Name: Grace' });
    expect(block).toMatchObject({ label: 'human', value: 'Name: Grace', updatedBy: 'user' });
    expect((await chatTurn(client, 'what is my name?')).text).toBe('Your name is Grace.');
  });

  it('reports the agent and resets what is asked', async () => {
    const client = await signedIn();
    await chatTurn(client, 'My name is Linus');
    const status = await client.agent.status.query();
    expect(status).toMatchObject({ backend: name, model: backend.model, messageCount: 2, activeRunIds: [] });
    expect(status.memory.blocks).toBe(2);

    await client.agent.reset.mutate({ scope: 'messages' });
    expect((await client.chat.history.query({})).messages).toHaveLength(0);
    expect((await client.agent.memory.query()).blocks.find((b) => b.label === 'human')?.value).toBe('Name: Linus');

    await client.agent.reset.mutate({ scope: 'memory' });
    expect((await client.agent.memory.query()).blocks.find((b) => b.label === 'human')?.value).toBe('');
    expect((await chatTurn(client, "what's my name?")).text).toMatch(/don't know your name/);
  });
});
