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
    const cache = new ContextCache(5, 10_000);
    cache.fill('c', null, [message(1), message(2), message(3)]);
    expect(cache.get('c', 'm3', 10)).toBeUndefined(); // a limit the cache cannot promise
    expect(cache.get('c', 'm3', 2)?.history.map((m) => m.seq)).toEqual([1, 2]);
    cache.append('c', message(4));
    cache.append('c', message(5, ''));
    cache.append('c', message(6));
    expect(cache.get('c', 'm6', 4)?.history.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    // Only `keep` messages are held: the oldest go.
    cache.append('c', message(7));
    cache.append('c', message(8));
    expect(cache.get('c', 'm8', 4)?.history.map((m) => m.seq)).toEqual([3, 4, 6, 7]);
    expect(cache.get('c', 'unknown', 2)).toBeUndefined();
    expect(cache.get('other', 'm8', 2)).toBeUndefined();
  });

  it('drops what a summary now stands for', () => {
    const cache = new ContextCache(10, 10_000);
    cache.fill('c', null, [message(1), message(2), message(3), message(4)]);
    cache.summarise('c', 'They said hello.', 2);
    expect(cache.get('c', 'm4', 5)).toEqual({ summary: 'They said hello.', history: [message(3)] });
  });

  it('forgets the least recently used conversations past its size', () => {
    const cache = new ContextCache(10, 25);
    cache.fill('a', null, [message(1, 'aaaaaaaaaa')]);
    cache.fill('b', null, [message(2, 'bbbbbbbbbb')]);
    cache.get('a', 'm1', 1);
    cache.fill('c', null, [message(3, 'cccccccccc')]);
    expect(cache.get('b', 'm2', 1)).toBeUndefined();
    expect(cache.get('a', 'm1', 1)).toBeDefined();
    expect(cache.get('c', 'm3', 1)).toBeDefined();
  });
});
