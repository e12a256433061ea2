import { describe, expect, it } from 'vitest';
import { MemoryStreamSlots } from './memory-stream-slots';

describe('MemoryStreamSlots', () => {
  it('refuses past the per-run cap, then past the per-user cap, and counts a release once', async () => {
    const slots = new MemoryStreamSlots({ perUser: 3, perRun: 2 });
    const a = await slots.acquire('u', 'r1');
    await slots.acquire('u', 'r1');
    expect(await slots.acquire('u', 'r1')).toEqual({ granted: false, cap: 'run' });
    await slots.acquire('u', 'r2');
    expect(await slots.acquire('u', 'r3')).toEqual({ granted: false, cap: 'user' });
    expect(await slots.acquire('other', 'r3')).toMatchObject({ granted: true });
    if (!a.granted) throw new Error('the first slot was refused');
    a.release();
    a.release();
    expect(slots.openForUser('u')).toBe(2);
    expect(slots.openStreams()).toBe(3);
    expect(await slots.acquire('u', 'r1')).toMatchObject({ granted: true });
  });

  it('forgets users and runs whose streams have all closed', async () => {
    const slots = new MemoryStreamSlots({ perUser: 5, perRun: 5 });
    for (let i = 0; i < 100; i += 1) {
      const slot = await slots.acquire(`u${i}`, `r${i}`);
      if (slot.granted) slot.release();
    }
    expect(slots.size()).toEqual({ users: 0, runs: 0 });
  });
});
