import { testDatabases } from '@hearth/core/testing';
import type { HearthClient, MemoryVersion } from '@hearth/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, type Backend, startBackend } from '../support/agent-backends';
import { expectHearthError } from '../support/expect-error';
import { chatTurn } from '../support/run-events';
import { signedInClient, startTestServer, type TestServer } from '../support/test-server';

const setups = testDatabases().flatMap((db) => BACKENDS.map(({ name }) => ({ ...db, backend: name })));

/** Every version of the caller's memory, newest first, read page by page. */
async function allVersions(client: HearthClient, label?: string): Promise<MemoryVersion[]> {
  const versions: MemoryVersion[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.agent.memoryHistory.query({
      limit: 2,
      ...(label ? { label } : {}),
      ...(cursor ? { cursor } : {}),
    });
    versions.push(...page.versions);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return versions;
}

describe.each(setups)('memory history on $name, agent backend $backend', ({ location, backend: name }) => {
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

  it('records every change: the defaults, the agent with its run and message, the user; revert undoes the agent', async () => {
    const client = await signedInClient(server, 'history');
    const first = await allVersions(client);
    expect(first.map((v) => [v.label, v.updatedBy, v.previousValue, v.runId, v.messageId]).sort()).toEqual([
      ['human', 'system', null, null, null],
      ['persona', 'system', null, null, null],
    ]);

    const turn = await chatTurn(client, 'Hi! My name is Ada.');
    const updated = turn.events.map((e) => e.data).find((d) => d.type === 'memory.updated');
    if (updated?.type !== 'memory.updated') throw new Error('the agent did not update its memory');
    const [agentVersion] = await allVersions(client, 'human');
    expect(agentVersion).toMatchObject({
      id: updated.versionId,
      label: 'human',
      value: 'Name: Ada',
      previousValue: '',
      updatedBy: 'agent',
      runId: turn.sent.runId,
      messageId: turn.sent.userMessage.id,
    });
    expect(updated.block).toMatchObject({ label: 'human', value: 'Name: Ada', updatedBy: 'agent' });

    await client.agent.updateMemory.mutate({ label: 'human', value: 'Name: Grace' });
    const reverted = await client.agent.revertMemory.mutate({ versionId: updated.versionId });
    expect(reverted.block).toMatchObject({ label: 'human', value: 'Name: Ada', updatedBy: 'user' });
    expect(reverted.version).toMatchObject({
      label: 'human',
      value: 'Name: Ada',
      previousValue: 'Name: Grace',
      updatedBy: 'user',
      runId: null,
      messageId: null,
    });
    expect((await client.agent.memory.query()).blocks.find((b) => b.label === 'human')).toMatchObject({
      value: 'Name: Ada',
      updatedBy: 'user',
    });

    const human = await allVersions(client, 'human');
    expect(human.map((v) => [v.updatedBy, v.previousValue, v.value])).toEqual([
      ['user', 'Name: Grace', 'Name: Ada'],
      ['user', 'Name: Ada', 'Name: Grace'],
      ['agent', '', 'Name: Ada'],
      ['system', null, ''],
    ]);
    expect(human[0]?.id).toBe(reverted.version.id);
    // Newest first, and the unfiltered list holds the persona's too.
    const all = await allVersions(client);
    expect(all.slice(0, 3)).toEqual(human.slice(0, 3));
    expect(
      all
        .slice(3)
        .map((v) => [v.label, v.updatedBy])
        .sort(),
    ).toEqual([
      ['human', 'system'],
      ['persona', 'system'],
    ]);
    for (let i = 1; i < all.length; i += 1) {
      expect((all[i - 1] as MemoryVersion).createdAt.getTime()).toBeGreaterThanOrEqual(
        (all[i] as MemoryVersion).createdAt.getTime(),
      );
    }

    // Reverting to the very first version brings the default back.
    const initial = human.at(-1) as MemoryVersion;
    expect((await client.agent.revertMemory.mutate({ versionId: initial.id })).block.value).toBe('');
    expect((await chatTurn(client, "what's my name?")).text).toMatch(/don't know your name/);
  });

  it('records a reset as the system’s, and refuses what is not the caller’s version or cursor', async () => {
    const client = await signedInClient(server, 'history-rules');
    const other = await signedInClient(server, 'history-other');
    await client.agent.updateMemory.mutate({ label: 'human', value: 'Likes tea.' });
    await client.agent.reset.mutate({ scope: 'memory' });
    const [reset] = await allVersions(client, 'human');
    expect(reset).toMatchObject({ updatedBy: 'system', value: '', previousValue: 'Likes tea.' });

    const [theirs] = await allVersions(other);
    const before = await allVersions(client);
    await expectHearthError(client.agent.revertMemory.mutate({ versionId: theirs?.id ?? '' }), 'NOT_FOUND');
    await expectHearthError(client.agent.revertMemory.mutate({ versionId: crypto.randomUUID() }), 'NOT_FOUND');
    await expectHearthError(client.agent.revertMemory.mutate({ versionId: 'not-a-uuid' }), 'INVALID_INPUT');
    const page = await client.agent.memoryHistory.query({ label: 'human', limit: 1 });
    expect(page.nextCursor).not.toBeNull();
    // A cursor continues only the list it came from.
    await expectHearthError(
      client.agent.memoryHistory.query({ cursor: page.nextCursor ?? '', limit: 1 }),
      'INVALID_INPUT',
    );
    await expectHearthError(client.agent.memoryHistory.query({ cursor: 'garbage', limit: 1 }), 'INVALID_INPUT');
    await expectHearthError(client.agent.memoryHistory.query({ limit: 0 }), 'INVALID_INPUT');
    expect(await allVersions(client)).toEqual(before);
    expect(await client.agent.memoryHistory.query({ label: 'no-such-block' })).toEqual({
      versions: [],
      nextCursor: null,
    });
  });

  it.runIf(name === 'letta')('shows a change made in Letta directly as the system’s, when next read', async () => {
    const client = await signedInClient(server, 'history-letta');
    const { agentId } = await client.agent.status.query();
    await client.agent.updateMemory.mutate({ label: 'human', value: 'Name: Ada' });
    const response = await fetch(`${backend.letta?.url}/v1/agents/${agentId}/core-memory/blocks/human`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value: 'Name: Ada Lovelace' }),
    });
    expect(response.status).toBe(200);
    // Read by several requests at once: the change is recorded once.
    const [memory] = await Promise.all([
      client.agent.memory.query(),
      client.agent.memoryHistory.query({}),
      client.agent.memory.query(),
    ]);
    expect(memory.blocks.find((b) => b.label === 'human')).toMatchObject({
      value: 'Name: Ada Lovelace',
      updatedBy: 'system',
    });
    const human = await allVersions(client, 'human');
    expect(human.map((v) => [v.updatedBy, v.previousValue, v.value])).toEqual([
      ['system', 'Name: Ada', 'Name: Ada Lovelace'],
      ['user', '', 'Name: Ada'],
      ['system', null, ''],
    ]);
  });
});
