import type { Clock } from '../ports/clock';
import type { RateLimitDecision, RateLimiter } from '../ports/rate-limiter';

interface Window {
  count: number;
  resetsAt: number;
}

/**
 * Fixed-window counters in this process's memory; expired windows are swept as keys are touched.
 * Each operation reads and writes its window with no await in between, so it is atomic here.
 */
export class MemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, Window>();
  private lastSweep = 0;

  constructor(private readonly clock: Clock) {}

  async hit(key: string, limit: number, windowMs: number): Promise<RateLimitDecision> {
    const now = this.clock.now().getTime();
    this.sweep(now);
    const window = this.current(key, now) ?? { count: 0, resetsAt: now + windowMs };
    window.count += 1;
    this.windows.set(key, window);
    return { allowed: window.count <= limit, retryAfterMs: window.count <= limit ? 0 : window.resetsAt - now };
  }

  async refund(key: string): Promise<void> {
    const window = this.current(key, this.clock.now().getTime());
    if (window && window.count > 0) window.count -= 1;
  }

  async reset(key: string): Promise<void> {
    this.windows.delete(key);
  }

  private current(key: string, now: number): Window | undefined {
    const window = this.windows.get(key);
    if (window && window.resetsAt <= now) {
      this.windows.delete(key);
      return undefined;
    }
    return window;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    for (const [key, window] of this.windows) if (window.resetsAt <= now) this.windows.delete(key);
  }
}
