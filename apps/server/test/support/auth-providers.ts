import type { Clock } from '@hearth/core';
import { type TestDatabase, testDatabases } from '@hearth/core/testing';
import type { AppCode } from '@hearth/sdk';
import { type FakeSupabaseAuth, startFakeSupabaseAuth } from '@hearth/testkit';
import { generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { TEST_JWT_SECRET } from './test-server';

/** The claims of a real access token, from which tests build altered ones. */
export interface TokenClaims extends JWTPayload {
  sub: string;
  email: string;
  session_id: string;
}

export interface TokenChanges {
  audience?: string;
  issuer?: string;
  expiresIn?: number;
  /** Written last, over every other claim, malformed ones included; `undefined` leaves a claim out. */
  claims?: Record<string, unknown>;
}

/** `payload` with `overrides` written over it; an override of `undefined` removes the claim. */
function overridden(payload: JWTPayload, overrides: Record<string, unknown> = {}): JWTPayload {
  const result: Record<string, unknown> = { ...payload, ...overrides };
  for (const [name, value] of Object.entries(overrides)) if (value === undefined) delete result[name];
  return result;
}

/** One auth provider, ready for a test server to use. */
export interface AuthUnderTest {
  /** The settings that select it. */
  env: Record<string, string>;
  /** The `iss` of the access tokens the server hands out. */
  issuer: string;
  accessTokenTtlSeconds: number;
  /**
   * What auth.refresh answers for the refresh token of a session that logged out: the built-in
   * provider keeps ended sessions; Supabase deletes them, so their tokens are merely unknown.
   */
  refreshAfterLogout: AppCode;
  /** An access token signed with the key the server trusts, carrying `claims` and `changes`. */
  sign(claims: TokenClaims, changes?: TokenChanges): Promise<string>;
  /** The same token signed with a key the server does not trust. */
  forge(claims: TokenClaims): Promise<string>;
  /** Fails the test if the upstream saw a request, or gave an answer, its published API does not allow. */
  assertClean(): void;
  close(): Promise<void>;
}

export interface AuthProviderCase {
  provider: 'builtin' | 'supabase';
  /** Shares `clock` with the server, so token times and the server's view of them agree. */
  start(clock: Clock): Promise<AuthUnderTest>;
}

const seconds = (clock: Clock) => Math.floor(clock.now().getTime() / 1000);

const hs256 = (secret: string, claims: TokenClaims, clock: Clock, changes: TokenChanges, issuer: string) =>
  new SignJWT(
    overridden(
      {
        ...claims,
        aud: changes.audience ?? 'authenticated',
        iss: changes.issuer ?? issuer,
        iat: seconds(clock),
        exp: seconds(clock) + (changes.expiresIn ?? 900),
      },
      changes.claims,
    ),
  )
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(secret));

export const supabaseEnv = (fake: FakeSupabaseAuth) => ({
  AUTH_PROVIDER: 'supabase',
  SUPABASE_URL: fake.url,
  SUPABASE_ANON_KEY: fake.anonKey,
});

/** A Supabase project (the fake) as a provider under test. */
export function supabaseUnderTest(fake: FakeSupabaseAuth, clock: Clock): AuthUnderTest {
  const payload = (claims: TokenClaims, changes: TokenChanges = {}) =>
    overridden(
      {
        ...claims,
        iss: changes.issuer ?? fake.issuer,
        aud: changes.audience ?? 'authenticated',
        iat: seconds(clock),
        exp: seconds(clock) + (changes.expiresIn ?? 3600),
      },
      changes.claims,
    );
  return {
    env: supabaseEnv(fake),
    issuer: fake.issuer,
    accessTokenTtlSeconds: 3600,
    refreshAfterLogout: 'UNAUTHENTICATED',
    sign: (claims, changes) => fake.mintAccessToken(payload(claims, changes)),
    forge: async (claims) => {
      const { privateKey } = await generateKeyPair('ES256');
      // The kid of a real key, so only the signature gives it away.
      return new SignJWT(payload(claims))
        .setProtectedHeader({ alg: 'ES256', kid: fake.currentKid ?? '', typ: 'JWT' })
        .sign(privateKey);
    },
    assertClean: () => fake.contract.assertClean(),
    close: () => fake.close(),
  };
}

export const AUTH_PROVIDERS: AuthProviderCase[] = [
  {
    provider: 'builtin',
    start: async (clock) => ({
      env: {},
      issuer: 'hearth',
      accessTokenTtlSeconds: 900,
      refreshAfterLogout: 'SESSION_REVOKED',
      sign: (claims, changes = {}) => hs256(TEST_JWT_SECRET, claims, clock, changes, 'hearth'),
      forge: (claims) => hs256('another-secret-of-sufficient-length-0123456789', claims, clock, {}, 'hearth'),
      assertClean: () => {},
      close: async () => {},
    }),
  },
  {
    provider: 'supabase',
    start: async (clock) => supabaseUnderTest(await startFakeSupabaseAuth({ now: () => clock.now() }), clock),
  },
];

/** Every provider on every test database: the combinations the auth contract must hold on. */
export function authProvidersOnDatabases(): Array<AuthProviderCase & TestDatabase & { database: string }> {
  return testDatabases().flatMap((database) =>
    AUTH_PROVIDERS.map((provider) => ({ ...database, ...provider, database: database.name })),
  );
}
