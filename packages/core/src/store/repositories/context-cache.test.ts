import { describe, expect, it } from 'vitest';
import { ContextCache, type ContextMessage } from './context-cache';

const message = (seq: number, content = `message ${seq}`): ContextMessage => ({
  id: `m${seq}`,
  seq,
  role: seq % 2 ? 'user' : 'assistant',
  content,
});

describe('ContextCache', () => {
  it('answers the newest messages before a given one, and follows appends', () => {
    const cache = new ContextCache(6, 10_000);
    cache.fill('c', null, [message(1), message(2), message(3)], true);
    expect(cache.get('c', 'm3', 10)).toBeUndefined(); // a limit the cache cannot promise
    expect(cache.get('c', 'm3', 2)?.history.map((m) => m.seq)).toEqual([1, 2]);
    cache.append('c', message(4));
    cache.append('c', message(5, ''));
    cache.append('c', message(6));
    // An empty message is held (the branch stays one chain) but never given to a turn.
    expect(cache.get('c', 'm6', 4)?.history.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    // Only `keep` messages are held: the oldest go, and then a read that reaches past them is a miss.
    cache.append('c', message(7));
    cache.append('c', message(8));
    expect(cache.get('c', 'm8', 4)?.history.map((m) => m.seq)).toEqual([3, 4, 6, 7]);
    expect(cache.get('c', 'm8', 5)).toBeUndefined();
    expect(cache.get('c', 'unknown', 2)).toBeUndefined();
    expect(cache.get('other', 'm8', 2)).toBeUndefined();
  });

  it('gives a short history only when it holds the whole branch', () => {
    const cache = new ContextCache(10, 10_000);
    cache.fill('whole', null, [message(1), message(2), message(3)], true);
    expect(cache.get('whole', 'm3', 5)?.history.map((m) => m.seq)).toEqual([1, 2]);
    cache.fill('part', null, [message(1), message(2), message(3)], false);
    expect(cache.get('part', 'm3', 5)).toBeUndefined();
    expect(cache.get('part', 'm3', 2)?.history.map((m) => m.seq)).toEqual([1, 2]);
  });

  it('follows the branch back: what a rewind cut off never reaches a turn again', () => {
    const cache = new ContextCache(10, 10_000);
    cache.fill('c', null, [message(1), message(2), message(3), message(4)], true);
    // A regenerate answers m3 again: its old answer m4 is off the branch.
    cache.rewind('c', 'm3');
    cache.append('c', { ...message(6), role: 'assistant', content: 'the new answer' });
    cache.append('c', message(7));
    expect(cache.get('c', 'm7', 5)?.history.map((m) => m.content)).toEqual([
      'message 1',
      'message 2',
      'message 3',
      'the new answer',
    ]);
    // An edit of m3 follows m2.
    cache.rewind('c', 'm2');
    cache.append('c', { ...message(9), content: 'edited' });
    expect(cache.get('c', 'm9', 5)?.history.map((m) => m.seq)).toEqual([1, 2]);
    // A point the cache does not hold: the entry goes, and the database answers instead.
    cache.rewind('c', 'm42');
    expect(cache.get('c', 'm9', 1)).toBeUndefined();
  });

  it('drops what a summary now stands for', () => {
    const cache = new ContextCache(10, 10_000);
    cache.fill('c', null, [message(1), message(2), message(3), message(4)]);
    cache.summarise('c', 'They said hello.', 2);
    expect(cache.get('c', 'm4', 5)).toEqual({
      summary: 'They said hello.',
      history: [{ seq: 3, role: 'user', content: 'message 3' }],
    });
  });

  it('forgets the least recently used conversations past its size', () => {
    const cache = new ContextCache(10, 25);
    cache.fill('a', null, [message(1, 'aaaaaaaaaa')], true);
    cache.fill('b', null, [message(2, 'bbbbbbbbbb')], true);
    cache.get('a', 'm1', 1);
    cache.fill('c', null, [message(3, 'cccccccccc')], true);
    expect(cache.get('b', 'm2', 1)).toBeUndefined();
    expect(cache.get('a', 'm1', 1)).toBeDefined();
    expect(cache.get('c', 'm3', 1)).toBeDefined();
  });
});
