import { describe, expect, it, vi } from 'vitest';
import { restoreSession, SessionKeeper, type StoredSession } from './session-keeper';
import type { Session } from './types';

const session = (name: string, expiresInMs: number): Session => ({
  accessToken: `access-${name}`,
  refreshToken: `refresh-${name}`,
  tokenType: 'bearer',
  expiresAt: new Date(Date.now() + expiresInMs),
});

const permanent = (error: unknown) => error instanceof Error && error.message === 'revoked';

describe('SessionKeeper', () => {
  it('hands out the current token while it is fresh', async () => {
    const refresher = vi.fn();
    const keeper = new SessionKeeper(session('a', 600_000), refresher, 60_000, permanent);
    expect(await keeper.accessToken()).toBe('access-a');
    expect(refresher).not.toHaveBeenCalled();
  });

  it('shares one refresh among concurrent callers, since a refresh token works once', async () => {
    const refresher = vi.fn(async () => session('b', 600_000));
    const keeper = new SessionKeeper(session('a', 10_000), refresher, 60_000, permanent);
    const tokens = await Promise.all([keeper.accessToken(), keeper.accessToken(), keeper.accessToken()]);
    expect(tokens).toEqual(['access-b', 'access-b', 'access-b']);
    expect(refresher).toHaveBeenCalledTimes(1);
    expect(refresher).toHaveBeenCalledWith('refresh-a');
  });

  it('signs out when the server refuses the refresh token for good', async () => {
    const changes: Array<Session | null> = [];
    const keeper = new SessionKeeper(
      session('a', 0),
      async () => {
        throw new Error('revoked');
      },
      60_000,
      permanent,
    );
    keeper.subscribe((s) => changes.push(s));
    expect(await keeper.refresh()).toBeNull();
    expect(keeper.current).toBeNull();
    expect(changes).toEqual([null]);
  });

  it('keeps the session through a transient failure', async () => {
    const keeper = new SessionKeeper(
      session('a', 0),
      async () => {
        throw new Error('network down');
      },
      60_000,
      permanent,
    );
    await expect(keeper.refresh()).rejects.toThrow('network down');
    expect(keeper.current?.refreshToken).toBe('refresh-a');
  });

  it('lets a sign-out during a refresh win', async () => {
    let finish: (s: Session) => void = () => {};
    const keeper = new SessionKeeper(session('a', 0), () => new Promise((r) => (finish = r)), 60_000, permanent);
    const pending = keeper.refresh();
    keeper.set(null);
    finish(session('b', 600_000));
    expect(await pending).toBeNull();
    expect(keeper.current).toBeNull();
  });

  it('takes a session restored from JSON, expiresAt an ISO string', async () => {
    const fromJson = (s: Session): StoredSession => JSON.parse(JSON.stringify(s));
    const refresher = vi.fn(async () => session('b', 600_000));
    const fresh = new SessionKeeper(fromJson(session('a', 600_000)), refresher, 60_000, permanent);
    expect(await fresh.accessToken()).toBe('access-a');
    expect(fresh.current?.expiresAt).toBeInstanceOf(Date);

    const stale = new SessionKeeper(null, refresher, 60_000, permanent);
    stale.set(fromJson(session('a', 10_000)));
    expect(await stale.accessToken()).toBe('access-b');
    expect(refresher).toHaveBeenCalledTimes(1);
  });

  it('treats an unreadable expiry as expired, so the next call refreshes', () => {
    const restored = restoreSession({ ...session('a', 600_000), expiresAt: 'not a date' });
    expect(restored?.expiresAt.getTime()).toBe(0);
  });
});
