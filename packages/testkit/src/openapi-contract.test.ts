import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONTRACT_FILES, ContractLog, ContractViolation, OpenApiContract } from './openapi-contract';

const shared = (file: string) => new URL(`../../../../shared/contracts/${file}`, import.meta.url);

describe('the vendored contract files', () => {
  // ../shared sits beside the repository on a developer's machine; a bare checkout skips this.
  for (const url of Object.values(CONTRACT_FILES)) {
    const name = url.pathname.split('/').pop() ?? '';
    it.runIf(existsSync(shared(name)))(`${name} is the shared contract, unchanged`, () => {
      expect(readFileSync(url, 'utf8')).toBe(readFileSync(shared(name), 'utf8'));
    });
  }
});

describe('OpenApiContract on Supabase Auth (OpenAPI 3.0)', () => {
  const auth = OpenApiContract.load('supabaseAuth');

  it('accepts a sign-in as supabase-js sends it and the session it gets back', () => {
    const request = { method: 'POST', path: '/token', query: new URLSearchParams({ grant_type: 'password' }) };
    expect(() => auth.checkRequest({ ...request, body: { email: 'ada@example.com', password: 'pw' } })).not.toThrow();
    const session = {
      access_token: 'a.b.c',
      token_type: 'bearer',
      expires_in: 3600,
      expires_at: 1_800_000_000,
      refresh_token: 'r1',
      user: {
        id: '6f1d7a36-3c1e-4a4e-9b7e-0c1d2e3f4a5b',
        aud: 'authenticated',
        role: 'authenticated',
        email: 'ada@example.com',
      },
    };
    expect(() => auth.checkResponse(request, { status: 200, body: session })).not.toThrow();
    // The signup answer is "a session or a user"; a session fits both branches and must still pass.
    expect(() => auth.checkResponse({ method: 'POST', path: '/signup' }, { status: 200, body: session })).not.toThrow();
  });

  it('names what is wrong: a missing grant_type, an unknown route, a body of the wrong shape', () => {
    expect(() => auth.checkRequest({ method: 'POST', path: '/token', body: {} })).toThrow(/grant_type is required/);
    expect(() => auth.checkRequest({ method: 'POST', path: '/sign-up', body: {} })).toThrow(/not in the API/);
    expect(() =>
      auth.checkRequest({
        method: 'POST',
        path: '/token',
        query: new URLSearchParams({ grant_type: 'magic' }),
        body: {},
      }),
    ).toThrow(/allowed values/);
    expect(() =>
      auth.checkResponse({ method: 'POST', path: '/token' }, { status: 200, body: { expires_in: 'soon' } }),
    ).toThrow(ContractViolation);
    expect(() => auth.checkResponse({ method: 'POST', path: '/token' }, { status: 302 })).toThrow(/no such status/);
  });

  it('matches templated paths, literal segments first', () => {
    expect(auth.operation('DELETE', '/admin/users/6f1d7a36-3c1e-4a4e-9b7e-0c1d2e3f4a5b').template).toBe(
      '/admin/users/{userId}',
    );
    expect(auth.operation('GET', '/admin/users').template).toBe('/admin/users');
  });
});

describe('OpenApiContract on Letta (OpenAPI 3.1)', () => {
  const letta = OpenApiContract.load('letta');

  it('accepts a streaming send and checks a stream event against its schema', () => {
    expect(() =>
      letta.checkRequest({
        method: 'POST',
        path: '/v1/agents/agent-00000000-0000-4000-8000-000000000000/messages/stream',
        body: { messages: [{ role: 'user', content: 'hi' }], stream_tokens: true },
      }),
    ).not.toThrow();
    expect(() =>
      letta.checkRequest({ method: 'GET', path: '/v1/agents/', query: new URLSearchParams('tags=user:1&limit=5') }),
    ).not.toThrow();
    expect(() =>
      letta.checkRequest({ method: 'GET', path: '/v1/agents/', query: new URLSearchParams('limit=many') }),
    ).toThrow(/query limit/);
  });

  it('collects violations in a log until the test asks', () => {
    const log = new ContractLog(letta);
    expect(log.request({ method: 'POST', path: '/v1/agents/', body: { tags: 'not-a-list' } })).toBe(false);
    expect(() => log.assertClean()).toThrow(/tags/);
    expect(() => log.assertClean()).not.toThrow();
  });
});
