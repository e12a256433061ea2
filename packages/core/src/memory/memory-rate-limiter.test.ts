import { describe, expect, it } from 'vitest';
import { TestClock } from '../testing';
import { MemoryRateLimiter } from './memory-rate-limiter';

describe('MemoryRateLimiter', () => {
  it('allows `limit` events per window and says how long to wait after that', async () => {
    const clock = new TestClock();
    const limiter = new MemoryRateLimiter(clock);
    for (let i = 0; i < 3; i += 1) expect((await limiter.hit('k', 3, 60_000)).allowed).toBe(true);
    expect(await limiter.hit('k', 3, 60_000)).toEqual({ allowed: false, retryAfterMs: 60_000 });
    clock.advance(20_000);
    expect(await limiter.hit('k', 3, 60_000)).toEqual({ allowed: false, retryAfterMs: 40_000 });
    clock.advance(40_000);
    expect(await limiter.hit('k', 3, 60_000)).toEqual({ allowed: true, retryAfterMs: 0 });
  });

  it('allows exactly `limit` of many concurrent hits', async () => {
    const limiter = new MemoryRateLimiter(new TestClock());
    const decisions = await Promise.all(Array.from({ length: 20 }, () => limiter.hit('k', 5, 60_000)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(5);
  });

  it('keeps keys apart and forgets a key on reset', async () => {
    const limiter = new MemoryRateLimiter(new TestClock());
    await limiter.hit('a', 1, 1000);
    await limiter.reset('a');
    expect((await limiter.hit('a', 1, 1000)).allowed).toBe(true);
    expect((await limiter.hit('b', 1, 1000)).allowed).toBe(true);
    expect((await limiter.hit('a', 1, 1000)).allowed).toBe(false);
  });

  it('gives back one event on refund, never below zero, and nothing once the window has passed', async () => {
    const clock = new TestClock();
    const limiter = new MemoryRateLimiter(clock);
    await limiter.hit('k', 2, 1000);
    await limiter.hit('k', 2, 1000);
    await limiter.refund('k');
    expect((await limiter.hit('k', 2, 1000)).allowed).toBe(true);
    expect((await limiter.hit('k', 2, 1000)).allowed).toBe(false);

    await limiter.refund('empty');
    await limiter.refund('empty');
    expect((await limiter.hit('empty', 1, 1000)).allowed).toBe(true);

    clock.advance(1000);
    await limiter.refund('k');
    expect((await limiter.hit('k', 2, 1000)).allowed).toBe(true);
    expect((await limiter.hit('k', 2, 1000)).allowed).toBe(true);
    expect((await limiter.hit('k', 2, 1000)).allowed).toBe(false);
  });
});
