import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimitDecision, RateLimiter } from '../ports/rate-limiter';

const KEY_PREFIX = 'hearth:rl';

/**
 * Limits shared by every process, through rate-limiter-flexible's atomic INCR-and-EXPIRE script.
 * While Redis is unreachable each process counts on its own (its insurance limiter) rather than
 * refusing every login: the limits loosen to one per process for that time, they do not vanish.
 */
export class RedisRateLimiter implements RateLimiter {
  /** One limiter per (limit, window); all share one key prefix, so a key's count is the same whichever reads it. */
  private readonly limiters = new Map<string, RateLimiterRedis>();

  /** `client` should have `enableOfflineQueue: false`, so a call fails at once while Redis is away. */
  constructor(private readonly client: Redis) {}

  async hit(key: string, limit: number, windowMs: number): Promise<RateLimitDecision> {
    try {
      await this.limiter(limit, windowMs).consume(key);
      return { allowed: true, retryAfterMs: 0 };
    } catch (refusal) {
      if (refusal instanceof RateLimiterRes) return { allowed: false, retryAfterMs: refusal.msBeforeNext };
      throw refusal;
    }
  }

  async refund(key: string): Promise<void> {
    const limiter = this.limiters.values().next().value;
    // Nothing was ever counted through this process's limiters; nothing of it is left to give back.
    if (!limiter) return;
    const counted = await limiter.get(key);
    if (counted && counted.consumedPoints > 0) await limiter.reward(key, 1);
  }

  async reset(key: string): Promise<void> {
    const limiter = this.limiters.values().next().value;
    await (limiter ?? this.limiter(1, 1_000)).delete(key);
  }

  private limiter(limit: number, windowMs: number): RateLimiterRedis {
    const id = `${limit}:${windowMs}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      // rate-limiter-flexible counts windows in whole seconds.
      const duration = Math.max(1, Math.ceil(windowMs / 1000));
      limiter = new RateLimiterRedis({
        storeClient: this.client,
        keyPrefix: KEY_PREFIX,
        points: limit,
        duration,
        insuranceLimiter: new RateLimiterMemory({ keyPrefix: KEY_PREFIX, points: limit, duration }),
      });
      this.limiters.set(id, limiter);
    }
    return limiter;
  }
}
