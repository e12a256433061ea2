import { schema } from '@hearth/core';
import { TestClock } from '@hearth/core/testing';
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AuthUnderTest, authProvidersOnDatabases, type TokenClaims } from '../support/auth-providers';
import { expectHearthError } from '../support/expect-error';
import { PASSWORD, startTestServer, type TestServer, uniqueEmail } from '../support/test-server';

// The API contract for auth, held by every provider on every database. What only one provider does
// is marked with `builtinOnly`; Supabase's own behaviour is in auth-supabase.test.ts.
describe.each(authProvidersOnDatabases())('auth through the SDK: $provider on $database', (setup) => {
  const clock = new TestClock();
  const builtinOnly = setup.provider === 'builtin';
  let auth: AuthUnderTest;
  let server: TestServer;

  beforeAll(async () => {
    auth = await setup.start(clock);
    server = await startTestServer({ store: setup.location, clock, env: auth.env });
  });
  afterEach(() => auth.assertClean());
  afterAll(async () => {
    await server?.close();
    await auth?.close();
  });

  const storedUsers = async (email: string) =>
    server.hearth.store.db.select().from(schema.users).where(eq(schema.users.email, email.trim().toLowerCase()));

  it('registers, then knows who the caller is', async () => {
    const client = server.client();
    const email = uniqueEmail('ada');
    const { user, session } = await client.auth.register.mutate({ email, password: PASSWORD, displayName: 'Ada' });
    expect(user).toMatchObject({ email, displayName: 'Ada', role: 'user' });
    expect(user.createdAt).toBeInstanceOf(Date);
    expect(session.tokenType).toBe('bearer');
    const lifetimeMs = session.expiresAt.getTime() - clock.now().getTime();
    // Token times are whole seconds.
    expect(lifetimeMs).toBeGreaterThan((auth.accessTokenTtlSeconds - 1) * 1000);
    expect(lifetimeMs).toBeLessThanOrEqual(auth.accessTokenTtlSeconds * 1000);
    expect(client.session?.accessToken).toBe(session.accessToken);
    expect(await client.auth.me.query()).toEqual(user);
  });

  it('issues access tokens with Supabase-compatible claims', async () => {
    const client = server.client();
    const { user, session } = await client.auth.register.mutate({ email: uniqueEmail(), password: PASSWORD });
    const [, payload] = session.accessToken.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString());
    expect(claims).toMatchObject({
      sub: user.id,
      aud: 'authenticated',
      role: 'authenticated',
      email: user.email,
      iss: auth.issuer,
    });
    expect(typeof claims.session_id).toBe('string');
    expect(claims.exp - claims.iat).toBe(auth.accessTokenTtlSeconds);
  });

  it('normalises emails and refuses a second account for the same one', async () => {
    const email = uniqueEmail('grace');
    await server.client().auth.register.mutate({ email, password: PASSWORD });
    const shouted = `  ${email.toUpperCase()} `;
    const error = await expectHearthError(
      server.client().auth.register.mutate({ email: shouted, password: PASSWORD }),
      'EMAIL_TAKEN',
    );
    expect(error.data.fieldErrors?.email).toBeDefined();
    const { user } = await server.client().auth.login.mutate({ email: shouted, password: PASSWORD });
    expect(user.email).toBe(email);
    expect(await storedUsers(email)).toHaveLength(1);
  });

  it('answers INVALID_CREDENTIALS alike for a wrong password and an unknown email', async () => {
    const email = uniqueEmail();
    await server.client().auth.register.mutate({ email, password: PASSWORD });
    const wrongPassword = await expectHearthError(
      server.client().auth.login.mutate({ email, password: 'not the password' }),
      'INVALID_CREDENTIALS',
    );
    const unknownEmail = await expectHearthError(
      server.client().auth.login.mutate({ email: uniqueEmail('nobody'), password: 'not the password' }),
      'INVALID_CREDENTIALS',
    );
    expect(unknownEmail.message).toBe(wrongPassword.message);
    expect(unknownEmail.data.httpStatus).toBe(wrongPassword.data.httpStatus);
  });

  it('rotates refresh tokens and ends the session when a spent one comes back', async () => {
    const client = server.client();
    const { session: first } = await client.auth.register.mutate({ email: uniqueEmail(), password: PASSWORD });
    const { session: second } = await client.auth.refresh.mutate({ refreshToken: first.refreshToken });
    expect(second.refreshToken).not.toBe(first.refreshToken);
    const { session: third } = await client.auth.refresh.mutate({ refreshToken: second.refreshToken });
    expect(client.session?.refreshToken).toBe(third.refreshToken);
    await client.auth.me.query();

    const thief = server.client();
    await expectHearthError(thief.auth.refresh.mutate({ refreshToken: first.refreshToken }), 'SESSION_REVOKED');
    await expectHearthError(thief.auth.refresh.mutate({ refreshToken: third.refreshToken }), 'SESSION_REVOKED');
  });

  it.runIf(builtinOnly)('revokes the session when the token it just replaced comes back', async () => {
    const client = server.client();
    const { session: first } = await client.auth.register.mutate({ email: uniqueEmail(), password: PASSWORD });
    const { session: second } = await client.auth.refresh.mutate({ refreshToken: first.refreshToken });
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(client.session?.refreshToken).toBe(second.refreshToken);
    await client.auth.me.query();

    const thief = server.client();
    await expectHearthError(thief.auth.refresh.mutate({ refreshToken: first.refreshToken }), 'SESSION_REVOKED');
    // The whole session ends: the current refresh token and the access token stop working too.
    await expectHearthError(thief.auth.refresh.mutate({ refreshToken: second.refreshToken }), 'SESSION_REVOKED');
    await expectHearthError(client.auth.me.query(), 'UNAUTHENTICATED');
    expect(client.session).toBeNull();
  });

  // Supabase hands both the same new token: see auth-supabase.test.ts.
  it.runIf(builtinOnly)('lets only one of two simultaneous refreshes with the same token through', async () => {
    const { session } = await server.client().auth.register.mutate({ email: uniqueEmail(), password: PASSWORD });
    const results = await Promise.allSettled([
      server.client().auth.refresh.mutate({ refreshToken: session.refreshToken }),
      server.client().auth.refresh.mutate({ refreshToken: session.refreshToken }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('logs out: the refresh token and the access token stop working', async () => {
    const client = server.client();
    const { session } = await client.auth.register.mutate({ email: uniqueEmail(), password: PASSWORD });
    expect(await client.auth.logout.mutate({})).toEqual({ ok: true });
    expect(client.session).toBeNull();
    const other = server.client({ session });
    await expectHearthError(other.auth.refresh.mutate({ refreshToken: session.refreshToken }), auth.refreshAfterLogout);
    await expectHearthError(
      server.client({ session: { ...session, refreshToken: 'spent' } }).auth.me.query(),
      'UNAUTHENTICATED',
    );
  });

  it('requires a token for everything but register, login and refresh', async () => {
    const error = await expectHearthError(server.client().auth.me.query(), 'UNAUTHENTICATED');
    expect(error.data.httpStatus).toBe(401);
    await expectHearthError(server.client().user.profile.query(), 'UNAUTHENTICATED');
    await expectHearthError(server.client().auth.logout.mutate({}), 'UNAUTHENTICATED');
  });

  describe('refuses tokens it cannot trust', () => {
    let claims: TokenClaims;

    beforeAll(async () => {
      const { session } = await server.client().auth.register.mutate({ email: uniqueEmail(), password: PASSWORD });
      const { sub, email, session_id } = JSON.parse(
        Buffer.from(session.accessToken.split('.')[1] ?? '', 'base64url').toString(),
      );
      claims = { sub, email, session_id, role: 'authenticated' };
    });

    const meWith = (accessToken: string) =>
      server
        .client({
          session: {
            accessToken,
            refreshToken: 'not-a-refresh-token',
            tokenType: 'bearer',
            expiresAt: new Date(Date.now() + 3_600_000),
          },
        })
        .auth.me.query();

    it('accepts a well-formed one (the control)', async () => {
      expect((await meWith(await auth.sign(claims))).id).toBe(claims.sub);
    });

    it('signed with another key', async () => {
      await expectHearthError(meWith(await auth.forge(claims)), 'UNAUTHENTICATED');
    });

    it('with alg none', async () => {
      const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const now = Math.floor(clock.now().getTime() / 1000);
      const unsigned = `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ ...claims, aud: 'authenticated', iss: auth.issuer, iat: now, exp: now + 900 })}.`;
      await expectHearthError(meWith(unsigned), 'UNAUTHENTICATED');
    });

    it('for another audience or issuer', async () => {
      await expectHearthError(meWith(await auth.sign(claims, { audience: 'anon' })), 'UNAUTHENTICATED');
      await expectHearthError(meWith(await auth.sign(claims, { issuer: 'someone-else' })), 'UNAUTHENTICATED');
    });

    it('that has expired', async () => {
      await expectHearthError(meWith(await auth.sign(claims, { expiresIn: -1 })), 'UNAUTHENTICATED');
    });

    it('that is not a JWT at all', async () => {
      await expectHearthError(meWith('garbage'), 'UNAUTHENTICATED');
    });

    // Signed with the real key, so only the claims themselves can give them away.
    it.each<[string, Record<string, unknown>]>([
      ['a sub that is not a UUID', { sub: 'not-a-uuid' }],
      ['a session_id that is not a UUID', { session_id: "x' or '1'='1" }],
      ['a numeric sub', { sub: 42 }],
      ['an exp that is not a number', { exp: 'tomorrow' }],
      ['no sub', { sub: undefined }],
      ['no session_id', { session_id: undefined }],
      ['no exp', { exp: undefined }],
    ])('with %s', async (_, changed) => {
      const error = await expectHearthError(meWith(await auth.sign(claims, { claims: changed })), 'UNAUTHENTICATED');
      expect(error.data.httpStatus).toBe(401);
    });

    it.runIf(builtinOnly)('without an email', async () => {
      await expectHearthError(meWith(await auth.sign(claims, { claims: { email: undefined } })), 'UNAUTHENTICATED');
    });
  });

  it('refreshes an expired access token and retries the call once', async () => {
    const client = server.client();
    const { session } = await client.auth.register.mutate({ email: uniqueEmail(), password: PASSWORD });
    clock.advance((auth.accessTokenTtlSeconds + 60) * 1000);
    // The SDK still believes the token is fresh (its own clock has not moved); the server says otherwise.
    const me = await client.auth.me.query();
    expect(me.email).toBeDefined();
    expect(client.session?.refreshToken).not.toBe(session.refreshToken);
  });

  it('refreshes ahead of expiry without a failed call', async () => {
    const renewed: string[] = [];
    const client = server.client({
      refreshMarginMs: Number.MAX_SAFE_INTEGER,
      onSessionChange: (s) => renewed.push(s?.refreshToken ?? 'signed-out'),
    });
    await client.auth.register.mutate({ email: uniqueEmail(), password: PASSWORD });
    await client.auth.me.query();
    expect(renewed).toHaveLength(2);
  });

  it('reads and updates the profile', async () => {
    const client = server.client();
    await client.auth.register.mutate({ email: uniqueEmail(), password: PASSWORD });
    expect(await client.user.profile.query()).toMatchObject({ displayName: null, agentId: null });
    const updated = await client.user.updateProfile.mutate({ displayName: '  Ada Lovelace ' });
    expect(updated.displayName).toBe('Ada Lovelace');
    expect((await client.auth.me.query()).displayName).toBe('Ada Lovelace');
    const error = await expectHearthError(
      client.user.updateProfile.mutate({ displayName: 'x'.repeat(81) }),
      'INVALID_INPUT',
    );
    expect(error.data.fieldErrors?.displayName).toBeDefined();
  });

  describe('input rules: INVALID_INPUT with field errors, nothing stored', () => {
    const cases: Array<[string, (email: string) => Record<string, unknown>, string]> = [
      ['a malformed email', () => ({ email: 'not-an-email', password: PASSWORD }), 'email'],
      [
        'an email over 254 characters',
        () => ({ email: `${'a'.repeat(250)}@example.com`, password: PASSWORD }),
        'email',
      ],
      ['a short password', (email) => ({ email, password: 'short' }), 'password'],
      ['a password over 128 characters', (email) => ({ email, password: 'p'.repeat(129) }), 'password'],
      ['an empty display name', (email) => ({ email, password: PASSWORD, displayName: '   ' }), 'displayName'],
      [
        'a display name over 80 characters',
        (email) => ({ email, password: PASSWORD, displayName: 'd'.repeat(81) }),
        'displayName',
      ],
      ['a missing password', (email) => ({ email }), 'password'],
    ];

    it.each(cases)('register with %s', async (_, input, field) => {
      const email = uniqueEmail('invalid');
      const body = input(email);
      const error = await expectHearthError(server.client().auth.register.mutate(body as never), 'INVALID_INPUT');
      expect(error.data.httpStatus).toBe(400);
      expect(error.data.fieldErrors?.[field]?.length).toBeGreaterThan(0);
      expect(await storedUsers(String(body.email ?? email))).toHaveLength(0);
    });

    it('login with a malformed email', async () => {
      const error = await expectHearthError(
        server.client().auth.login.mutate({ email: 'nope', password: PASSWORD }),
        'INVALID_INPUT',
      );
      expect(error.data.fieldErrors?.email).toBeDefined();
    });

    it('refresh without a token', async () => {
      const error = await expectHearthError(server.client().auth.refresh.mutate({ refreshToken: '' }), 'INVALID_INPUT');
      expect(error.data.fieldErrors?.refreshToken).toBeDefined();
    });

    it('a body over 1 MiB', async () => {
      const email = uniqueEmail('huge');
      const error = await expectHearthError(
        server.client().auth.register.mutate({ email, password: PASSWORD, displayName: 'x'.repeat(1024 * 1024 + 1) }),
        'INVALID_INPUT',
      );
      expect(error.data.httpStatus).toBe(413);
      expect(error.data.formErrors?.[0]).toMatch(/1 MiB/);
      expect(await storedUsers(email)).toHaveLength(0);
    });

    it('a guessable password is WEAK_PASSWORD', async () => {
      const email = uniqueEmail('weak');
      const error = await expectHearthError(
        server.client().auth.register.mutate({ email, password: 'password123' }),
        'WEAK_PASSWORD',
      );
      expect(error.data.fieldErrors?.password).toBeDefined();
      expect(await storedUsers(email)).toHaveLength(0);
    });
  });
});
