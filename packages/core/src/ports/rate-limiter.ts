export interface RateLimitDecision {
  allowed: boolean;
  /** How long until the next attempt may succeed; 0 when allowed. */
  retryAfterMs: number;
}

/**
 * Counts events per key in fixed windows. In-memory for one process; a shared implementation
 * (Redis) lets several processes enforce one limit.
 *
 * There is no separate "check": a check followed by a count lets every concurrent request pass the
 * check before any of them is counted. Callers count first (`hit`) and give back what turned out
 * not to matter (`refund`, `reset`).
 */
export interface RateLimiter {
  /**
   * Counts one event for `key` and says whether it was within `limit`, as one atomic step: of any
   * number of concurrent hits on a key that has `n` events in its window, at most `limit - n` are
   * allowed. The window starts at the first hit and is not extended by later ones. A refused hit
   * counts too. (Redis: INCR then PEXPIRE NX on the same key, in one MULTI or script.)
   */
  hit(key: string, limit: number, windowMs: number): Promise<RateLimitDecision>;
  /**
   * Takes back one event counted by `hit` in the current window, never going below zero; nothing
   * once the window has passed. For an attempt that was counted up front but turned out not to be
   * the kind of event the limit is about. (Redis: a script that DECRs only an existing, positive key.)
   */
  refund(key: string): Promise<void>;
  /** Forgets every event for `key`. */
  reset(key: string): Promise<void>;
}
