import type { Clock } from '../../ports/clock';

const MAX_REMEMBERED = 100_000;

/**
 * Sessions logged out through this process, remembered until their access tokens expire. Supabase
 * access tokens are checked locally, so without this a logged-out token would work until it expired;
 * other processes still accept it until then.
 */
export class EndedSessions {
  private readonly ended = new Map<string, number>();

  constructor(private readonly clock: Clock) {}

  add(sessionId: string, tokensExpireAt: Date): void {
    const now = this.clock.now().getTime();
    if (this.ended.size >= MAX_REMEMBERED) {
      for (const [id, expiresAt] of this.ended) if (expiresAt <= now) this.ended.delete(id);
    }
    this.ended.set(sessionId, tokensExpireAt.getTime());
  }

  has(sessionId: string): boolean {
    const expiresAt = this.ended.get(sessionId);
    return expiresAt !== undefined && expiresAt > this.clock.now().getTime();
  }
}
