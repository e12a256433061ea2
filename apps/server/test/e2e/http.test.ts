import { randomUUID } from 'node:crypto';
import { testDatabases } from '@hearth/core/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrpcErrorBody } from '../support/expect-error';
import { collectRun } from '../support/run-events';
import { signedInClient, startTestServer, type TestServer } from '../support/test-server';

describe('plain HTTP surface', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({
      store: { kind: 'pglite-memory' },
      env: { CORS_ORIGINS: 'https://app.example.com' },
    });
  });
  afterAll(() => server?.close());

  it('/healthz answers while the process serves', async () => {
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('/readyz names each part it checked', async () => {
    const response = await fetch(`${server.url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ready', checks: { store: 'ok' }, failing: [] });
  });

  it('gives every response a request id, and keeps one the client sent', async () => {
    const fresh = await fetch(`${server.url}/healthz`);
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const kept = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'trace-abc-123' } });
    expect(kept.headers.get('x-request-id')).toBe('trace-abc-123');
  });

  it('allows the configured browser origins only', async () => {
    const preflight = (origin: string) =>
      fetch(`${server.url}/trpc/auth.login`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
      });
    const allowed = await preflight('https://app.example.com');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    const refused = await preflight('https://evil.example.com');
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers malformed tRPC calls with the contract error shape and no stack', async () => {
    const response = await fetch(`${server.url}/trpc/auth.login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as TrpcErrorBody;
    expect(error.json.data.appCode).toBe('INVALID_INPUT');
    expect(JSON.stringify(error)).not.toMatch(/stack|at \w+ \(/);
  });

  it('answers an unknown procedure with NOT_FOUND', async () => {
    const response = await fetch(`${server.url}/trpc/auth.nothing`);
    expect(response.status).toBe(404);
    const { error } = (await response.json()) as TrpcErrorBody;
    expect(error.json.data.appCode).toBe('NOT_FOUND');
  });
});

describe('logs', () => {
  it('record each request with its id, and never a password or token', async () => {
    const server = await startTestServer({ store: { kind: 'pglite-memory' }, captureLogs: true });
    try {
      const client = server.client();
      const password = 'a very particular passphrase';
      const { session } = await client.auth.register.mutate({ email: 'logged@example.com', password });
      await client.auth.refresh.mutate({ refreshToken: session.refreshToken });
      await client.auth.me.query();
      await client.auth.login.mutate({ email: 'logged@example.com', password: 'wrong password here' }).catch(() => {});

      const lines = server
        .logs()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      const requests = lines.filter((line) => line.msg === 'request');
      expect(requests.length).toBeGreaterThanOrEqual(4);
      for (const line of requests) expect(line.requestId).toBeTruthy();
      const text = server.logs();
      for (const secret of [password, 'wrong password here', session.accessToken, session.refreshToken]) {
        expect(text).not.toContain(secret);
      }
    } finally {
      await server.close();
    }
  });

  it("tie a run's lines to the request that started it, its user and its run, and hold none of its text", async () => {
    const server = await startTestServer({ store: { kind: 'pglite-memory' }, captureLogs: true });
    try {
      const client = server.client();
      await client.auth.register.mutate({ email: 'run-logs@example.com', password: 'a very particular passphrase' });
      const me = await client.auth.me.query();
      const secretText = 'my private words 4f1c';
      const sent = await client.chat.send.mutate({ text: secretText });
      await collectRun(client, sent.runId);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const lines = server
        .logs()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      const sendRequest = lines.find((line) => line.msg === 'request' && line.path === '/trpc/chat.send');
      const ended = lines.find((line) => line.msg === 'run ended');
      expect(ended).toMatchObject({
        level: 30,
        requestId: sendRequest?.requestId,
        userId: me.id,
        runId: sent.runId,
        status: 'completed',
      });
      expect(ended.completionTokens).toBeGreaterThan(0);
      expect(typeof ended.time).toBe('string');
      expect(server.logs()).not.toContain(secretText);
    } finally {
      await server.close();
    }
  });

  it.each(testDatabases())(
    "on $name never hold a failed statement's SQL or bound values, and no stack for an expected condition",
    async ({ location }) => {
      const server = await startTestServer({ store: location, captureLogs: true });
      const marker = `marker-${randomUUID()}`;
      // Unique, and dropped after: a PostgreSQL test database is shared.
      const constraint = `no_${marker.replaceAll('-', '_')}`;
      try {
        const client = await signedInClient(server, 'logs');
        // Expected conditions on the way: a wrong password, an unknown run.
        await client.auth.login
          .mutate({ email: 'nobody@example.com', password: 'wrong password here' })
          .catch(() => {});
        await client.chat.cancel.mutate({ runId: randomUUID() }).catch(() => {});
        // A client that leaves a run's stream after its first event.
        const sent = await client.chat.send.mutate({ text: 'tell me a long story' });
        await collectRun(client, sent.runId, { stopAfter: () => true });
        // The store refuses the message under the server: the statement fails with the text bound in it.
        await server.hearth.store.db.execute(
          sql.raw(`alter table messages add constraint ${constraint} check (content not like '%${marker}%')`),
        );
        const other = await client.chat.createConversation.mutate({ title: 'refused' });
        await expect(
          client.chat.send.mutate({ text: `hello ${marker}`, conversationId: other.id }),
        ).rejects.toMatchObject({
          data: { appCode: 'INTERNAL' },
        });

        const lines = server
          .logs()
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as { level: number; msg: string; err?: Record<string, unknown> });
        const shown = lines.filter((line) => line.level >= 30);
        const failed = shown.find((line) => line.msg === 'procedure failed');
        for (const line of shown) {
          const text = JSON.stringify(line);
          expect(text).not.toContain(marker);
          expect(text).not.toMatch(/\$\d|::uuid|returning|values \(/i);
          // The one stack is the store's failure, which nothing expected.
          if (text.includes('"stack"')) expect(line).toBe(failed);
        }
        expect(failed).toMatchObject({
          level: 50,
          err: { type: 'DrizzleQueryError', statement: expect.stringContaining('insert into messages') },
        });
        expect(failed?.err?.cause).toMatchObject({ code: '23514', constraint });
      } finally {
        await server.hearth.store.db.execute(sql.raw(`alter table messages drop constraint if exists ${constraint}`));
        await server.close();
      }
    },
  );
});
