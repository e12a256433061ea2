import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import { KeyedQueue } from './keyed-queue';

describe('KeyedQueue', () => {
  it('runs tasks of one key one at a time, in arrival order, and other keys alongside', async () => {
    const queue = new KeyedQueue();
    const log: string[] = [];
    let running = 0;
    let most = 0;
    const task = (name: string, ms: number) => async () => {
      running += 1;
      most = Math.max(most, running);
      log.push(`start ${name}`);
      await sleep(ms);
      log.push(`end ${name}`);
      running -= 1;
      return name;
    };
    const results = await Promise.all([
      queue.run('a', task('a1', 20)),
      queue.run('a', task('a2', 1)),
      queue.run('a', task('a3', 1)),
    ]);
    expect(results).toEqual(['a1', 'a2', 'a3']);
    expect(log).toEqual(['start a1', 'end a1', 'start a2', 'end a2', 'start a3', 'end a3']);
    expect(most).toBe(1);

    running = 0;
    most = 0;
    await Promise.all([queue.run('a', task('x', 20)), queue.run('b', task('y', 20))]);
    expect(most).toBe(2);
  });

  it('goes on after a task fails', async () => {
    const queue = new KeyedQueue();
    const failed = queue.run('a', async () => {
      throw new Error('boom');
    });
    await expect(failed).rejects.toThrow('boom');
    await expect(queue.run('a', async () => 'next')).resolves.toBe('next');
  });

  it('lets a waiting task leave when its signal aborts, keeping the order of the rest', async () => {
    const queue = new KeyedQueue();
    const log: string[] = [];
    let finishFirst = () => {};
    const first = queue.run(
      'a',
      () =>
        new Promise<void>((resolve) => {
          log.push('first');
          finishFirst = resolve;
        }),
    );
    const controller = new AbortController();
    const second = queue.run('a', async () => void log.push('second'), controller.signal);
    const third = queue.run('a', async () => void log.push('third'));
    await sleep(5);
    controller.abort(new DOMException('cancelled', 'AbortError'));
    await expect(second).rejects.toMatchObject({ name: 'AbortError' });
    await sleep(5);
    expect(log).toEqual(['first']);
    finishFirst();
    await Promise.all([first, third]);
    expect(log).toEqual(['first', 'third']);
  });

  it('refuses at once a task whose signal is already aborted', async () => {
    const queue = new KeyedQueue();
    const controller = new AbortController();
    controller.abort(new DOMException('cancelled', 'AbortError'));
    const task = vi.fn(async () => {});
    await expect(queue.run('a', task, controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
    expect(task).not.toHaveBeenCalled();
  });
});
