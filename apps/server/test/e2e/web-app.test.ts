import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/test-server';

const INDEX = '<!doctype html><title>app</title><script type="module" src="/assets/app-abc123.js"></script>';
const SCRIPT = 'console.log("the app");';

describe('the web app at /', () => {
  let server: TestServer;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hearth-web-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), INDEX);
    writeFileSync(join(dir, 'assets', 'app-abc123.js'), SCRIPT);
    writeFileSync(join(dir, 'assets', 'app-abc123.js.gz'), gzipSync(SCRIPT));
    server = await startTestServer({ store: { kind: 'pglite-memory' }, webAppDir: dir });
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves index.html at / with a content security policy', async () => {
    const response = await fetch(`${server.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await response.text()).toBe(INDEX);
  });

  it('answers a client route with index.html, so a reload works', async () => {
    const response = await fetch(`${server.url}/usage`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(INDEX);
  });

  it('serves hashed assets gzipped and cached for good', async () => {
    const response = await fetch(`${server.url}/assets/app-abc123.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-encoding')).toBe('gzip');
    expect(response.headers.get('cache-control')).toContain('immutable');
    expect(await response.text()).toBe(SCRIPT);
  });

  it('answers a missing asset with 404, not the page', async () => {
    const response = await fetch(`${server.url}/assets/app-old999.js`);
    expect(response.status).toBe(404);
  });

  it("leaves the API's paths to the API", async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
    // The OpenAI endpoint asks for its key before it looks at the path, as OpenAI's own API does.
    const expected = {
      '/api/nothing': 404,
      '/openai/v1/nothing': 401,
      '/docs/nothing': 404,
      '/trpc/auth.nothing': 404,
    };
    for (const [path, status] of Object.entries(expected)) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status, path).toBe(status);
      expect(response.headers.get('content-type'), path).toMatch(/^application\/json/);
    }
    const post = await fetch(`${server.url}/somewhere`, { method: 'POST' });
    expect(post.status).toBe(404);
  });
});

describe('without a built web app', () => {
  it('answers / with the API 404', async () => {
    const server = await startTestServer({
      store: { kind: 'pglite-memory' },
      webAppDir: join(tmpdir(), 'hearth-no-such-build'),
    });
    try {
      const response = await fetch(`${server.url}/`);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ error: 'Not found' });
    } finally {
      await server.close();
    }
  });
});
