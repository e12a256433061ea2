import { testDatabases } from '@hearth/core/testing';
import { type LlmTestServer, startLlmTestServer } from '@hearth/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, type Backend, startBackend } from '../support/agent-backends';
import { expectHearthError } from '../support/expect-error';
import { chatTurn } from '../support/run-events';
import { signedInClient, startTestServer, type TestServer } from '../support/test-server';

const setups = testDatabases().flatMap((db) => BACKENDS.map(({ name }) => ({ ...db, backend: name })));

const TEA = 'Ada likes 100% green tea';
const CAT = 'Ada’s cat is called Pixel';

describe.each(setups)('archival memory on $name, agent backend $backend', ({ location, backend: name }) => {
  let llm: LlmTestServer;
  let backend: Backend;
  let server: TestServer;

  beforeAll(async () => {
    llm = await startLlmTestServer();
    backend = await startBackend(name, llm);
    server = await startTestServer({ store: location, ...backend.server });
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

  /** A user whose agent filed two passages, the tea one first. */
  async function userWithPassages() {
    const client = await signedInClient(server, 'archival');
    const insert = (content: string, tags: string[]) => ({
      toolCalls: [{ name: 'archival_memory_insert', arguments: JSON.stringify({ content, tags }) }],
    });
    llm.enqueue(insert(TEA, ['food']), insert(CAT, []), { text: 'Noted.' });
    const turn = await chatTurn(client, 'Remember: I like green tea, and my cat is Pixel.');
    expect(turn.terminal?.type).toBe('run.completed');
    return client;
  }

  it('lists what the agent filed, newest first, by page and by text', async () => {
    const client = await userWithPassages();
    const { passages, nextCursor } = await client.agent.archival.list.query({});
    expect(passages.map((p) => p.content)).toEqual([CAT, TEA]);
    expect(passages[1]?.tags).toEqual(['food']);
    expect(passages[0]?.createdAt).toBeInstanceOf(Date);
    expect(nextCursor).toBeNull();

    const first = await client.agent.archival.list.query({ limit: 1 });
    expect(first.passages.map((p) => p.content)).toEqual([CAT]);
    const second = await client.agent.archival.list.query({ limit: 1, cursor: first.nextCursor ?? '' });
    expect(second).toEqual({ passages: [passages[1]], nextCursor: null });

    // The text matched anywhere, in any case; `%` is a character, not a wildcard.
    expect((await client.agent.archival.list.query({ query: 'PIXEL' })).passages.map((p) => p.content)).toEqual([CAT]);
    expect((await client.agent.archival.list.query({ query: '%' })).passages.map((p) => p.content)).toEqual([TEA]);
    expect((await client.agent.archival.list.query({ query: 'coffee' })).passages).toEqual([]);
    // A cursor continues only the list it came from.
    await expectHearthError(
      client.agent.archival.list.query({ query: 'Ada', cursor: first.nextCursor ?? '' }),
      'INVALID_INPUT',
    );
    await expectHearthError(client.agent.archival.list.query({ cursor: 'garbage' }), 'INVALID_INPUT');
  });

  it('deletes a passage of the caller’s agent, and nothing that is not', async () => {
    const client = await userWithPassages();
    const other = await signedInClient(server, 'archival-other');
    await other.agent.status.query();
    const [cat, tea] = (await client.agent.archival.list.query({})).passages;
    if (!cat || !tea) throw new Error('the agent filed no passages');

    await expectHearthError(other.agent.archival.delete.mutate({ id: tea.id }), 'NOT_FOUND');
    await expectHearthError(client.agent.archival.delete.mutate({ id: crypto.randomUUID() }), 'NOT_FOUND');
    await expectHearthError(client.agent.archival.delete.mutate({ id: `passage-${crypto.randomUUID()}` }), 'NOT_FOUND');
    await expectHearthError(client.agent.archival.delete.mutate({ id: 'garbage' }), 'INVALID_INPUT');
    expect((await client.agent.archival.list.query({})).passages).toEqual([cat, tea]);

    expect(await client.agent.archival.delete.mutate({ id: tea.id })).toEqual({ ok: true });
    expect((await client.agent.archival.list.query({})).passages).toEqual([cat]);
    await expectHearthError(client.agent.archival.delete.mutate({ id: tea.id }), 'NOT_FOUND');
  });
});
