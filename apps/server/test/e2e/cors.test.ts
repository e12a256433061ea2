import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/test-server';

const LOOPBACK = ['http://localhost:4173', 'http://127.0.0.1:5173', 'http://[::1]:8080', 'https://localhost'];
const FOREIGN = ['https://evil.example.com', 'http://localhost.evil.example.com', 'http://127.0.0.1.nip.io:5173'];

async function preflight(server: TestServer, origin: string): Promise<string | null> {
  const response = await fetch(`${server.url}/trpc/auth.login`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type',
    },
  });
  return response.headers.get('access-control-allow-origin');
}

async function actual(server: TestServer, origin: string): Promise<string | null> {
  const response = await fetch(`${server.url}/healthz`, { headers: { origin } });
  expect(response.status).toBe(200);
  return response.headers.get('access-control-allow-origin');
}

describe('CORS in development', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      store: { kind: 'pglite-memory' },
      env: { NODE_ENV: 'development', CORS_ORIGINS: 'https://app.example.com' },
    });
  });
  afterAll(() => server?.close());

  it('allows any loopback origin, whatever its port, besides CORS_ORIGINS', async () => {
    for (const origin of [...LOOPBACK, 'https://app.example.com']) {
      expect(await preflight(server, origin), origin).toBe(origin);
      expect(await actual(server, origin), origin).toBe(origin);
    }
  });

  it('refuses other origins, including look-alikes of localhost', async () => {
    for (const origin of FOREIGN) {
      expect(await preflight(server, origin), origin).toBeNull();
      expect(await actual(server, origin), origin).toBeNull();
    }
  });
});

describe('CORS outside production with CORS_ORIGINS unset', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ store: { kind: 'pglite-memory' }, env: { NODE_ENV: 'test' } });
  });
  afterAll(() => server?.close());

  it('allows loopback origins', async () => {
    for (const origin of LOOPBACK) expect(await preflight(server, origin), origin).toBe(origin);
    expect(await preflight(server, FOREIGN[0] ?? '')).toBeNull();
  });
});

describe('CORS in production', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      store: { kind: 'pglite-memory' },
      env: { NODE_ENV: 'production', CORS_ORIGINS: 'https://app.example.com' },
    });
  });
  afterAll(() => server?.close());

  it('allows CORS_ORIGINS only', async () => {
    expect(await preflight(server, 'https://app.example.com')).toBe('https://app.example.com');
    expect(await actual(server, 'https://app.example.com')).toBe('https://app.example.com');
    for (const origin of [...LOOPBACK, ...FOREIGN]) {
      expect(await preflight(server, origin), origin).toBeNull();
      expect(await actual(server, origin), origin).toBeNull();
    }
  });
});
