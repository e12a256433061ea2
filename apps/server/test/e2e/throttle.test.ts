import { type AppCode, schema } from '@hearth/core';
import { TestClock } from '@hearth/core/testing';
import type { HearthErrorData } from '@hearth/sdk';
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_PROVIDERS, type AuthUnderTest } from '../support/auth-providers';
import { expectHearthError, type TrpcErrorBody } from '../support/expect-error';
import { PASSWORD, startTestServer, type TestServer, uniqueEmail } from '../support/test-server';

interface Answer {
  status: number;
  retryAfter: string | null;
  /** One entry per call: a batched request answers a list, a single call (or a refused batch) one. */
  results: Array<{ result?: { data: { json: unknown } } } & Partial<TrpcErrorBody>>;
}

/** A tRPC mutation over plain fetch, as any client (or attacker) may send it. */
async function post(server: TestServer, path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.url}/trpc/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as Answer['results'] | Answer['results'][number];
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    results: Array.isArray(json) ? json : [json],
  } satisfies Answer;
}

const login = (server: TestServer, email: string, password: string, headers?: Record<string, string>) =>
  post(server, 'auth.login', { json: { email, password } }, headers);

const register = (server: TestServer, email: string, headers?: Record<string, string>) =>
  post(server, 'auth.register', { json: { email, password: PASSWORD } }, headers);

const errorData = (answer: Answer, index = 0): HearthErrorData | undefined => answer.results[index]?.error?.json.data;
const appCodeOf = (answer: Answer): AppCode | 'OK' => errorData(answer)?.appCode ?? 'OK';

const storedUsers = (server: TestServer, email: string) =>
  server.hearth.store.db.select().from(schema.users).where(eq(schema.users.email, email));

/** The address the server recorded for the session a sign-up started. */
async function sessionIpOf(server: TestServer, answer: Answer): Promise<string | null | undefined> {
  const signedUp = answer.results[0]?.result?.data.json as { user: { id: string } } | undefined;
  if (!signedUp) throw new Error(`the sign-up failed: ${JSON.stringify(answer.results[0])}`);
  const { user } = signedUp;
  const [session] = await server.hearth.store.db
    .select({ ip: schema.sessions.ip })
    .from(schema.sessions)
    .where(eq(schema.sessions.userId, user.id));
  return session?.ip;
}

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
    clock.advance(601_000);
  });
});

describe.each(AUTH_PROVIDERS)('per-email login limit under concurrency ($provider)', (setup) => {
  const clock = new TestClock();
  let auth: AuthUnderTest;
  let server: TestServer;

  beforeAll(async () => {
    auth = await setup.start(clock);
    server = await startTestServer({
      store: { kind: 'pglite-memory' },
      clock,
      env: { ...auth.env, LOGIN_MAX_FAILURES_PER_EMAIL: '5', LOGIN_MAX_ATTEMPTS_PER_IP: '1000' },
    });
  });
  afterEach(() => auth.assertClean());
  afterAll(async () => {
    await server?.close();
    await auth?.close();
  });

  it('lets at most 5 of 20 simultaneous wrong guesses for one email be tried', async () => {
    const email = uniqueEmail('stampede');
    await server.client().auth.register.mutate({ email, password: PASSWORD });
    const answers = await Promise.all(Array.from({ length: 20 }, () => login(server, email, 'wrong guess')));
    const codes = answers.map(appCodeOf);
    expect(codes.filter((code) => code === 'INVALID_CREDENTIALS')).toHaveLength(5);
    expect(codes.filter((code) => code === 'RATE_LIMITED')).toHaveLength(15);
    for (const answer of answers.filter((a) => appCodeOf(a) === 'RATE_LIMITED')) {
      expect(answer.status).toBe(429);
      expect(errorData(answer)?.retryAfterSeconds).toBeGreaterThan(0);
      expect(Number(answer.retryAfter)).toBeGreaterThan(0);
    }
    // The right password too, until the window passes.
    expect(appCodeOf(await login(server, email, PASSWORD))).toBe('RATE_LIMITED');
    clock.advance(901_000);
    expect(appCodeOf(await login(server, email, PASSWORD))).toBe('OK');
  });

  it('counts failures, not attempts: the right password after 4 failures works and clears them', async () => {
    const email = uniqueEmail('typo');
    await server.client().auth.register.mutate({ email, password: PASSWORD });
    for (let i = 0; i < 4; i += 1)
      expect(appCodeOf(await login(server, email, 'wrong guess'))).toBe('INVALID_CREDENTIALS');
    expect(appCodeOf(await login(server, email, PASSWORD))).toBe('OK');
    for (let i = 0; i < 5; i += 1)
      expect(appCodeOf(await login(server, email, 'wrong guess'))).toBe('INVALID_CREDENTIALS');
    expect(appCodeOf(await login(server, email, 'wrong guess'))).toBe('RATE_LIMITED');
    clock.advance(901_000);
  });
});

