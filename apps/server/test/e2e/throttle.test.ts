import { TestClock } from '@hearth/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectHearthError, type TrpcErrorBody } from '../support/expect-error';
import { PASSWORD, startTestServer, type TestServer, uniqueEmail } from '../support/test-server';

describe('login throttling', () => {
  const clock = new TestClock();
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({
      store: { kind: 'pglite-memory' },
      clock,
      env: { LOGIN_MAX_FAILURES_PER_EMAIL: '3', LOGIN_MAX_ATTEMPTS_PER_IP: '12', LOGIN_WINDOW_SECONDS: '600' },
    });
  });
  afterAll(() => server?.close());

  it('locks an email after repeated failures, even for the right password, until the window passes', async () => {
    const email = uniqueEmail('target');
    await server.client().auth.register.mutate({ email, password: PASSWORD });
    for (let i = 0; i < 3; i += 1) {
      await expectHearthError(
        server.client().auth.login.mutate({ email, password: 'wrong guess' }),
        'INVALID_CREDENTIALS',
      );
    }
    const limited = await expectHearthError(
      server.client().auth.login.mutate({ email, password: PASSWORD }),
      'RATE_LIMITED',
    );
    expect(limited.data.httpStatus).toBe(429);
    expect(limited.data.retryAfterSeconds).toBeGreaterThan(0);
    expect(limited.data.retryAfterSeconds).toBeLessThanOrEqual(600);

    clock.advance(601_000);
    const { user } = await server.client().auth.login.mutate({ email, password: PASSWORD });
    expect(user.email).toBe(email);
  });

  it('counts failures for unknown emails the same way', async () => {
    const email = uniqueEmail('ghost');
    for (let i = 0; i < 3; i += 1) {
      await expectHearthError(
        server.client().auth.login.mutate({ email, password: 'wrong guess' }),
        'INVALID_CREDENTIALS',
      );
    }
    await expectHearthError(server.client().auth.login.mutate({ email, password: 'wrong guess' }), 'RATE_LIMITED');
    clock.advance(601_000);
  });

  it('limits attempts from one IP across many emails, and says when to retry in a Retry-After header', async () => {
    for (let i = 0; i < 12; i += 1) {
      await expectHearthError(
        server.client().auth.login.mutate({ email: uniqueEmail('spray'), password: 'wrong guess' }),
        'INVALID_CREDENTIALS',
      );
    }
    const response = await fetch(`${server.url}/trpc/auth.login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ json: { email: uniqueEmail('spray'), password: 'wrong guess' } }),
    });
    expect(response.status).toBe(429);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = (await response.json()) as TrpcErrorBody;
    expect(body.error.json.data.appCode).toBe('RATE_LIMITED');
  });
});
