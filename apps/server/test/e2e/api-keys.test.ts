import { TestClock, testDatabases } from '@hearth/core/testing';
import type { HearthClient } from '@hearth/sdk';
import { type LlmTestServer, startLlmTestServer } from '@hearth/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectHearthError } from '../support/expect-error';
import { collectRun } from '../support/run-events';
import { signedInClient, startTestServer, type TestServer, testLlmClient } from '../support/test-server';

const ANSWER = { text: 'hello from the model', usage: { promptTokens: 120, completionTokens: 4 } };

describe.each(testDatabases())('personal API keys ($name)', ({ location }) => {
  let llm: LlmTestServer;
  let server: TestServer;
  const clock = new TestClock(new Date('2026-06-01T12:00:00Z'));
  const created: string[] = [];

  beforeAll(async () => {
    llm = await startLlmTestServer({ respond: () => ANSWER });
    server = await startTestServer({
      store: location,
      llm: testLlmClient(llm),
      clock,
      captureLogs: true,
    });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await llm?.close();
  });

  /** A fresh user and one of their keys, with a client that speaks with the key alone. */
  async function withKey(
    expiresAt?: Date,
  ): Promise<{ owner: HearthClient; keyed: HearthClient; key: string; id: string }> {
    const owner = await signedInClient(server, 'keys');
    const made = await owner.auth.createApiKey.mutate({ name: 'ci', ...(expiresAt ? { expiresAt } : {}) });
    created.push(made.key);
    return { owner, keyed: server.client({ apiKey: made.key }), key: made.key, id: made.id };
  }

  it('is shown once at creation, listed by prefix only, and revoked', async () => {
    const owner = await signedInClient(server, 'keys');
    const made = await owner.auth.createApiKey.mutate({ name: '  deploy bot ' });
    created.push(made.key);
    expect(made.key).toMatch(/^hth_[A-Za-z0-9_-]{43}$/);
    expect(made).toMatchObject({ name: 'deploy bot', lastUsedAt: null, expiresAt: null });
    expect(made.key.startsWith(made.prefix)).toBe(true);
    expect(made.prefix.length).toBeLessThan(16);

    const listed = await owner.auth.listApiKeys.query();
    expect(listed.apiKeys).toEqual([
      {
        id: made.id,
        name: 'deploy bot',
        prefix: made.prefix,
        createdAt: made.createdAt,
        lastUsedAt: null,
        expiresAt: null,
      },
    ]);
    expect(JSON.stringify(listed)).not.toContain(made.key);

    const keyed = server.client({ apiKey: made.key });
    const me = await keyed.auth.me.query();
    expect(me.id).toBe((await owner.auth.me.query()).id);
    expect(keyed.session).toBeNull();
    const [used] = (await owner.auth.listApiKeys.query()).apiKeys;
    expect(used?.lastUsedAt).toEqual(clock.now());

    expect(await owner.auth.revokeApiKey.mutate({ id: made.id })).toEqual({ ok: true });
    await expectHearthError(keyed.auth.me.query(), 'UNAUTHENTICATED');
    expect((await owner.auth.listApiKeys.query()).apiKeys).toEqual([]);
    await expectHearthError(owner.auth.revokeApiKey.mutate({ id: made.id }), 'NOT_FOUND');
  });

  it('writes lastUsedAt at most once a minute', async () => {
    const { owner, keyed } = await withKey();
    await keyed.auth.me.query();
    const first = (await owner.auth.listApiKeys.query()).apiKeys[0]?.lastUsedAt;
    clock.advance(30_000);
    await keyed.auth.me.query();
    expect((await owner.auth.listApiKeys.query()).apiKeys[0]?.lastUsedAt).toEqual(first);
    clock.advance(31_000);
    await keyed.auth.me.query();
    expect((await owner.auth.listApiKeys.query()).apiKeys[0]?.lastUsedAt).toEqual(clock.now());
  });

  it('is refused at once when it has expired', async () => {
    const { keyed } = await withKey(new Date(clock.now().getTime() + 60_000));
    await keyed.auth.me.query();
    clock.advance(60_001);
    const error = await expectHearthError(keyed.auth.me.query(), 'UNAUTHENTICATED');
    expect(error.message).toMatch(/expired/);
  });

  it('refuses an expiry in the past, and bad names, storing nothing', async () => {
    const owner = await signedInClient(server, 'keys');
    const past = await expectHearthError(
      owner.auth.createApiKey.mutate({ name: 'old', expiresAt: new Date(clock.now().getTime() - 1) }),
      'INVALID_INPUT',
    );
    expect(past.data.fieldErrors).toHaveProperty('expiresAt');
    const blank = await expectHearthError(owner.auth.createApiKey.mutate({ name: '   ' }), 'INVALID_INPUT');
    expect(blank.data.fieldErrors).toHaveProperty('name');
    await expectHearthError(owner.auth.createApiKey.mutate({ name: 'x'.repeat(101) }), 'INVALID_INPUT');
    expect((await owner.auth.listApiKeys.query()).apiKeys).toEqual([]);
  });

  it("answers another user's key id as NOT_FOUND and leaves the key working", async () => {
    const { keyed, id } = await withKey();
    const stranger = await signedInClient(server, 'stranger');
    await expectHearthError(stranger.auth.revokeApiKey.mutate({ id }), 'NOT_FOUND');
    await expectHearthError(stranger.auth.revokeApiKey.mutate({ id: crypto.randomUUID() }), 'NOT_FOUND');
    expect((await stranger.auth.listApiKeys.query()).apiKeys).toEqual([]);
    await keyed.auth.me.query();
  });

  it('cannot mint more keys, list or revoke them, or log out', async () => {
    const { owner, keyed, id } = await withKey();
    await expectHearthError(keyed.auth.createApiKey.mutate({ name: 'more' }), 'FORBIDDEN');
    await expectHearthError(keyed.auth.logout.mutate(), 'FORBIDDEN');
    expect((await owner.auth.listApiKeys.query()).apiKeys.map((k) => k.id)).toEqual([id]);
    await keyed.auth.me.query();
  });

  it('refuses a forged or malformed key', async () => {
    const { key } = await withKey();
    const forged = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    await expectHearthError(server.client({ apiKey: forged }).auth.me.query(), 'UNAUTHENTICATED');
    await expectHearthError(server.client({ apiKey: 'hth_short' }).auth.me.query(), 'UNAUTHENTICATED');
  });

  it('chats as its user, billed to the user', async () => {
    const { owner, keyed } = await withKey();
    const sent = await keyed.chat.send.mutate({ text: 'hi there' });
    const run = await collectRun(keyed, sent.runId);
    expect(run.terminal).toMatchObject({ type: 'run.completed', message: { content: ANSWER.text } });
    const history = await owner.chat.history.query({ conversationId: sent.conversationId });
    expect(history.messages.map((m) => m.content)).toEqual(['hi there', ANSWER.text]);
    const usage = await owner.user.usage.query({});
    expect(usage.totals.requests).toBe(1);
    expect(usage.totals.costUsd).toBeGreaterThan(0);
    expect((await keyed.user.budget.query()).spentUsd).toBe((await owner.user.budget.query()).spentUsd);
  });

  it('never appears in a log', () => {
    const logs = server.logs();
    expect(logs.length).toBeGreaterThan(0);
    expect(created.length).toBeGreaterThan(5);
    for (const key of created) {
      expect(logs).not.toContain(key);
      expect(logs).not.toContain(key.slice(4));
    }
  });
});
