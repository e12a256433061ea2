import type { StoreLocation } from '@hearth/core';
import { testDatabases } from '@hearth/core/testing';
import {
  type FakeLiteLlm,
  type FakeSupabaseAuth,
  type LlmTestServer,
  startFakeLiteLlm,
  startFakeSupabaseAuth,
  startLlmTestServer,
} from '@hearth/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, startBackend } from '../support/agent-backends';
import { supabaseEnv } from '../support/auth-providers';
import { expectHearthError } from '../support/expect-error';
import { offlineResponder } from '../support/offline-responder';
import { chatTurn } from '../support/run-events';
import { PASSWORD, startTestServer, type TestServer, uniqueEmail } from '../support/test-server';

/**
 * The adapters together, as an operator would combine them: every combination that makes sense of
 * auth (built-in | Supabase), agent backend (built-in | Letta) and billing (built-in | LiteLLM; not
 * with Letta, which calls its models itself), each against its fake, on the production store when
 * CI provides one. Each suite of its own covers an adapter in depth; this one proves they compose.
 */
interface Stack {
  name: string;
  auth: 'builtin' | 'supabase';
  agent: 'builtin' | 'letta';
  billing: 'builtin' | 'litellm';
}

const STACKS: Stack[] = [
  { name: 'embedded default', auth: 'builtin', agent: 'builtin', billing: 'builtin' },
  { name: 'Supabase Auth + LiteLLM billing', auth: 'supabase', agent: 'builtin', billing: 'litellm' },
  { name: 'Supabase Auth + Letta', auth: 'supabase', agent: 'letta', billing: 'builtin' },
  { name: 'built-in auth + Letta', auth: 'builtin', agent: 'letta', billing: 'builtin' },
];

const databases = testDatabases();
const production: StoreLocation = (databases.find((db) => db.name === 'postgres') ?? databases[0])?.location ?? {
  kind: 'pglite-memory',
};

describe.each(STACKS)('the API contract on $name', (stack) => {
  let supabase: FakeSupabaseAuth | null = null;
  let litellm: FakeLiteLlm | null = null;
  let llm: LlmTestServer | null = null;
  let backend: Backend;
  let server: TestServer;

  beforeAll(async () => {
    backend = await startBackend(stack.agent, 'offline');
    const env: Record<string, string> = { ...backend.server.env, DEFAULT_BUDGET_USD: '5' };
    if (stack.auth === 'supabase') {
      supabase = await startFakeSupabaseAuth();
      Object.assign(env, supabaseEnv(supabase));
    }
    if (stack.billing === 'litellm') {
      llm = await startLlmTestServer({ respond: offlineResponder, tokenIntervalMs: 1 });
      litellm = await startFakeLiteLlm({ masterKey: 'sk-master', upstreamUrl: llm.url, costPerCallUsd: 0.01 });
      Object.assign(env, {
        BILLING: 'litellm',
        LITELLM_URL: litellm.url,
        LITELLM_MASTER_KEY: 'sk-master',
        LLM_MODEL: 'test-model',
      });
    }
    server = await startTestServer({
      store: stack.name === 'embedded default' ? { kind: 'pglite-memory' } : production,
      env,
      ...(backend.server.llm ? { llm: backend.server.llm } : {}),
    });
  });
  afterEach(() => {
    backend.assertClean();
    supabase?.contract.assertClean();
  });
  afterAll(async () => {
    await server?.close();
    await backend?.close();
    await supabase?.close();
    await litellm?.close();
    await llm?.close();
  });

  it('signs up, chats with a memory that carries across conversations, accounts for it, and signs out', async () => {
    const client = server.client();
    const email = uniqueEmail('stack');
    const { user, session } = await client.auth.register.mutate({ email, password: PASSWORD, displayName: 'Ada' });
    expect(await client.auth.me.query()).toMatchObject({ id: user.id, email });
    if (supabase) {
      // Supabase issued the session: its user is Hearth's user.
      const claims = JSON.parse(Buffer.from(session.accessToken.split('.')[1] ?? '', 'base64url').toString());
      expect(claims).toMatchObject({ iss: supabase.issuer, sub: user.id });
    }

    const first = await chatTurn(client, 'Hi! My name is Ada.');
    expect(first.terminal).toMatchObject({ type: 'run.completed' });
    expect(first.events.map((e) => e.data.type)).toContain('memory.updated');
    const other = await client.chat.createConversation.mutate({ title: 'Later' });
    expect((await chatTurn(client, "What's my name?", other.id)).text).toBe('Your name is Ada.');
    const human = (await client.agent.memory.query()).blocks.find((block) => block.label === 'human');
    expect(human?.value).toContain('Ada');

    const { messages } = await client.chat.history.query({ conversationId: other.id });
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    const usage = await client.user.usage.query({});
    expect(usage.totals.requests).toBeGreaterThan(0);
    if (litellm) expect(litellm.spendLogs.filter((log) => log.user === user.id).length).toBe(usage.totals.requests);
    expect(await client.user.budget.query()).toMatchObject({ limitUsd: 5 });
    expect((await client.user.health.query()).status).toBe('ok');

    const token = client.session?.accessToken ?? '';
    await client.auth.logout.mutate();
    const after = await fetch(`${server.url}/trpc/auth.me`, { headers: { authorization: `Bearer ${token}` } });
    expect(after.status).toBe(401);
  });

  it('keeps each user to their own agent and data', async () => {
    const ada = server.client();
    await ada.auth.register.mutate({ email: uniqueEmail('ada'), password: PASSWORD });
    const bob = server.client();
    await bob.auth.register.mutate({ email: uniqueEmail('bob'), password: PASSWORD });
    const adaTurn = await chatTurn(ada, 'My name is Ada');
    await expectHearthError(bob.chat.history.query({ conversationId: adaTurn.sent.conversationId }), 'NOT_FOUND');
    await expectHearthError(bob.chat.cancel.mutate({ runId: adaTurn.sent.runId }), 'NOT_FOUND');
    const bobHuman = (await bob.agent.memory.query()).blocks.find((block) => block.label === 'human');
    expect(bobHuman?.value ?? '').not.toContain('Ada');
  });

  it('answers /readyz naming every upstream it depends on', async () => {
    const ready = (await (await fetch(`${server.url}/readyz`)).json()) as { status: string; checks: object };
    expect(ready.status).toBe('ready');
    const names = Object.keys(ready.checks);
    expect(names).toContain('store');
    if (stack.auth === 'supabase') expect(names).toContain('supabase-auth');
    if (stack.agent === 'letta') expect(names).toContain('letta');
    if (stack.billing === 'litellm') expect(names).toContain('litellm');
  });
});
