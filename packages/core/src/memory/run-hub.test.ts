import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../domain/chat';
import { RunHub, WAKE_SLICE } from './run-hub';

const text = (t: string): RunEvent => ({ type: 'text.delta', text: t });
const done: RunEvent = { type: 'run.cancelled', partial: null };

async function drain(iterable: AsyncIterable<{ id: string; event: RunEvent }>) {
  const seen: number[] = [];
  for await (const item of iterable) seen.push(Number(item.id));
  return seen;
}

describe('RunHub', () => {
  it('wakes subscribers a slice at a time, giving the event loop a turn between slices, and loses nothing', async () => {
    const hub = new RunHub(60_000);
    hub.open('r', 'u');
    const seen: number[][] = Array.from({ length: WAKE_SLICE * 2 + 50 }, () => []);
    const followers = seen.map(async (ids) => {
      for await (const item of hub.follow('r', 0, new AbortController().signal)) ids.push(Number(item.id));
    });
    await new Promise((resolve) => setImmediate(resolve));
    const woken = () => seen.filter((ids) => ids.length > 0).length;
    // Queued before the publish, so it runs after the first slice and before the hub's next one.
    const wokenByFirstTurn = new Promise<number>((resolve) => setImmediate(() => resolve(woken())));
    hub.publish('r', text('a'));
    // Published while later slices wait for their turn: those read both events when woken.
    hub.publish('r', text('b'));
    expect(await wokenByFirstTurn).toBe(WAKE_SLICE);
    hub.publish('r', done);
    await Promise.all(followers);
    for (const ids of seen) expect(ids).toEqual([1, 2, 3]);
  });

  it('replays after an id and then follows live events to the terminal one', async () => {
    const hub = new RunHub(60_000);
    hub.open('r', 'u');
    hub.publish('r', text('a'));
    hub.publish('r', text('b'));
    const following = drain(hub.follow('r', 1, new AbortController().signal));
    hub.publish('r', text('c'));
    await Promise.resolve();
    hub.publish('r', done);
    expect(await following).toEqual([2, 3, 4]);
    expect(await drain(hub.follow('r', 0, new AbortController().signal))).toEqual([1, 2, 3, 4]);
  });

  it('ignores events after the terminal one and stops a follower on abort', async () => {
    const hub = new RunHub(60_000);
    hub.open('r', 'u');
    const stop = new AbortController();
    const following = drain(hub.follow('r', 0, stop.signal));
    hub.publish('r', text('a'));
    await new Promise((resolve) => setTimeout(resolve, 5));
    stop.abort();
    expect(await following).toEqual([1]);
    hub.publish('r', done);
    hub.publish('r', text('late'));
    expect(await drain(hub.follow('r', 0, new AbortController().signal))).toEqual([1, 2]);
  });

  it('ends a follower that resumes after the terminal event, instead of waiting forever', async () => {
    const hub = new RunHub(60_000);
    hub.open('r', 'u');
    hub.publish('r', text('a'));
    hub.publish('r', done);
    expect(await drain(hub.follow('r', 2, new AbortController().signal))).toEqual([]);
    expect(hub.publishedCount('r')).toBe(2);
  });

  it('signals cancellation to the run and waits for it to end', async () => {
    const hub = new RunHub(60_000);
    const signal = hub.open('r', 'u');
    signal.addEventListener('abort', () => setTimeout(() => hub.publish('r', done), 5));
    await hub.cancel('r');
    expect(signal.aborted).toBe(true);
    expect(hub.liveRunIds()).toEqual([]);
  });
});
