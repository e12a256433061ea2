import { AppError } from '../domain/errors';
import type { RateLimiter } from '../ports/rate-limiter';

export interface LoginThrottleLimits {
  /** Failed attempts allowed per email in one window. */
  perEmail: number;
  /** Attempts of any outcome allowed per client IP in one window. */
  perIp: number;
  windowMs: number;
}

/**
 * Slows password guessing two ways: against one account from many places (per email, counting
 * failures) and from one place against many accounts (per IP, counting every attempt).
 */
export class LoginThrottle {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly limits: LoginThrottleLimits,
  ) {}

  /** Counts this attempt against the IP and refuses it if either limit is already spent. */
  async admit(email: string, ip: string): Promise<void> {
    const { perEmail, perIp, windowMs } = this.limits;
    const byIp = await this.limiter.hit(`login:ip:${ip}`, perIp, windowMs);
    const byEmail = await this.limiter.check(`login:email:${email}`, perEmail, windowMs);
    const refused = [byIp, byEmail].filter((d) => !d.allowed);
    if (refused.length === 0) return;
    const retryAfterSeconds = Math.max(1, Math.ceil(Math.max(...refused.map((d) => d.retryAfterMs)) / 1000));
    throw new AppError('RATE_LIMITED', `Too many login attempts. Try again in ${retryAfterSeconds} seconds.`, {
      retryAfterSeconds,
    });
  }

  async recordFailure(email: string): Promise<void> {
    const { perEmail, windowMs } = this.limits;
    await this.limiter.hit(`login:email:${email}`, perEmail, windowMs);
  }

  async recordSuccess(email: string): Promise<void> {
    await this.limiter.reset(`login:email:${email}`);
  }
}