describe('client address behind proxies (TRUST_PROXY)', () => {
  const clock = new TestClock();
  const servers: TestServer[] = [];
  const start = async (trustProxy: string) => {
    const server = await startTestServer({
      store: { kind: 'pglite-memory' },
      clock,
      env: { TRUST_PROXY: trustProxy, LOGIN_MAX_ATTEMPTS_PER_IP: '5', LOGIN_MAX_FAILURES_PER_EMAIL: '1000' },
    });
    servers.push(server);
    return server;
  };
  afterAll(async () => {
    for (const server of servers) await server.close();
  });

  /** Logins for fresh emails, each naming a different client on the left of `rightOfSpoof`. */
  const spoofedLogins = (server: TestServer, count: number, rightOfSpoof: string) =>
    Promise.all(
      Array.from({ length: count }, (_, i) =>
        login(server, uniqueEmail('spoof'), 'wrong guess', { 'x-forwarded-for': `10.0.0.${i}, ${rightOfSpoof}` }),
      ),
    );

  const tally = (answers: Answer[]) => ({
    invalid: answers.filter((a) => appCodeOf(a) === 'INVALID_CREDENTIALS').length,
    limited: answers.filter((a) => appCodeOf(a) === 'RATE_LIMITED').length,
  });

  it('true: one proxy; the rightmost entry is the client, and what the client wrote on its left is not', async () => {
    const server = await start('true');
    expect(tally(await spoofedLogins(server, 40, '127.0.0.1'))).toEqual({ invalid: 5, limited: 35 });
    // Another client behind the same proxy has its own budget.
    expect(tally(await spoofedLogins(server, 8, '203.0.113.5'))).toEqual({ invalid: 5, limited: 3 });

    const signedUp = await register(server, uniqueEmail('proxied'), { 'x-forwarded-for': '10.9.9.9, 198.51.100.4' });
    expect(await sessionIpOf(server, signedUp)).toBe('198.51.100.4');
  });

  it('a hop count: with 2, the second entry from the right is the client', async () => {
    const server = await start('2');
    expect(tally(await spoofedLogins(server, 12, '198.51.100.7, 10.1.1.1'))).toEqual({ invalid: 5, limited: 7 });
    const signedUp = await register(server, uniqueEmail('two-hops'), {
      'x-forwarded-for': '10.9.9.9, 198.51.100.8, 10.1.1.1',
    });
    expect(await sessionIpOf(server, signedUp)).toBe('198.51.100.8');
  });

  it('proxy addresses: entries are read from the right past every listed proxy', async () => {
    const server = await start('127.0.0.1, 10.0.0.0/8');
    expect(tally(await spoofedLogins(server, 12, '198.51.100.9, 10.2.0.1'))).toEqual({ invalid: 5, limited: 7 });
    const signedUp = await register(server, uniqueEmail('listed'), {
      'x-forwarded-for': '10.9.9.9, 198.51.100.10, 10.2.0.1',
    });
    expect(await sessionIpOf(server, signedUp)).toBe('198.51.100.10');
  });

  it('never fails on a malformed X-Forwarded-For: the proxy that sent it is taken for the client', async () => {
    const server = servers[0] ?? (await start('true'));
    const malformed = ['garbage', ' , ', '198.51.100.1,', '999.0.0.1', '<script>', 'a'.repeat(8_000), '::ffff:zz'];
    for (const header of malformed) {
      const answer = await register(server, uniqueEmail('malformed'), { 'x-forwarded-for': header });
      expect(answer.status).toBe(200);
      expect(await sessionIpOf(server, answer)).toBe('127.0.0.1');
    }
  });
});

