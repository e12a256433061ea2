import { describe, expect, it } from 'vitest';
import { DEFAULT_BLOCKS } from '../domain/default-blocks';
import { isAppError } from '../domain/errors';
import { InMemoryAgentStore } from './in-memory-agent-store';
import { TestClock } from './test-clock';

const agentAuthor = { by: 'agent', runId: 'run-1', messageId: 'message-1' } as const;

describe('InMemoryAgentStore', () => {
  it('creates an agent once, with the default blocks as its first versions', async () => {
    const store = new InMemoryAgentStore(new TestClock());
    const [a, b] = await Promise.all([store.ensure('u', 'm'), store.ensure('u', 'm')]);
    expect(a?.id).toBe(b?.id);
    const blocks = await store.blocks(a?.id ?? '');
    expect(blocks.map((block) => [block.label, block.value])).toEqual(
      [...DEFAULT_BLOCKS].sort((x, y) => x.label.localeCompare(y.label)).map((block) => [block.label, block.value]),
    );
    const latest = await store.versions.latest('u');
    expect([...latest.values()].map((v) => [v.label, v.previousValue, v.updatedBy]).sort()).toEqual([
      ['human', null, 'system'],
      ['persona', null, 'system'],
    ]);
  });

  it('refuses a value over the limit and an unknown label with the Drizzle store’s errors', async () => {
    const store = new InMemoryAgentStore();
    const agent = await store.ensure('u', 'm');
    const over = await store.writeBlock(agent, 'human', 'x'.repeat(20_001), agentAuthor).catch((e: unknown) => e);
    expect(isAppError(over, 'MEMORY_LIMIT')).toBe(true);
    expect(isAppError(over) && over.data.fieldErrors).toEqual({ value: ['At most 20000 characters.'] });
    const unknown = await store.writeBlock(agent, 'nope', 'x', agentAuthor).catch((e: unknown) => e);
    expect(isAppError(unknown, 'NOT_FOUND')).toBe(true);
    expect((await store.versions.page('u', { limit: 10 })).versions).toHaveLength(2);
  });

  it('resets the blocks with a system version for each that changed, and empties archival memory', async () => {
    const store = new InMemoryAgentStore();
    const agent = await store.ensure('u', 'm');
    await store.writeBlock(agent, 'human', 'Name: Ada', agentAuthor);
    await store.insertPassage(agent.id, 'a note', []);
    await store.resetBlocks(agent);
    const { versions } = await store.versions.page('u', { limit: 10 });
    expect(versions.map((v) => [v.label, v.value, v.previousValue, v.updatedBy])).toEqual([
      ['human', '', 'Name: Ada', 'system'],
      ['human', 'Name: Ada', '', 'agent'],
      ['human', '', null, 'system'],
      ['persona', DEFAULT_BLOCKS[0]?.value, null, 'system'],
    ]);
    expect((await store.listPassages(agent.id, { limit: 10 })).passages).toEqual([]);
  });

  it('pages versions newest first, a cursor continuing only the list it came from', async () => {
    const store = new InMemoryAgentStore();
    const agent = await store.ensure('u', 'm');
    for (const value of ['one', 'two', 'three']) await store.writeBlock(agent, 'human', value, { by: 'user' });
    const first = await store.versions.page('u', { label: 'human', limit: 2 });
    expect(first.versions.map((v) => v.value)).toEqual(['three', 'two']);
    const second = await store.versions.page('u', { label: 'human', limit: 2, cursor: first.nextCursor ?? '' });
    expect(second).toMatchObject({ versions: [{ value: 'one' }, { value: '' }], nextCursor: null });
    const elsewhere = await store.versions
      .page('u', { label: 'persona', limit: 2, cursor: first.nextCursor ?? '' })
      .catch((e: unknown) => e);
    expect(isAppError(elsewhere, 'INVALID_INPUT')).toBe(true);
    expect(isAppError(elsewhere) && elsewhere.message).toBe('That page cursor is not valid here.');
  });

  it('lists, pages, searches and deletes archival passages of one agent only', async () => {
    const clock = new TestClock(new Date('2026-03-02T10:00:00Z'));
    const store = new InMemoryAgentStore(clock);
    const agent = await store.ensure('u', 'm');
    const other = await store.ensure('v', 'm');
    const ids: string[] = [];
    for (const text of ['Ada likes tea', 'Ada likes hiking', 'Grace likes tea']) {
      ids.push(await store.insertPassage(agent.id, text, text.startsWith('Ada') ? ['ada'] : []));
      clock.advance(1_000);
    }
    const first = await store.listPassages(agent.id, { limit: 2 });
    expect(first.passages.map((p) => p.content)).toEqual(['Grace likes tea', 'Ada likes hiking']);
    const rest = await store.listPassages(agent.id, { limit: 2, cursor: first.nextCursor ?? '' });
    expect(rest).toMatchObject({ passages: [{ content: 'Ada likes tea' }], nextCursor: null });
    const filtered = await store
      .listPassages(agent.id, { query: 'tea', limit: 2, cursor: first.nextCursor ?? '' })
      .catch((e: unknown) => e);
    expect(isAppError(filtered, 'INVALID_INPUT')).toBe(true);
    expect((await store.searchPassages(agent.id, 'tea', ['ada'], 5)).map((p) => p.content)).toEqual(['Ada likes tea']);
    expect(await store.searchPassages(other.id, 'tea', [], 5)).toEqual([]);
    expect(await store.deletePassage(other.id, ids[0] ?? '')).toBe(false);
    expect(await store.deletePassage(agent.id, ids[0] ?? '')).toBe(true);
    expect(await store.deletePassage(agent.id, 'not-a-uuid')).toBe(false);
  });

  it('finds the user’s own messages by their words, best match first', async () => {
    const store = new InMemoryAgentStore();
    store.addMessage('u', { role: 'user', content: 'I love tea' });
    store.addMessage('u', { role: 'assistant', content: 'Tea, tea and more tea' });
    store.addMessage('v', { role: 'user', content: 'tea for me too' });
    expect((await store.searchMessages('u', 'tea', [], 5)).map((h) => h.content)).toEqual([
      'Tea, tea and more tea',
      'I love tea',
    ]);
    expect((await store.searchMessages('u', 'tea', ['user'], 5)).map((h) => h.content)).toEqual(['I love tea']);
    expect(await store.searchMessages('u', 'love coffee', [], 5)).toEqual([]);
  });
});
