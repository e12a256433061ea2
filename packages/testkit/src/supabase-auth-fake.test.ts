import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeSupabaseAuth, startFakeSupabaseAuth } from './supabase-auth-fake';

const PASSWORD = 'a sturdy passphrase 42';

describe('the Supabase Auth fake', () => {
  let fake: FakeSupabaseAuth;

  beforeEach(async () => {
    fake = await startFakeSupabaseAuth({ leakedPasswords: ['correct horse battery staple'] });
  });
  afterEach(async () => {
    fake.contract.assertClean();
    await fake.close();
  });

  const call = async (method: string, path: string, body?: object, token = fake.anonKey) => {
    const response = await fetch(`${fake.url}/auth/v1${path}`, {
      method,
      headers: { apikey: fake.anonKey, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  const signUp = (email: string, password = PASSWORD) => call('POST', '/signup', { email, password, data: {} });
  const refresh = (token: string) => call('POST', '/token?grant_type=refresh_token', { refresh_token: token });

  it('signs users up with ES256 tokens that carry Supabase claims and verify against its JWKS', async () => {
    const { status, body } = await signUp('Ada@Example.com');
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'bearer', expires_in: 3600, user: { email: 'ada@example.com' } });
    const jwks = (await (await fetch(`${fake.url}/auth/v1/.well-known/jwks.json`)).json()) as JSONWebKeySet;
    const { payload, protectedHeader } = await jwtVerify(body.access_token, createLocalJWKSet(jwks), {
      issuer: fake.issuer,
      audience: 'authenticated',
    });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', kid: fake.currentKid });
    expect(payload).toMatchObject({ sub: body.user.id, role: 'authenticated', aal: 'aal1', is_anonymous: false });
    expect(typeof payload.session_id).toBe('string');
  });

  it('answers errors with their GoTrue codes', async () => {
    await signUp('grace@example.com');
    expect(await signUp('grace@example.com')).toMatchObject({
      status: 400,
      body: { error_code: 'user_already_exists' },
    });
    expect(await signUp('alan@example.com', 'short')).toMatchObject({
      body: { error_code: 'weak_password', weak_password: { reasons: ['length'] } },
    });
    expect(await signUp('alan@example.com', 'correct horse battery staple')).toMatchObject({
      body: { error_code: 'weak_password', weak_password: { reasons: ['pwned'] } },
    });
    const wrong = await call('POST', '/token?grant_type=password', { email: 'grace@example.com', password: 'nope' });
    expect(wrong).toMatchObject({ status: 400, body: { error_code: 'invalid_credentials' } });
  });

  it('makes refresh tokens single-use: the lost answer is handed out again, any other reuse ends the session', async () => {
    const { body: first } = await signUp('mary@example.com');
    const { body: second } = await refresh(first.refresh_token);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect((await refresh(first.refresh_token)).body.refresh_token).toBe(second.refresh_token);
    const { body: third } = await refresh(second.refresh_token);
    expect(await refresh(first.refresh_token)).toMatchObject({
      status: 400,
      body: { error_code: 'refresh_token_already_used' },
    });
    expect((await refresh(third.refresh_token)).body.error_code).toBe('refresh_token_already_used');
  });

  it('logs a session out with its own JWT', async () => {
    const { body: session } = await signUp('lin@example.com');
    expect((await call('POST', '/logout?scope=local', undefined, session.access_token)).status).toBe(204);
    expect((await refresh(session.refresh_token)).body.error_code).toBe('refresh_token_not_found');
    expect((await call('POST', '/logout?scope=local', undefined, session.access_token)).body.error_code).toBe(
      'session_not_found',
    );
  });

  it('rotates keys: the new kid signs, the old one stays published until dropped', async () => {
    const before = fake.currentKid;
    const kid = await fake.rotateKeys();
    const { body } = await signUp('joan@example.com');
    expect(decodeProtectedHeader(body.access_token).kid).toBe(kid);
    const published = async () =>
      (
        (await (await fetch(`${fake.url}/auth/v1/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }
      ).keys.map((k) => k.kid);
    expect(await published()).toEqual([before, kid]);
    await fake.rotateKeys({ dropPrevious: true });
    expect(await published()).not.toContain(kid);
  });

  it('signs with one HS256 secret and publishes no key on a legacy project', async () => {
    const legacy = await startFakeSupabaseAuth({ legacyJwtSecret: 'a-legacy-project-secret-of-32-characters!' });
    try {
      const response = await fetch(`${legacy.url}/auth/v1/signup`, {
        method: 'POST',
        headers: { apikey: legacy.anonKey, 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'old@example.com', password: PASSWORD }),
      });
      const { access_token } = (await response.json()) as { access_token: string };
      expect(decodeProtectedHeader(access_token).alg).toBe('HS256');
      expect(decodeJwt(access_token).iss).toBe(legacy.issuer);
      expect(await (await fetch(`${legacy.url}/auth/v1/.well-known/jwks.json`)).json()).toEqual({ keys: [] });
      legacy.contract.assertClean();
    } finally {
      await legacy.close();
    }
  });

  it('lists what breaks the published API, and records who called', async () => {
    await call('POST', '/token', { email: 'x@example.com', password: PASSWORD });
    expect(() => fake.contract.assertClean()).toThrow(/grant_type is required/);
    expect(fake.calls.at(-1)).toMatchObject({ method: 'POST', path: '/token', apikey: fake.anonKey });
  });
});
