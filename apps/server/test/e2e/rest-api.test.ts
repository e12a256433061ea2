import { randomUUID } from 'node:crypto';
import { testDatabases } from '@hearth/core/testing';
import { sql } from 'drizzle-orm';
import { decodeJwt, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestContract } from '../support/rest';
import { PASSWORD, startTestServer, TEST_JWT_SECRET, type TestServer, uniqueEmail } from '../support/test-server';

interface ErrorBody {
  error: {
    code: string;
    message: string;
    fieldErrors?: Record<string, string[]>;
    retryAfterSeconds?: number;
  };
}
interface AuthBody {
  user: { id: string; email: string; displayName: string | null };
  session: { accessToken: string; refreshToken: string; expiresAt: string };
}
interface Conversation {
  id: string;
  title: string | null;
}

const ADMIN_EMAIL = `rest-admin-${process.pid}-${Date.now().toString(36)}@example.com`;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

describe.each(testDatabases())('REST API on $name', ({ location }) => {
  let server: TestServer;
  let api: RestContract;

  beforeAll(async () => {
    server = await startTestServer({
      store: location,
      captureLogs: true,
      env: { LOGIN_MAX_FAILURES_PER_EMAIL: '3', ADMIN_EMAILS: ADMIN_EMAIL },
    });
    api = await RestContract.load(server.url);
  });
  afterAll(async () => {
    await server?.close();
  });

  async function register(tag = 'rest'): Promise<{ token: string; email: string; auth: AuthBody }> {
    const email = uniqueEmail(tag);
    const { status, body } = await api.call<AuthBody>('POST', '/api/v1/auth/register', {
      body: { email, password: PASSWORD },
    });
    expect(status).toBe(201);
    return { token: body.session.accessToken, email, auth: body };
  }

  function expectError(response: { status: number; body: unknown }, status: number, code: string) {
    expect(response.status).toBe(status);
    const { error } = response.body as ErrorBody;
    expect(error.code).toBe(code);
    return error;
  }

  describe('OpenAPI document and reference', () => {
    it('is a valid OpenAPI 3.1 document with every route, its errors, SSE and the bearer scheme', async () => {
      await api.validateDocument();
      const { document } = api;
      expect(document.openapi).toBe('3.1.0');
      const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
        Object.entries(methods).map(([method, operation]) => ({ key: `${method.toUpperCase()} ${path}`, operation })),
      );
      expect(operations.map((o) => o.key).sort()).toEqual(
        [
          'POST /api/v1/auth/register',
          'POST /api/v1/auth/login',
          'POST /api/v1/auth/refresh',
          'POST /api/v1/auth/logout',
          'GET /api/v1/auth/me',
          'POST /api/v1/auth/api-keys',
          'GET /api/v1/auth/api-keys',
          'DELETE /api/v1/auth/api-keys/{id}',
          'POST /api/v1/chat/message',
          'POST /api/v1/chat/messages/{messageId}/regenerate',
          'POST /api/v1/chat/messages/{messageId}/edit',
          'POST /api/v1/chat/messages/{messageId}/switch-branch',
          'GET /api/v1/chat/runs/{runId}/events',
          'POST /api/v1/chat/runs/{runId}/cancel',
          'GET /api/v1/chat/history',
          'GET /api/v1/chat/models',
          'GET /api/v1/chat/attachments/{id}',
          'GET /api/v1/chat/conversations',
          'POST /api/v1/chat/conversations',
          'PUT /api/v1/chat/conversations/{id}/model',
          'PATCH /api/v1/chat/conversations/{id}',
          'DELETE /api/v1/chat/conversations/{id}',
          'GET /api/v1/user/profile',
          'PATCH /api/v1/user/profile',
          'GET /api/v1/user/usage',
          'GET /api/v1/user/budget',
          'POST /api/v1/user/budget',
          'GET /api/v1/user/health',
          'GET /api/v1/user/export',
          'POST /api/v1/user/delete-account',
          'GET /api/v1/agent/status',
          'PUT /api/v1/agent/model',
          'GET /api/v1/agent/memory',
          'POST /api/v1/agent/memory',
          'GET /api/v1/agent/memory/history',
          'POST /api/v1/agent/memory/revert',
          'GET /api/v1/agent/archival',
          'DELETE /api/v1/agent/archival/{id}',
          'POST /api/v1/agent/reset',
          'GET /api/v1/admin/users',
          'GET /api/v1/admin/users/{userId}',
          'POST /api/v1/admin/users/{userId}/budget',
          'POST /api/v1/admin/users/{userId}/disable',
          'POST /api/v1/admin/users/{userId}/enable',
          'GET /api/v1/admin/usage',
          'GET /api/v1/admin/health',
        ].sort(),
      );
      const publicRoutes = ['POST /api/v1/auth/register', 'POST /api/v1/auth/login', 'POST /api/v1/auth/refresh'];
      for (const { key, operation } of operations) {
        expect(Object.keys(operation.responses), key).toContain('500');
        if (publicRoutes.includes(key)) continue;
        expect(operation.security, key).toEqual([{ bearerAuth: [] }]);
        expect(Object.keys(operation.responses), key).toContain('401');
      }
      expect(document.components?.securitySchemes?.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
      const events = document.paths['/api/v1/chat/runs/{runId}/events']?.get;
      expect(Object.keys(events?.responses['200']?.content ?? {})).toEqual(['text/event-stream']);
      const message = document.paths['/api/v1/chat/message']?.post;
      expect(Object.keys(message?.responses['200']?.content ?? {})).toEqual(['text/event-stream']);
      expect(Object.keys(message?.responses['202']?.content ?? {})).toEqual(['application/json']);
      expect(document.components?.schemas?.RunEvent).toBeDefined();
    });

    it('serves an interactive reference at /docs whose script comes from this server, no other host', async () => {
      const page = await fetch(`${server.url}/docs`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toContain('text/html');
      const html = await page.text();
      expect(html).toContain('/api/v1/openapi.json');
      expect(html).toContain('<script src="/docs/scalar.js"></script>');
      // Without it, "try it" requests would go through Scalar's proxy.
      expect(html).toContain('"proxyUrl": ""');
      expect(html).not.toMatch(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
      const script = await fetch(`${server.url}/docs/scalar.js`);
      expect(script.status).toBe(200);
      expect(script.headers.get('content-type')).toContain('javascript');
      expect((await script.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
    });
  });

  describe('auth', () => {
    it('registers, logs in, refreshes, reads the caller and logs out', async () => {
      const { token, email, auth } = await register();
      expect(auth.user.email).toBe(email);
      expect(auth.session.expiresAt).toMatch(ISO);

      const me = await api.call<{ id: string; createdAt: string }>('GET', '/api/v1/auth/me', { token });
      expect(me.status).toBe(200);
      expect(me.body.id).toBe(auth.user.id);
      expect(me.body.createdAt).toMatch(ISO);

      const login = await api.call<AuthBody>('POST', '/api/v1/auth/login', { body: { email, password: PASSWORD } });
      expect(login.status).toBe(200);
      expect(login.body.user.id).toBe(auth.user.id);

      const refreshed = await api.call<{ session: AuthBody['session'] }>('POST', '/api/v1/auth/refresh', {
        body: { refreshToken: login.body.session.refreshToken },
      });
      expect(refreshed.status).toBe(200);
      const fresh = refreshed.body.session.accessToken;
      expect((await api.call('GET', '/api/v1/auth/me', { token: fresh })).status).toBe(200);
      // A refresh token is used once: presented again, it ends that session.
      expectError(
        await api.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: login.body.session.refreshToken } }),
        401,
        'SESSION_REVOKED',
      );
      expectError(await api.call('GET', '/api/v1/auth/me', { token: fresh }), 401, 'UNAUTHENTICATED');

      const again = await api.call<AuthBody>('POST', '/api/v1/auth/login', { body: { email, password: PASSWORD } });
      const third = again.body.session.accessToken;
      expect(await api.call('POST', '/api/v1/auth/logout', { token: third })).toMatchObject({
        status: 200,
        body: { ok: true },
      });
      expectError(await api.call('GET', '/api/v1/auth/me', { token: third }), 401, 'UNAUTHENTICATED');
      // The first session is another one, and still works.
      expect((await api.call('GET', '/api/v1/auth/me', { token })).status).toBe(200);
    });

    it('creates, lists and revokes API keys, which sign in as their user until revoked or expired', async () => {
      const { token, auth } = await register('rest-keys');
      const created = await api.call<{ id: string; key: string; prefix: string; expiresAt: string | null }>(
        'POST',
        '/api/v1/auth/api-keys',
        { token, body: { name: 'ci job' } },
      );
      expect(created.status).toBe(201);
      expect(created.body.key).toMatch(/^hth_[\w-]{43,}$/);
      expect(created.body.key.startsWith(created.body.prefix)).toBe(true);
      const key = created.body.key;

      const me = await api.call<{ id: string }>('GET', '/api/v1/auth/me', { token: key });
      expect(me).toMatchObject({ status: 200, body: { id: auth.user.id } });
      // A key cannot mint more keys, nor end a session.
      expectError(
        await api.call('POST', '/api/v1/auth/api-keys', { token: key, body: { name: 'x' } }),
        403,
        'FORBIDDEN',
      );
      expectError(await api.call('POST', '/api/v1/auth/logout', { token: key }), 403, 'FORBIDDEN');

      const list = await api.call<{ apiKeys: { id: string; name: string; lastUsedAt: string | null }[] }>(
        'GET',
        '/api/v1/auth/api-keys',
        { token },
      );
      expect(list.body.apiKeys).toEqual([expect.objectContaining({ id: created.body.id, name: 'ci job' })]);
      expect(JSON.stringify(list.body)).not.toContain(key);

      const soon = new Date(Date.now() + 60_000).toISOString();
      const expiring = await api.call<{ expiresAt: string }>('POST', '/api/v1/auth/api-keys', {
        token,
        body: { name: 'short', expiresAt: soon },
      });
      expect(expiring).toMatchObject({ status: 201, body: { expiresAt: soon } });
      const past = expectError(
        await api.call('POST', '/api/v1/auth/api-keys', {
          token,
          body: { name: 'old', expiresAt: '2001-01-01T00:00:00Z' },
        }),
        400,
        'INVALID_INPUT',
      );
      expect(past.fieldErrors).toHaveProperty('expiresAt');
      expectError(
        await api.call('POST', '/api/v1/auth/api-keys', { token, body: { name: 'bad date', expiresAt: 'tomorrow' } }),
        400,
        'INVALID_INPUT',
      );

      const other = await register('rest-keys-other');
      expectError(
        await api.call('DELETE', `/api/v1/auth/api-keys/${created.body.id}`, { token: other.token }),
        404,
        'NOT_FOUND',
      );
      expect(await api.call('DELETE', `/api/v1/auth/api-keys/${created.body.id}`, { token })).toMatchObject({
        status: 200,
        body: { ok: true },
      });
      expectError(await api.call('GET', '/api/v1/auth/me', { token: key }), 401, 'UNAUTHENTICATED');
      const after = await api.call<{ apiKeys: { id: string }[] }>('GET', '/api/v1/auth/api-keys', { token });
      expect(after.body.apiKeys.map((k) => k.id)).not.toContain(created.body.id);
    });

    it('refuses bad input with field errors and stores nothing', async () => {
      const email = uniqueEmail('rest-bad');
      const bad = expectError(
        await api.call('POST', '/api/v1/auth/register', { body: { email, password: 'short' } }),
        400,
        'INVALID_INPUT',
      );
      expect(bad.fieldErrors?.password).toEqual(['A password has at least 8 characters.']);
      expect(bad.message).toBe('Some fields are not valid.');
      const notEmail = expectError(
        await api.call('POST', '/api/v1/auth/register', { body: { email: 'nope', password: PASSWORD } }),
        400,
        'INVALID_INPUT',
      );
      expect(notEmail.fieldErrors?.email).toEqual(['Enter a valid email address.']);
      // Nothing was stored: the email is still free, so logging in fails and registering works.
      expectError(
        await api.call('POST', '/api/v1/auth/login', { body: { email, password: 'short' } }),
        401,
        'INVALID_CREDENTIALS',
      );
      expect((await api.call('POST', '/api/v1/auth/register', { body: { email, password: PASSWORD } })).status).toBe(
        201,
      );
      expectError(
        await api.call('POST', '/api/v1/auth/register', { body: { email, password: PASSWORD } }),
        409,
        'EMAIL_TAKEN',
      );
      expectError(
        await api.call('POST', '/api/v1/auth/register', { body: { email: uniqueEmail(), password: 'password' } }),
        400,
        'WEAK_PASSWORD',
      );
    });

    it('answers a body that is not JSON, or not an object, as INVALID_INPUT', async () => {
      const notJson = await api.call('POST', '/api/v1/auth/login', {
        rawBody: '{"email":',
        headers: { 'content-type': 'application/json' },
      });
      expectError(notJson, 400, 'INVALID_INPUT');
      const otherType = await api.call('POST', '/api/v1/auth/login', {
        rawBody: 'email=a@example.com',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expectError(otherType, 400, 'INVALID_INPUT');
      const array = await api.call('POST', '/api/v1/auth/login', { body: [] });
      expectError(array, 400, 'INVALID_INPUT');
    });

    it('throttles failed logins per email with 429 and Retry-After', async () => {
      const { email } = await register('rest-throttle');
      for (let i = 0; i < 3; i += 1) {
        const wrong = await api.call('POST', '/api/v1/auth/login', { body: { email, password: 'not the password' } });
        expectError(wrong, 401, 'INVALID_CREDENTIALS');
      }
      const limited = await api.call('POST', '/api/v1/auth/login', { body: { email, password: PASSWORD } });
      const error = expectError(limited, 429, 'RATE_LIMITED');
      expect(error.retryAfterSeconds).toBeGreaterThan(0);
      expect(limited.headers.get('retry-after')).toBe(String(error.retryAfterSeconds));
    });

    it('refuses every signed-in route without a valid token: none, garbage, expired or forged', async () => {
      const { token } = await register('rest-401');
      const claims = decodeJwt(token);
      const now = Math.floor(Date.now() / 1000);
      const sign = (secret: string, exp: number) =>
        new SignJWT({ ...claims, exp, iat: exp - 900 })
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
          .sign(new TextEncoder().encode(secret));
      const expired = await sign(TEST_JWT_SECRET, now - 60);
      const forged = await sign('another-secret-that-is-long-enough-for-hs256-0123456789', now + 600);
      // The real key and claims are fine: only expiry or signature gives these away.
      expect((await api.call('GET', '/api/v1/auth/me', { token: await sign(TEST_JWT_SECRET, now + 600) })).status).toBe(
        200,
      );

      const secured = Object.entries(api.document.paths).flatMap(([path, methods]) =>
        Object.entries(methods)
          .filter(([, operation]) => operation.security)
          .map(([method]) => ({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, randomUUID()) })),
      );
      expect(secured.length).toBe(43);
      for (const { method, path } of secured) {
        const body = method === 'GET' || method === 'DELETE' ? {} : { body: {} };
        for (const bad of [null, 'garbage', expired, forged]) {
          const response = await api.call(method, path, { token: bad, ...body });
          const error = expectError(response, 401, 'UNAUTHENTICATED');
          expect(error.message).not.toMatch(/jwt|signature|secret/i);
        }
      }
    });
  });

  describe('user', () => {
    it('reads and changes the profile; a bad display name changes nothing', async () => {
      const { token, auth } = await register();
      const profile = await api.call<{ id: string; agentId: string | null }>('GET', '/api/v1/user/profile', { token });
      expect(profile.status).toBe(200);
      expect(profile.body.id).toBe(auth.user.id);

      const changed = await api.call('PATCH', '/api/v1/user/profile', { token, body: { displayName: '  Ada  ' } });
      expect(changed).toMatchObject({ status: 200, body: { displayName: 'Ada' } });
      const bad = expectError(
        await api.call('PATCH', '/api/v1/user/profile', { token, body: { displayName: 'x'.repeat(81) } }),
        400,
        'INVALID_INPUT',
      );
      expect(bad.fieldErrors?.displayName).toEqual(['A display name has at most 80 characters.']);
      expectError(
        await api.call('PATCH', '/api/v1/user/profile', { token, body: { displayName: 'A\u0000' } }),
        400,
        'INVALID_INPUT',
      );
      expect((await api.call('GET', '/api/v1/auth/me', { token })).body).toMatchObject({ displayName: 'Ada' });
      const cleared = await api.call('PATCH', '/api/v1/user/profile', { token, body: { displayName: null } });
      expect(cleared).toMatchObject({ status: 200, body: { displayName: null } });
    });

    it('reads usage with ISO dates from the query string, under the same rules as tRPC', async () => {
      const { token } = await register();
      const all = await api.call<{ totals: { requests: number } }>('GET', '/api/v1/user/usage', { token });
      expect(all).toMatchObject({ status: 200, body: { totals: { requests: 0 }, buckets: [] } });
      const ranged = await api.call('GET', '/api/v1/user/usage', {
        token,
        query: { from: '2026-01-01T00:00:00Z', to: '2026-12-31T23:59:59.999+00:00', groupBy: 'day' },
      });
      expect(ranged.status).toBe(200);
      const reversed = expectError(
        await api.call('GET', '/api/v1/user/usage', {
          token,
          query: { from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' },
        }),
        400,
        'INVALID_INPUT',
      );
      expect(reversed.fieldErrors?.from).toEqual(['`from` must not be after `to`.']);
      for (const from of ['yesterday', '2026-01-01', '1']) {
        const bad = expectError(
          await api.call('GET', '/api/v1/user/usage', { token, query: { from } }),
          400,
          'INVALID_INPUT',
        );
        expect(bad.fieldErrors?.from?.[0]).toMatch(/ISO-8601/);
      }
      const groupBy = expectError(
        await api.call('GET', '/api/v1/user/usage', { token, query: { groupBy: 'hour' } }),
        400,
        'INVALID_INPUT',
      );
      expect(groupBy.fieldErrors?.groupBy).toHaveLength(1);
    });

    it('reads and sets the budget; a bad one changes nothing', async () => {
      const { token } = await register();
      const before = await api.call<{ limitUsd: number | null; periodStart: string }>('GET', '/api/v1/user/budget', {
        token,
      });
      expect(before.status).toBe(200);
      expect(before.body.periodStart).toMatch(ISO);
      const set = await api.call('POST', '/api/v1/user/budget', { token, body: { limitUsd: 2.5, period: 'month' } });
      expect(set).toMatchObject({ status: 200, body: { limitUsd: 2.5, period: 'month', remainingUsd: 2.5 } });
      for (const body of [
        { limitUsd: -1, period: 'month' },
        { limitUsd: 1.0000001, period: 'month' },
        { limitUsd: 1, period: 'year' },
      ]) {
        const bad = expectError(await api.call('POST', '/api/v1/user/budget', { token, body }), 400, 'INVALID_INPUT');
        expect(Object.keys(bad.fieldErrors ?? {})).toHaveLength(1);
      }
      expect((await api.call('GET', '/api/v1/user/budget', { token })).body).toMatchObject({ limitUsd: 2.5 });
      const health = await api.call('GET', '/api/v1/user/health', { token });
      expect(health).toMatchObject({ status: 200, body: { status: 'ok', llm: { demo: true } } });
    });
  });

  describe('agent', () => {
    it('reads the status and memory, writes a block, refuses bad input, resets', async () => {
      const { token } = await register();
      const status = await api.call<{ backend: string; createdAt: string }>('GET', '/api/v1/agent/status', { token });
      expect(status.status).toBe(200);
      expect(status.body.createdAt).toMatch(ISO);
      const memory = await api.call<{ blocks: Array<{ label: string; value: string }> }>(
        'GET',
        '/api/v1/agent/memory',
        { token },
      );
      expect(memory.body.blocks.map((b) => b.label)).toContain('human');

      const written = await api.call('POST', '/api/v1/agent/memory', {
        token,
        body: { label: 'human', value: 'Name: Ada' },
      });
      expect(written).toMatchObject({ status: 200, body: { label: 'human', value: 'Name: Ada', updatedBy: 'user' } });
      expectError(
        await api.call('POST', '/api/v1/agent/memory', { token, body: { label: 'nope', value: 'x' } }),
        404,
        'NOT_FOUND',
      );
      const empty = expectError(
        await api.call('POST', '/api/v1/agent/memory', { token, body: { label: '', value: 'x' } }),
        400,
        'INVALID_INPUT',
      );
      expect(Object.keys(empty.fieldErrors ?? {})).toEqual(['label']);
      const tooLong = expectError(
        await api.call('POST', '/api/v1/agent/memory', { token, body: { label: 'human', value: 'x'.repeat(100_000) } }),
        400,
        'MEMORY_LIMIT',
      );
      expect(tooLong.fieldErrors?.value).toHaveLength(1);
      const after = await api.call<{ blocks: Array<{ label: string; value: string }> }>('GET', '/api/v1/agent/memory', {
        token,
      });
      expect(after.body.blocks.find((b) => b.label === 'human')?.value).toBe('Name: Ada');

      interface Version {
        id: string;
        value: string;
        previousValue: string | null;
        updatedBy: string;
        createdAt: string;
      }
      const history = await api.call<{ versions: Version[]; nextCursor: string | null }>(
        'GET',
        '/api/v1/agent/memory/history',
        { token, query: { label: 'human', limit: '1' } },
      );
      expect(history.status).toBe(200);
      expect(history.body.versions).toMatchObject([{ value: 'Name: Ada', previousValue: '', updatedBy: 'user' }]);
      expect(history.body.versions[0]?.createdAt).toMatch(ISO);
      const older = await api.call<{ versions: Version[]; nextCursor: string | null }>(
        'GET',
        '/api/v1/agent/memory/history',
        { token, query: { label: 'human', limit: '1', cursor: history.body.nextCursor ?? '' } },
      );
      expect(older.body).toMatchObject({ versions: [{ value: '', previousValue: null, updatedBy: 'system' }] });
      expectError(
        await api.call('GET', '/api/v1/agent/memory/history', { token, query: { limit: 'many' } }),
        400,
        'INVALID_INPUT',
      );
      const reverted = await api.call<{ block: { value: string }; version: Version }>(
        'POST',
        '/api/v1/agent/memory/revert',
        { token, body: { versionId: older.body.versions[0]?.id } },
      );
      expect(reverted).toMatchObject({
        status: 200,
        body: { block: { value: '' }, version: { value: '', previousValue: 'Name: Ada', updatedBy: 'user' } },
      });
      expectError(
        await api.call('POST', '/api/v1/agent/memory/revert', { token, body: { versionId: randomUUID() } }),
        404,
        'NOT_FOUND',
      );
      expectError(
        await api.call('POST', '/api/v1/agent/memory/revert', { token, body: { versionId: 'nope' } }),
        400,
        'INVALID_INPUT',
      );
      await api.call('POST', '/api/v1/agent/memory', { token, body: { label: 'human', value: 'Name: Ada' } });

      expectError(
        await api.call('POST', '/api/v1/agent/reset', { token, body: { scope: 'everything' } }),
        400,
        'INVALID_INPUT',
      );
      expect(await api.call('POST', '/api/v1/agent/reset', { token, body: { scope: 'memory' } })).toMatchObject({
        status: 200,
        body: { ok: true },
      });
      const reset = await api.call<{ blocks: Array<{ label: string; value: string }> }>('GET', '/api/v1/agent/memory', {
        token,
      });
      expect(reset.body.blocks.find((b) => b.label === 'human')?.value).not.toBe('Name: Ada');
    });
  });

  describe('data rights', () => {
    it('exports the caller’s data as one document, and deletes the account after the password', async () => {
      const { token, email, auth } = await register('rest-rights');
      await api.call('POST', '/api/v1/agent/memory', { token, body: { label: 'human', value: 'Name: Ada' } });
      const exported = await api.call<{
        profile: { id: string; email: string };
        memory: { history: Array<{ value: string; updatedBy: string }> };
      }>('GET', '/api/v1/user/export', { token });
      expect(exported.status).toBe(200);
      expect(exported.headers.get('content-disposition')).toMatch(/^attachment/);
      expect(exported.body.profile).toMatchObject({ id: auth.user.id, email });
      expect(exported.body.memory.history.at(-1)).toMatchObject({ value: 'Name: Ada', updatedBy: 'user' });

      expectError(
        await api.call('POST', '/api/v1/user/delete-account', { token, body: { password: 'wrong password' } }),
        401,
        'INVALID_CREDENTIALS',
      );
      expectError(await api.call('POST', '/api/v1/user/delete-account', { token, body: {} }), 400, 'INVALID_INPUT');
      expect(
        await api.call('POST', '/api/v1/user/delete-account', { token, body: { password: PASSWORD } }),
      ).toMatchObject({ status: 200, body: { ok: true } });
      expect((await api.call('GET', '/api/v1/user/export', { token })).status).toBeGreaterThanOrEqual(401);
      const again = await api.call('POST', '/api/v1/auth/register', { body: { email, password: PASSWORD } });
      expect(again.status).toBe(201);
    });
  });

  describe('archival memory', () => {
    it('lists the agent’s passages by page and text, and deletes one', async () => {
      const { token } = await register();
      const { body: status } = await api.call<{ agentId: string }>('GET', '/api/v1/agent/status', { token });
      expect(await api.call('GET', '/api/v1/agent/archival', { token })).toMatchObject({
        status: 200,
        body: { passages: [], nextCursor: null },
      });
      // As the agent's archival_memory_insert files them (the offline model never does).
      const ids = [randomUUID(), randomUUID()];
      for (const [i, id] of ids.entries()) {
        await server.hearth.store.db.execute(
          sql`insert into archival_passages (id, agent_id, content, tags, created_at)
              values (${id}, ${status.agentId}, ${`note ${i}`}, '{work}', now() + make_interval(secs => ${i}))`,
        );
      }
      interface Page {
        passages: Array<{ id: string; content: string; tags: string[]; createdAt: string }>;
        nextCursor: string | null;
      }
      const first = await api.call<Page>('GET', '/api/v1/agent/archival', { token, query: { limit: '1' } });
      expect(first.body.passages).toMatchObject([{ id: ids[1], content: 'note 1', tags: ['work'] }]);
      expect(first.body.passages[0]?.createdAt).toMatch(ISO);
      const second = await api.call<Page>('GET', '/api/v1/agent/archival', {
        token,
        query: { limit: '1', cursor: first.body.nextCursor ?? '' },
      });
      expect(second.body).toMatchObject({ passages: [{ id: ids[0] }], nextCursor: null });
      const found = await api.call<Page>('GET', '/api/v1/agent/archival', { token, query: { query: 'NOTE 0' } });
      expect(found.body.passages.map((p) => p.id)).toEqual([ids[0]]);
      expectError(
        await api.call('GET', '/api/v1/agent/archival', { token, query: { limit: '0' } }),
        400,
        'INVALID_INPUT',
      );

      const other = await register();
      expectError(
        await api.call('DELETE', `/api/v1/agent/archival/${ids[0]}`, { token: other.token }),
        404,
        'NOT_FOUND',
      );
      expectError(await api.call('DELETE', '/api/v1/agent/archival/nope', { token }), 400, 'INVALID_INPUT');
      expect(await api.call('DELETE', `/api/v1/agent/archival/${ids[0]}`, { token })).toMatchObject({
        status: 200,
        body: { ok: true },
      });
      expectError(await api.call('DELETE', `/api/v1/agent/archival/${ids[0]}`, { token }), 404, 'NOT_FOUND');
      const left = await api.call<Page>('GET', '/api/v1/agent/archival', { token });
      expect(left.body.passages.map((p) => p.id)).toEqual([ids[1]]);
    });
  });

  describe('conversations', () => {
    it('creates, lists by page, renames and deletes; another user’s ids are NOT_FOUND', async () => {
      const { token } = await register();
      const other = await register('rest-other');
      const first = await api.call<Conversation>('POST', '/api/v1/chat/conversations', {
        token,
        body: { title: 'First' },
      });
      expect(first).toMatchObject({ status: 201, body: { title: 'First', messageCount: 0 } });
      const untitled = await api.call<Conversation>('POST', '/api/v1/chat/conversations', { token });
      expect(untitled).toMatchObject({ status: 201, body: { title: null } });

      const page = await api.call<{ conversations: Conversation[]; nextCursor: string | null }>(
        'GET',
        '/api/v1/chat/conversations',
        { token, query: { limit: '1' } },
      );
      expect(page.body.conversations).toHaveLength(1);
      expect(page.body.nextCursor).not.toBeNull();
      const rest = await api.call<{ conversations: Conversation[] }>('GET', '/api/v1/chat/conversations', {
        token,
        query: { limit: '10', cursor: page.body.nextCursor ?? '' },
      });
      const ids = [...page.body.conversations, ...rest.body.conversations].map((c) => c.id);
      expect(ids).toEqual(expect.arrayContaining([first.body.id, untitled.body.id]));
      for (const limit of ['0', '101', 'ten', '1.5']) {
        const bad = expectError(
          await api.call('GET', '/api/v1/chat/conversations', { token, query: { limit } }),
          400,
          'INVALID_INPUT',
        );
        expect(Object.keys(bad.fieldErrors ?? {})).toEqual(['limit']);
      }

      const path = `/api/v1/chat/conversations/${first.body.id}`;
      expect(await api.call('PATCH', path, { token, body: { title: 'Renamed' } })).toMatchObject({
        status: 200,
        body: { id: first.body.id, title: 'Renamed' },
      });
      const badTitle = expectError(
        await api.call('PATCH', path, { token, body: { title: '   ' } }),
        400,
        'INVALID_INPUT',
      );
      expect(badTitle.fieldErrors?.title).toEqual(['A title has at least 1 character.']);
      const badId = expectError(
        await api.call('PATCH', '/api/v1/chat/conversations/not-a-uuid', { token, body: { title: 'x' } }),
        400,
        'INVALID_INPUT',
      );
      expect(badId.fieldErrors?.id).toEqual(['conversationId must be a UUID.']);

      // Another user sees none of it, and cannot change it.
      expectError(await api.call('PATCH', path, { token: other.token, body: { title: 'Mine' } }), 404, 'NOT_FOUND');
      expectError(await api.call('DELETE', path, { token: other.token }), 404, 'NOT_FOUND');
      expectError(
        await api.call('GET', '/api/v1/chat/history', { token: other.token, query: { conversationId: first.body.id } }),
        404,
        'NOT_FOUND',
      );
      const theirs = await api.call<{ conversations: Conversation[] }>('GET', '/api/v1/chat/conversations', {
        token: other.token,
      });
      expect(theirs.body.conversations.map((c) => c.id)).not.toContain(first.body.id);

      expect(await api.call('DELETE', path, { token })).toMatchObject({ status: 200, body: { ok: true } });
      expectError(await api.call('DELETE', path, { token }), 404, 'NOT_FOUND');
      const left = await api.call<{ conversations: Conversation[] }>('GET', '/api/v1/chat/conversations', { token });
      expect(left.body.conversations.map((c) => c.id)).not.toContain(first.body.id);
    });
  });

  describe('plain HTTP', () => {
    it('answers a body over the limit with 413 INVALID_INPUT before reading it', async () => {
      const { token } = await register();
      // 1 MiB everywhere but a send, whose limit also fits ATTACHMENTS_MAX_MB in base64 (13.7 MiB by default).
      const response = await api.call('POST', '/api/v1/chat/conversations', {
        token,
        body: { title: 'x'.repeat(1024 * 1024 + 10) },
      });
      const error = expectError(response, 413, 'INVALID_INPUT');
      expect(error.message).toBe('The request body is larger than 1 MiB.');
      const send = await api.call('POST', '/api/v1/chat/message', {
        token,
        body: { text: 'x', attachments: [{ name: 'a.txt', type: 'text/plain', data: 'x'.repeat(15 * 1024 * 1024) }] },
      });
      expect(expectError(send, 413, 'INVALID_INPUT').message).toBe('The request body is larger than 13.7 MiB.');
      const history = await api.call<{ messages: unknown[] }>('GET', '/api/v1/chat/history', { token });
      expect(history.body.messages).toEqual([]);
      const listed = await api.call<{ conversations: Array<{ title: string | null }> }>(
        'GET',
        '/api/v1/chat/conversations',
        { token },
      );
      // Only the default conversation the history call made: nothing of the refused bodies.
      expect(listed.body.conversations.map((c) => c.title)).toEqual([null]);
    });

    it('answers an unexpected failure as INTERNAL with the generic message, and logs it without the statement', async () => {
      const { token } = await register();
      const marker = `marker-${randomUUID()}`;
      // Unique, and dropped after: a PostgreSQL test database is shared.
      const constraint = `no_${marker.replaceAll('-', '_')}`;
      await server.hearth.store.db.execute(
        sql.raw(`alter table conversations add constraint ${constraint} check (title not like '%${marker}%')`),
      );
      try {
        const response = await api.call('POST', '/api/v1/chat/conversations', {
          token,
          body: { title: `about ${marker}` },
        });
        const error = expectError(response, 500, 'INTERNAL');
        expect(error.message).toBe('Something went wrong on our side. It has been logged.');
        expect(JSON.stringify(response.body)).not.toContain(marker);
      } finally {
        await server.hearth.store.db.execute(
          sql.raw(`alter table conversations drop constraint if exists ${constraint}`),
        );
      }
      const lines = server
        .logs()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { level: number; msg: string; route?: string });
      const shown = lines.filter((line) => line.level >= 30);
      for (const line of shown) expect(JSON.stringify(line)).not.toContain(marker);
      expect(shown.find((line) => line.msg === 'route failed')).toMatchObject({
        level: 50,
        route: '/api/v1/chat/conversations',
      });
    });

    it('answers an unknown REST path with a NOT_FOUND error body', async () => {
      const response = await fetch(`${server.url}/api/v1/nothing/here`);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({
        error: { code: 'NOT_FOUND', message: 'There is no such route in the REST API.' },
      });
    });
  });

  describe('admin', () => {
    const adminRoutes = () =>
      Object.entries(api.document.paths)
        .filter(([path]) => path.startsWith('/api/v1/admin/'))
        .flatMap(([path, methods]) =>
          Object.keys(methods).map((method) => ({
            method: method.toUpperCase(),
            path: path.replace(/\{[^}]+\}/g, randomUUID()),
          })),
        );

    it('refuses every admin route to a plain user with 403 FORBIDDEN, before reading the input', async () => {
      const { token } = await register('rest-not-admin');
      const routes = adminRoutes();
      expect(routes).toHaveLength(7);
      for (const { method, path } of routes) {
        const body = method === 'GET' ? {} : { body: {} };
        expectError(await api.call(method, path, { token, ...body }), 403, 'FORBIDDEN');
      }
    });

    it('lets an admin list and find users, set a limit the user cannot raise, disable and enable, read usage and health', async () => {
      const admin = await api.call<AuthBody>('POST', '/api/v1/auth/register', {
        body: { email: ADMIN_EMAIL, password: PASSWORD },
      });
      expect(admin.status).toBe(201);
      const adminToken = admin.body.session.accessToken;
      const user = await register('rest-managed');

      const found = await api.call<{ items: { id: string; email: string; status: string }[] }>(
        'GET',
        '/api/v1/admin/users',
        { token: adminToken, query: { query: user.email, limit: '5' } },
      );
      expect(found.status).toBe(200);
      expect(found.body.items).toEqual([expect.objectContaining({ id: user.auth.user.id, status: 'active' })]);
      expectError(
        await api.call('GET', '/api/v1/admin/users', { token: adminToken, query: { limit: '0' } }),
        400,
        'INVALID_INPUT',
      );

      const details = await api.call<{ id: string; counts: { apiKeys: number } }>(
        'GET',
        `/api/v1/admin/users/${user.auth.user.id}`,
        { token: adminToken },
      );
      expect(details).toMatchObject({ status: 200, body: { id: user.auth.user.id } });
      expectError(
        await api.call('GET', `/api/v1/admin/users/${randomUUID()}`, { token: adminToken }),
        404,
        'NOT_FOUND',
      );

      const budget = await api.call<{ limitUsd: number; period: string }>(
        'POST',
        `/api/v1/admin/users/${user.auth.user.id}/budget`,
        { token: adminToken, body: { limitUsd: 2, period: 'month' } },
      );
      expect(budget).toMatchObject({ status: 200, body: { limitUsd: 2, period: 'month' } });
      expectError(
        await api.call('POST', '/api/v1/user/budget', { token: user.token, body: { limitUsd: 3, period: 'month' } }),
        403,
        'BUDGET_CEILING',
      );

      expect(
        await api.call('POST', `/api/v1/admin/users/${user.auth.user.id}/disable`, { token: adminToken }),
      ).toMatchObject({ status: 200, body: { status: 'disabled' } });
      expectError(await api.call('GET', '/api/v1/auth/me', { token: user.token }), 403, 'FORBIDDEN');
      expect(
        await api.call('POST', `/api/v1/admin/users/${user.auth.user.id}/enable`, { token: adminToken }),
      ).toMatchObject({ status: 200, body: { status: 'active' } });
      expect((await api.call('GET', '/api/v1/auth/me', { token: user.token })).status).toBe(200);

      const usage = await api.call('GET', '/api/v1/admin/usage', {
        token: adminToken,
        query: { groupBy: 'user', from: '2020-01-01T00:00:00Z' },
      });
      expect(usage.status).toBe(200);
      expectError(
        await api.call('GET', '/api/v1/admin/usage', { token: adminToken, query: { groupBy: 'week' } }),
        400,
        'INVALID_INPUT',
      );
      const health = await api.call<{ users: { admins: number } }>('GET', '/api/v1/admin/health', {
        token: adminToken,
      });
      expect(health.status).toBe(200);
      expect(health.body.users.admins).toBeGreaterThanOrEqual(1);
    });
  });
});
