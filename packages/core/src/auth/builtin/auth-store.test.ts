import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../store/database';
import { migrateStore } from '../../store/migrate';
import { testDatabases } from '../../testing';
import { AuthStore } from './auth-store';
import { newRefreshToken } from './refresh-tokens';

describe.each(testDatabases())('AuthStore on $name', ({ location }) => {
  let store: Store;
  let auth: AuthStore;
  const now = new Date();
  const later = new Date(now.getTime() + 86_400_000);

  beforeAll(async () => {
    store = await openStore(location);
    await migrateStore(store, location);
    auth = new AuthStore(store.db);
  });
  afterAll(() => store?.close());

  const email = () => `store-${crypto.randomUUID()}@example.com`;

  it('refuses a second user with the same email', async () => {
    const address = email();
    expect(await auth.createUser({ email: address, passwordHash: 'h', displayName: null })).not.toBeNull();
    expect(await auth.createUser({ email: address, passwordHash: 'h', displayName: null })).toBeNull();
  });

  it('spends a refresh token exactly once, even when presented concurrently', async () => {
    const user = await auth.createUser({ email: email(), passwordHash: 'h', displayName: null });
    const token = newRefreshToken();
    await auth.createSession({
      userId: user?.id ?? '',
      refreshToken: token,
      expiresAt: later,
      ip: '::1',
      userAgent: null,
    });
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, () => auth.rotateRefreshToken(token, newRefreshToken(), now)),
    );
    expect(outcomes.filter((o) => o.kind === 'rotated')).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === 'reused')).toHaveLength(7);
  });

  it('says why a token cannot be rotated', async () => {
    expect((await auth.rotateRefreshToken('never-issued', newRefreshToken(), now)).kind).toBe('unknown');

    const user = await auth.createUser({ email: email(), passwordHash: 'h', displayName: null });
    const userId = user?.id ?? '';
    const expiring = newRefreshToken();
    await auth.createSession({ userId, refreshToken: expiring, expiresAt: now, ip: '::1', userAgent: null });
    expect((await auth.rotateRefreshToken(expiring, newRefreshToken(), now)).kind).toBe('expired');

    const revoked = newRefreshToken();
    const sessionId = await auth.createSession({
      userId,
      refreshToken: revoked,
      expiresAt: later,
      ip: '::1',
      userAgent: null,
    });
    expect(await auth.findActiveSession(sessionId, userId, now)).toMatchObject({ role: 'user' });
    await auth.revokeSession(sessionId, 'logout', now);
    expect((await auth.rotateRefreshToken(revoked, newRefreshToken(), now)).kind).toBe('revoked');
    expect(await auth.findActiveSession(sessionId, userId, now)).toBeNull();
  });

  it('finds a session only for its own user', async () => {
    const a = await auth.createUser({ email: email(), passwordHash: 'h', displayName: null });
    const b = await auth.createUser({ email: email(), passwordHash: 'h', displayName: null });
    const sessionId = await auth.createSession({
      userId: a?.id ?? '',
      refreshToken: newRefreshToken(),
      expiresAt: later,
      ip: '::1',
      userAgent: null,
    });
    expect(await auth.findActiveSession(sessionId, b?.id ?? '', now)).toBeNull();
  });
});
