import type { Session } from './types';

export type SessionListener = (session: Session | null) => void;

/**
 * A session as it may come back from storage: `JSON.parse(JSON.stringify(session))` turns
 * `expiresAt` into an ISO string. The SDK takes either wherever it takes a saved session.
 */
export type StoredSession = Omit<Session, 'expiresAt'> & { expiresAt: Date | string };

/** A stored session with `expiresAt` as a Date again; one that cannot be read counts as expired. */
export function restoreSession(stored: StoredSession | null | undefined): Session | null {
  if (!stored) return null;
  const expiresAt = stored.expiresAt instanceof Date ? stored.expiresAt : new Date(stored.expiresAt);
  return { ...stored, expiresAt: Number.isNaN(expiresAt.getTime()) ? new Date(0) : expiresAt };
}

type Refresher = (refreshToken: string) => Promise<Session>;

/**
 * Holds the signed-in session and renews it: ahead of expiry when a call is about to be made,
 * or on demand after the server said UNAUTHENTICATED. Concurrent callers share one refresh, since
 * refresh tokens are single-use and a second refresh with the same token would end the session.
 */
export class SessionKeeper {
  private session: Session | null;
  private inflight: Promise<Session | null> | null = null;
  private readonly listeners = new Set<SessionListener>();

  constructor(
    initial: StoredSession | null,
    private readonly refresher: Refresher,
    private readonly refreshMarginMs: number,
    private readonly isPermanentFailure: (error: unknown) => boolean,
  ) {
    this.session = restoreSession(initial);
  }

  get current(): Session | null {
    return this.session;
  }

  set(stored: StoredSession | null): void {
    const session = restoreSession(stored);
    this.session = session;
    for (const listener of this.listeners) listener(session);
  }

  subscribe(listener: SessionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The access token to send now, refreshed first if it expires within the margin. */
  async accessToken(): Promise<string | null> {
    const session = this.session;
    if (!session) return null;
    if (session.expiresAt.getTime() - Date.now() > this.refreshMarginMs) return session.accessToken;
    const renewed = await this.refresh().catch(() => null);
    return (renewed ?? this.session)?.accessToken ?? null;
  }

  /**
   * Renews the session with its refresh token. Resolves to null (and signs out) when the server
   * refuses the token for good; rejects on transient failures, keeping the session for a retry.
   */
  refresh(): Promise<Session | null> {
    if (this.inflight) return this.inflight;
    const session = this.session;
    if (!session) return Promise.resolve(null);
    this.inflight = this.refresher(session.refreshToken)
      .then(
        (renewed) => {
          // A sign-out or a new login while the refresh was under way wins over its result.
          if (this.session === session) this.set(renewed);
          return this.session;
        },
        (error: unknown) => {
          if (!this.isPermanentFailure(error)) throw error;
          if (this.session === session) this.set(null);
          return null;
        },
      )
      .finally(() => {
        this.inflight = null;
      });
    return this.inflight;
  }
}
