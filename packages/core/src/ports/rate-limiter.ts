export interface RateLimitDecision {
  allowed: boolean;
  /** How long until the next attempt may succeed; 0 when allowed. */
  retryAfterMs: number;
}

/**
 * Counts events per key in fixed windows. In-memory for one process; a shared implementation
 * (Redis) lets several processes enforce one limit.
 */
export interface RateLimiter {
  /** Whether `key` is still under `limit`, without counting an event. */
  check(key: string, limit: number, windowMs: number): Promise<RateLimitDecision>;
  /** Counts one event for `key` and says whether it was within `limit`. */
  hit(key: string, limit: number, windowMs: number): Promise<RateLimitDecision>;
  reset(key: string): Promise<void>;
}