describe('registration throttling', () => {
  const clock = new TestClock();
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({
      store: { kind: 'pglite-memory' },
      clock,
      env: { REGISTER_MAX_PER_IP: '3', REGISTER_WINDOW_SECONDS: '3600', TRUST_PROXY: 'true' },
    });
  });
  afterAll(() => server?.close());

  it('allows a few sign-ups per IP an hour, EMAIL_TAKEN answers included, then RATE_LIMITED with nothing stored', async () => {
    const from = { 'x-forwarded-for': '198.51.100.20' };
    const taken = uniqueEmail('first');
    expect(appCodeOf(await register(server, taken, from))).toBe('OK');
    expect(appCodeOf(await register(server, taken, from))).toBe('EMAIL_TAKEN');
    expect(appCodeOf(await register(server, uniqueEmail('second'), from))).toBe('OK');

    const refused = uniqueEmail('refused');
    const answer = await register(server, refused, from);
    expect(appCodeOf(answer)).toBe('RATE_LIMITED');
    expect(answer.status).toBe(429);
    expect(errorData(answer)?.retryAfterSeconds).toBeGreaterThan(3_000);
    expect(Number(answer.retryAfter)).toBeGreaterThan(3_000);
    expect(await storedUsers(server, refused)).toHaveLength(0);
    // Nor does it say, once refused, whether an email has an account.
    expect(appCodeOf(await register(server, taken, from))).toBe('RATE_LIMITED');

    // Another address has its own budget; this one gets its back after the window.
    expect(appCodeOf(await register(server, uniqueEmail('elsewhere'), { 'x-forwarded-for': '198.51.100.21' }))).toBe(
      'OK',
    );
    clock.advance(3_601_000);
    expect(appCodeOf(await register(server, refused, from))).toBe('OK');
  });

  it('holds under concurrency: of 10 simultaneous sign-ups from one IP, 3 create accounts', async () => {
    const from = { 'x-forwarded-for': '198.51.100.30' };
    const answers = await Promise.all(Array.from({ length: 10 }, () => register(server, uniqueEmail('rush'), from)));
    expect(answers.filter((a) => appCodeOf(a) === 'OK')).toHaveLength(3);
    expect(answers.filter((a) => appCodeOf(a) === 'RATE_LIMITED')).toHaveLength(7);
  });
});

describe('batched requests', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ store: { kind: 'pglite-memory' } });
  });
  afterAll(() => server?.close());

  /** One POST carrying `count` calls of `path`, inputs made by `input`. */
  const batch = (paths: string[], inputs: unknown[]) =>
    post(
      server,
      `${paths.join(',')}?batch=1`,
      Object.fromEntries(inputs.map((input, index) => [index, { json: input }])),
    );

  const expectRefusedWhole = (answer: Answer, message: RegExp) => {
    expect(answer.status).toBe(400);
    for (const result of answer.results) {
      expect(result.error?.json.data.appCode).toBe('INVALID_INPUT');
      expect(result.error?.json.message).toMatch(message);
    }
  };

  it('refuses a batch of 1,000 sign-ups whole: no account is made, nothing is told', async () => {
    const emails = Array.from({ length: 1_000 }, () => uniqueEmail('batched'));
    const answer = await batch(
      emails.map(() => 'auth.register'),
      emails.map((email) => ({ email, password: PASSWORD })),
    );
    expectRefusedWhole(answer, /batch/i);
    expect(await storedUsers(server, emails[0] ?? '')).toHaveLength(0);
    expect(await storedUsers(server, emails[999] ?? '')).toHaveLength(0);
  });

  it('caps any batch at 10 calls', async () => {
    const client = server.client();
    await client.auth.register.mutate({ email: uniqueEmail('reader'), password: PASSWORD });
    const token = { authorization: `Bearer ${client.session?.accessToken}` };
    const queries = (count: number) =>
      fetch(`${server.url}/trpc/${Array.from({ length: count }, () => 'auth.me').join(',')}?batch=1&input={}`, {
        headers: token,
      });
    const ten = await queries(10);
    expect(ten.status).toBe(200);
    expect((await ten.json()) as unknown[]).toHaveLength(10);
    const eleven = await queries(11);
    expect(eleven.status).toBe(400);
    expect(eleven.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await eleven.json()) as TrpcErrorBody;
    expect(body.error.json.data.appCode).toBe('INVALID_INPUT');
    expect(body.error.json.message).toMatch(/batch/i);
    // The SDK splits what it batches to fit.
    const many = await Promise.all(Array.from({ length: 25 }, () => client.auth.me.query()));
    expect(many).toHaveLength(25);
  });

  it('refuses two auth mutations in one batch, and runs neither', async () => {
    const email = uniqueEmail('pair');
    const answer = await batch(
      ['auth.register', 'auth.login'],
      [
        { email, password: PASSWORD },
        { email, password: PASSWORD },
      ],
    );
    expectRefusedWhole(answer, /one per request/);
    expect(answer.results).toHaveLength(2);
    expect(await storedUsers(server, email)).toHaveLength(0);
  });

  it('still serves one auth mutation sent as a batch of one', async () => {
    const email = uniqueEmail('single');
    const answer = await batch(['auth.register'], [{ email, password: PASSWORD }]);
    expect(answer.status).toBe(200);
    expect(await storedUsers(server, email)).toHaveLength(1);
  });
});
