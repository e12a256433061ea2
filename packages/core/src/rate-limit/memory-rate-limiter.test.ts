import { describe, expect, it } from 'vitest';
import { TestClock } from '../testing';
import { MemoryRateLimiter } from './memory-rate-limiter';

describe('MemoryRateLimiter', () => {
  it('allows `limit` events per window and says how long to wait after that', async () => {
    const clock = new TestClock();
    const limiter = new MemoryRateLimiter(clock);
    for (let i = 0; i < 3; i += 1) expect((await limiter.hit('k', 3, 60_000)).allowed).toBe(true);
    expect(await limiter.check('k', 3, 60_000)).toEqual({ allowed: false, retryAfterMs: 60_000 });
    clock.advance(20_000);
    expect(await limiter.hit('k', 3, 60_000)).toEqual({ allowed: false, retryAfterMs: 40_000 });
    clock.advance(40_000);
    expect(await limiter.hit('k', 3, 60_000)).toEqual({ allowed: true, retryAfterMs: 0 });
  });

  it('keeps keys apart and forgets a key on reset', async () => {
    const limiter = new MemoryRateLimiter(new TestClock());
    await limiter.hit('a', 1, 1000);
    expect((await limiter.check('a', 1, 1000)).allowed).toBe(false);
    expect((await limiter.check('b', 1, 1000)).allowed).toBe(true);
    await limiter.reset('a');
    expect((await limiter.check('a', 1, 1000)).allowed).toBe(true);
  });
});
