/**
 * What one process tells every process sharing the store to stop trusting from memory: a session
 * that ended (logout, refresh-token reuse), or an account whose standing changed (disabled).
 * Processes remember verified sessions and account states for a few seconds so a request costs
 * no query; this is how a revocation made on one instance holds on all of them within a second.
 */
export type Revocation =
  | {
      kind: 'session';
      sessionId: string /** When its access tokens expire (ms since the epoch). */;
      tokensExpireAt: number;
    }
  | { kind: 'account'; userId: string };

export interface Revocations {
  /** Delivered to this process's listeners at once, and to other processes' as soon as they hear it. */
  publish(revocation: Revocation): void;
  subscribe(listener: (revocation: Revocation) => void): void;
}

/** One process: the listeners are all there is to tell. */
export class LocalRevocations implements Revocations {
  private readonly listeners: Array<(revocation: Revocation) => void> = [];

  publish(revocation: Revocation): void {
    for (const listener of this.listeners) listener(revocation);
  }

  subscribe(listener: (revocation: Revocation) => void): void {
    this.listeners.push(listener);
  }
}
