import { describe, expect, it } from 'vitest';
import { EventQueue } from './event-queue';

describe('EventQueue', () => {
  it('hands on what was pushed before and after the reader waits, then ends', async () => {
    const queue = new EventQueue<number>();
    queue.push(1);
    const read = (async () => {
      const seen: number[] = [];
      for await (const item of queue) seen.push(item);
      return seen;
    })();
    await Promise.resolve();
    queue.push(2);
    setTimeout(() => {
      queue.push(3);
      queue.end();
    }, 5);
    expect(await read).toEqual([1, 2, 3]);
  });

  it('throws a failure where the reader is, after what came before it', async () => {
    const queue = new EventQueue<string>();
    queue.push('a');
    queue.fail(new Error('upstream'));
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const item of queue) seen.push(item);
      })(),
    ).rejects.toThrow('upstream');
    expect(seen).toEqual(['a']);
  });
});
