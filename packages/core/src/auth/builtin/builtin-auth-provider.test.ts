import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '../../memory/memory-rate-limiter';
import { openStore, type Store } from '../../store/database';
import { migrateStore } from '../../store/migrate';
import { TestClock, testDatabases } from '../../testing';
import { AuthThrottle } from '../auth-throttle';
import { AccessTokens } from './access-tokens';
import { AuthStore } from './auth-store';
import { BuiltinAuthProvider } from './builtin-auth-provider';

const DAY_SECONDS = 86_400;
const client = { ip: '127.0.0.1', userAgent: null };

describe.each(testDatabases())('BuiltinAuthProvider on $name', ({ location }) => {
  let store: Store;

  beforeAll(async () => {
    store = await openStore(location);
    await migrateStore(store, location);
  });
  afterAll(() => store?.close());

  /** A provider and a signed-in user; access tokens outlive the one-day session, to test its expiry apart. */
  async function signedIn(soleWriter: boolean) {
    const clock = new TestClock(new Date());
    const provider = new BuiltinAuthProvider({
      store: new AuthStore(store.db),
      tokens: new AccessTokens({
        secret: new TextEncoder().encode('a test key that is long enough for hs256'),
        issuer: 'hearth-test',
        ttlSeconds: 2 * DAY_SECONDS,
        clock,
      }),
      throttle: new AuthThrottle(new MemoryRateLimiter(clock), {
        login: { perEmail: 10, perIp: 100, windowMs: 60_000 },
        registration: { perIp: 100, windowMs: 60_000 },
      }),
      clock,
      sessionTtlSeconds: DAY_SECONDS,
      soleWriter,
    });
    const { session } = await provider.register(
      { email: `provider-${crypto.randomUUID()}@example.com`, password: 'a sturdy passphrase 42' },
      client,
    );
    const caller = await provider.authenticate(session.accessToken);
    return { clock, provider, token: session.accessToken, caller };
  }

  /** What another process sharing the database would do. */
  const revokeElsewhere = (sessionId: string, now: Date) =>
    new AuthStore(store.db).revokeSession(sessionId, 'logout', now);

  it('on a shared store, notices within seconds a session another process revoked', async () => {
    const { clock, provider, token, caller } = await signedIn(false);
    await revokeElsewhere(caller.sessionId, clock.now());
    await expect(provider.authenticate(token)).resolves.toMatchObject({ id: caller.id });
    clock.advance(6_000);
    await expect(provider.authenticate(token)).rejects.toMatchObject({ appCode: 'UNAUTHENTICATED' });
  });

  it("as the store's one writer, trusts a live session until it expires or is ended here", async () => {
    const { clock, provider, token, caller } = await signedIn(true);
    // No other process can write this store, so nothing but this provider ends sessions: no recheck.
    await revokeElsewhere(caller.sessionId, clock.now());
    clock.advance(60_000);
    await expect(provider.authenticate(token)).resolves.toMatchObject({ id: caller.id });
    clock.advance(DAY_SECONDS * 1000);
    await expect(provider.authenticate(token)).rejects.toMatchObject({ appCode: 'UNAUTHENTICATED' });

    const other = await signedIn(true);
    await other.provider.logout(other.caller);
    await expect(other.provider.authenticate(other.token)).rejects.toMatchObject({ appCode: 'UNAUTHENTICATED' });
  });
});
