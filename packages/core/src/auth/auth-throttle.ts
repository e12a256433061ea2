import { AppError, isAppError } from '../domain/errors';
import type { RateLimitDecision, RateLimiter } from '../ports/rate-limiter';

export interface AuthThrottleLimits {
  login: {
    /** Failed attempts allowed per email in one window. */
    perEmail: number;
    /** Attempts of any outcome allowed per client IP in one window. */
    perIp: number;
    windowMs: number;
  };
  registration: {
    /** Sign-up attempts that reach the accounts, allowed per client IP in one window. */
    perIp: number;
    windowMs: number;
  };
}

/**
 * Slows password guessing two ways: against one account from many places (per email, counting
 * failures) and from one place against many accounts (per IP, counting every attempt). Sign-ups are
 * limited per IP: each one creates an account or tells whether an email has one.
 *
 * Every attempt is counted before it runs, so concurrent attempts cannot all slip under a limit
 * that none of them has reached yet; what turns out not to count is given back afterwards.
 */
export class AuthThrottle {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly limits: AuthThrottleLimits,
  ) {}

  /**
   * Runs one login attempt, which throws INVALID_CREDENTIALS for a wrong email or password. That
   * failure stays counted against the email; a success forgets the email's failures; any other
   * outcome (an upstream outage, a refusal for another reason) is not a failure and is given back.
   */
  async login<T>(email: string, ip: string, attempt: () => Promise<T>): Promise<T> {
    const { perEmail, perIp, windowMs } = this.limits.login;
    refuseUnless(await this.limiter.hit(`login:ip:${ip}`, perIp, windowMs), 'login attempts');
    const emailKey = `login:email:${email}`;
    refuseUnless(await this.limiter.hit(emailKey, perEmail, windowMs), 'login attempts');
    let result: T;
    try {
      result = await attempt();
    } catch (error) {
      if (!isAppError(error, 'INVALID_CREDENTIALS')) await this.limiter.refund(emailKey);
      throw error;
    }
    await this.limiter.reset(emailKey);
    return result;
  }

  /**
   * Runs one sign-up attempt. It stays counted whatever the answer (an account made, EMAIL_TAKEN),
   * except a failure that is not the client's doing (the store or upstream failing), which is given back.
   */
  async registration<T>(ip: string, attempt: () => Promise<T>): Promise<T> {
    const { perIp, windowMs } = this.limits.registration;
    const key = `register:ip:${ip}`;
    refuseUnless(await this.limiter.hit(key, perIp, windowMs), 'sign-ups');
    try {
      return await attempt();
    } catch (error) {
      if (!isAppError(error) || error.appCode.startsWith('UPSTREAM_') || error.appCode === 'INTERNAL') {
        await this.limiter.refund(key);
      }
      throw error;
    }
  }
}

function refuseUnless(decision: RateLimitDecision, what: string): void {
  if (decision.allowed) return;
  const retryAfterSeconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
  throw new AppError('RATE_LIMITED', `Too many ${what}. Try again in ${retryAfterSeconds} seconds.`, {
    retryAfterSeconds,
  });
}
