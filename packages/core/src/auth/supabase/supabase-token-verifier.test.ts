import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../domain/errors';
import { TestClock } from '../../testing/test-clock';
import { SupabaseTokenVerifier } from './supabase-token-verifier';

interface ProjectKey {
  kid: string;
  alg: 'ES256' | 'RS256';
  privateKey: CryptoKey;
  jwk: JWK;
}

const LEGACY_SECRET = 'a-legacy-supabase-jwt-secret-of-32-chars';

async function projectKey(kid: string, alg: 'ES256' | 'RS256'): Promise<ProjectKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

describe('SupabaseTokenVerifier', () => {
  let server: Server;
  let url: string;
  /** What the project's JWKS endpoint publishes right now. */
  let published: ProjectKey[] = [];
  let fetches = 0;
  let up = true;
  let clock: TestClock;
  let es256: ProjectKey;
  let rs256: ProjectKey;

  beforeAll(async () => {
    es256 = await projectKey('es-1', 'ES256');
    rs256 = await projectKey('rs-1', 'RS256');
    server = createServer((req, res) => {
      fetches += 1;
      if (!up || req.url !== '/auth/v1/.well-known/jwks.json') {
        res.writeHead(503).end();
        return;
      }
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ keys: published.map((k) => k.jwk) }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  beforeEach(() => {
    published = [es256, rs256];
    fetches = 0;
    up = true;
    clock = new TestClock();
  });

  const claims = (changes: JWTPayload = {}): JWTPayload => {
    const now = Math.floor(clock.now().getTime() / 1000);
    return {
      iss: `${url}/auth/v1`,
      aud: 'authenticated',
      sub: '6f1d7a36-3c1e-4a4e-9b7e-0c1d2e3f4a5b',
      email: 'ada@example.com',
      role: 'authenticated',
      session_id: '0b7f6c0e-2a8d-4d1b-9a51-3f0c2e4d5a6b',
      is_anonymous: false,
      user_metadata: { display_name: 'Ada' },
      iat: now,
      exp: now + 3600,
      ...changes,
    };
  };
  const sign = (key: ProjectKey, payload = claims()) =>
    new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
  const signHs256 = (secret: string, payload = claims()) =>
    new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(secret));
  const verifier = (legacySecret?: string) => new SupabaseTokenVerifier({ url, clock, legacySecret });
  const refused = async (promise: Promise<unknown>, code = 'UNAUTHENTICATED') => {
    const error = await promise.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).appCode).toBe(code);
    return error as AppError;
  };

  it('accepts ES256 and RS256 tokens from the JWKS, fetching it once', async () => {
    const check = verifier();
    expect(await check.verify(await sign(es256))).toEqual({
      userId: '6f1d7a36-3c1e-4a4e-9b7e-0c1d2e3f4a5b',
      email: 'ada@example.com',
      sessionId: '0b7f6c0e-2a8d-4d1b-9a51-3f0c2e4d5a6b',
      isAnonymous: false,
      userMetadata: { display_name: 'Ada' },
    });
    for (let i = 0; i < 5; i += 1) await check.verify(await sign(i % 2 ? rs256 : es256));
    expect(fetches).toBe(1);
  });

  it('picks up a rotated key by its kid, fetching again at most once per cooldown', async () => {
    const check = verifier();
    await check.verify(await sign(es256));
    const rotated = await projectKey('es-2', 'ES256');
    published = [es256, rotated];
    // Just fetched: a kid it has not seen waits for the cooldown, so made-up kids cannot flood Supabase.
    await refused(check.verify(await sign(rotated)));
    expect(fetches).toBe(1);
    clock.advance(30_000);
    await check.verify(await sign(rotated));
    await check.verify(await sign(es256));
    expect(fetches).toBe(2);
  });

  it('stops accepting a revoked key once the cached set is ten minutes old', async () => {
    const check = verifier();
    await check.verify(await sign(es256));
    published = [rs256];
    clock.advance(9 * 60_000);
    await check.verify(await sign(es256, claims()));
    clock.advance(60_000);
    await refused(check.verify(await sign(es256, claims())));
  });

  it('refuses tokens with another issuer or audience, expired ones, and unsigned ones', async () => {
    const check = verifier();
    await refused(check.verify(await sign(es256, claims({ iss: 'https://other.supabase.co/auth/v1' }))));
    await refused(check.verify(await sign(es256, claims({ aud: 'anon' }))));
    const expired = await refused(
      check.verify(await sign(es256, claims({ exp: Math.floor(clock.now().getTime() / 1000) - 1 }))),
    );
    expect(expired.message).toMatch(/expired/);
    await refused(check.verify(await sign(es256, claims({ session_id: undefined }))));
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    await refused(check.verify(`${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims())}.`));
    await refused(check.verify('not a token'));
  });

  it('refuses a token signed by a key that only borrows a published kid', async () => {
    const impostor = await projectKey(es256.kid, 'ES256');
    await refused(verifier().verify(await sign(impostor)));
  });

  it('takes HS256 only on a legacy project, with its secret, without fetching the JWKS', async () => {
    await refused(verifier().verify(await signHs256(LEGACY_SECRET)));
    const legacy = verifier(LEGACY_SECRET);
    expect((await legacy.verify(await signHs256(LEGACY_SECRET))).email).toBe('ada@example.com');
    await refused(legacy.verify(await signHs256('another-secret-that-is-long-enough-00000')));
    expect(fetches).toBe(0);
    // A project moving to asymmetric keys issues both kinds for a while.
    expect((await legacy.verify(await sign(es256))).email).toBe('ada@example.com');
  });

  it('answers UPSTREAM_UNAVAILABLE while it has no keys, and keeps the ones it has through an outage', async () => {
    up = false;
    const check = verifier();
    await refused(check.verify(await sign(es256)), 'UPSTREAM_UNAVAILABLE');
    up = true;
    clock.advance(30_000);
    await check.verify(await sign(es256));
    up = false;
    clock.advance(11 * 60_000);
    expect((await check.verify(await sign(es256, claims()))).email).toBe('ada@example.com');
  });
});
