import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { testDatabases } from '@hearth/core/testing';
import { type Conversation, createHearthClient, type HearthClient, type RunEvent } from '@hearth/sdk';
import { type LlmRequestRecord, type LlmTestServer, startLlmTestServer } from '@hearth/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, startBackend } from '../support/agent-backends';
import { dataOf, RestContract } from '../support/rest';
import { collectRun } from '../support/run-events';
import { type Started, startProcess, stop } from '../support/server-process';
import {
  PASSWORD,
  signedInClient,
  startTestServer,
  TEST_JWT_SECRET,
  type TestServer,
  testLlmClient,
  uniqueEmail,
} from '../support/test-server';

const FIRST_MESSAGE = 'Plan a weekend trip to Lisbon with my two sisters in May';
/** The offline model's title: the message's first six words. */
const OFFLINE_TITLE = 'Plan a weekend trip to Lisbon…';

/** Sends into the conversation and follows the run to its end. */
async function turn(client: HearthClient, conversationId: string, text = FIRST_MESSAGE) {
  const sent = await client.chat.send.mutate({ text, conversationId });
  const run = await collectRun(client, sent.runId);
  const data = run.events.map((e) => e.data);
  return { sent, data, terminal: run.terminal as RunEvent };
}

async function conversation(client: HearthClient, id: string): Promise<Conversation | undefined> {
  return (await client.chat.conversations.query({})).conversations.find((c) => c.id === id);
}

/** The conversation's title once it has one (a title may be stored a moment after its run ended). */
async function titleOf(client: HearthClient, id: string): Promise<string | null | undefined> {
  let title: string | null | undefined = null;
  for (let i = 0; i < 60 && !title; i += 1) {
    title = (await conversation(client, id))?.title;
    if (!title) await sleep(50);
  }
  return title;
}

const isTitleRequest = (request: LlmRequestRecord) =>
  JSON.stringify(request.messages[0] ?? '').includes('Write a title for the conversation');

describe.each(testDatabases())('conversation titles with the offline model ($name)', ({ location }) => {
  let server: TestServer;
  let rest: RestContract;

  beforeAll(async () => {
    // Paced so the answer outlasts its title's few words, as a real answer does.
    server = await startTestServer({
      store: location,
      env: { OFFLINE_WORD_DELAY_MS: '10', CONVERSATION_TITLES: 'on' },
    });
    rest = await RestContract.load(server.url);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('titles an untitled conversation after its first answer, tells the client before the run ends, and bills it', async () => {
    const client = await signedInClient(server, 'titles');
    const created = await client.chat.createConversation.mutate({});
    expect(created.title).toBeNull();

    const first = await turn(client, created.id);
    const types = first.data.map((d) => d.type);
    const updated = first.data.find((d) => d.type === 'conversation.updated');
    if (updated?.type !== 'conversation.updated') throw new Error(`no conversation.updated in ${types.join(', ')}`);
    expect(updated.conversation).toMatchObject({ id: created.id, title: OFFLINE_TITLE, model: null });
    // Before the terminal event, which stays last.
    expect(types.indexOf('conversation.updated')).toBeLessThan(types.indexOf('run.completed'));
    expect(types.at(-1)).toBe('run.completed');
    expect((await conversation(client, created.id))?.title).toBe(OFFLINE_TITLE);

    // Billed like any model call: a usage record beside the answer's step.
    const usage = await client.user.usage.query({});
    expect(usage.totals.requests).toBe(2);

    // Titled once: the next answer leaves it, and sends no event.
    const second = await turn(client, created.id, 'And what should we pack?');
    expect(second.data.some((d) => d.type === 'conversation.updated')).toBe(false);
    expect((await client.user.usage.query({})).totals.requests).toBe(3);
    expect((await conversation(client, created.id))?.title).toBe(OFFLINE_TITLE);
  });

  it('never replaces a title the user set', async () => {
    const client = await signedInClient(server, 'titles-own');
    const created = await client.chat.createConversation.mutate({ title: 'My own title' });
    const run = await turn(client, created.id);
    expect(run.terminal.type).toBe('run.completed');
    expect(run.data.some((d) => d.type === 'conversation.updated')).toBe(false);
    expect((await conversation(client, created.id))?.title).toBe('My own title');
    expect((await client.user.usage.query({})).totals.requests).toBe(1);
  });

  it('titles the default conversation too, and sends conversation.updated over REST SSE as a RunEvent', async () => {
    const client = await signedInClient(server, 'titles-rest');
    const token = client.session?.accessToken ?? null;
    const streamed = await rest.stream('POST', '/api/v1/chat/message', { token, body: { text: FIRST_MESSAGE } });
    expect(streamed.status).toBe(200);
    const updated = streamed.events.find((e) => e.event === 'conversation.updated');
    expect(dataOf<{ conversation: { title: string } }>(updated).conversation.title).toBe(OFFLINE_TITLE);
    expect(streamed.events.at(-1)?.event).toBe('run.completed');
  });
});

describe.each(testDatabases())('conversation titles with a real model ($name)', ({ location }) => {
  let llm: LlmTestServer;
  let server: TestServer;
  /** What the title request answers; the answer's requests get `answer`. */
  let title: () => { text?: string; ttftMs?: number; error?: { status: number } };
  // Paced so the answer outlasts its title, as a real answer does.
  const answer = { text: 'Fine, thanks for asking: here is a plan for the weekend.', tokenIntervalMs: 40 };

  beforeAll(async () => {
    llm = await startLlmTestServer({
      respond: (request) => (isTitleRequest(request) ? title() : answer),
    });
    server = await startTestServer({ store: location, llm: testLlmClient(llm), env: { CONVERSATION_TITLES: 'on' } });
  });
  afterEach(() => {
    title = () => ({ text: '"Lisbon weekend trip."' });
  });
  afterAll(async () => {
    await server?.close();
    await llm?.close();
  });

  it('asks the run’s model for a short title and stores it cleaned', async () => {
    title = () => ({ text: '"Lisbon weekend trip."\nA second line' });
    const client = await signedInClient(server, 'titles-llm');
    const created = await client.chat.createConversation.mutate({});
    const before = llm.calls.length;
    const run = await turn(client, created.id);
    const titleCall = llm.calls.slice(before).find(isTitleRequest);
    expect(titleCall?.model).toBe('test-model');
    expect(titleCall?.maxTokens).toBeLessThanOrEqual(24);
    expect(JSON.stringify(titleCall?.messages)).toContain(FIRST_MESSAGE);
    const updated = run.data.find((d) => d.type === 'conversation.updated');
    expect(updated?.type === 'conversation.updated' && updated.conversation.title).toBe('Lisbon weekend trip');
    const byModel = await client.user.usage.query({ groupBy: 'model' });
    expect(byModel.totals.requests).toBe(2);
    expect(byModel.totals.costUsd).toBeGreaterThan(0);
  });

  it('a title that fails is no title, and the run completes', async () => {
    title = () => ({ error: { status: 500 } });
    const client = await signedInClient(server, 'titles-fail');
    const created = await client.chat.createConversation.mutate({});
    const run = await turn(client, created.id);
    expect(run.terminal.type).toBe('run.completed');
    expect(run.data.some((d) => d.type === 'conversation.updated')).toBe(false);
    expect((await conversation(client, created.id))?.title).toBeNull();
  });

  it('a title slower than the answer is stored after the run, without an event; a rename meanwhile wins', async () => {
    title = () => ({ text: 'Late title', ttftMs: 600 });
    const client = await signedInClient(server, 'titles-late');
    const late = await client.chat.createConversation.mutate({});
    const run = await turn(client, late.id);
    expect(run.terminal.type).toBe('run.completed');
    expect(run.data.some((d) => d.type === 'conversation.updated')).toBe(false);
    expect(await titleOf(client, late.id)).toBe('Late title');

    const renamed = await client.chat.createConversation.mutate({});
    const second = await turn(client, renamed.id);
    expect(second.terminal.type).toBe('run.completed');
    await client.chat.renameConversation.mutate({ conversationId: renamed.id, title: 'Chosen by me' });
    await sleep(900);
    expect((await conversation(client, renamed.id))?.title).toBe('Chosen by me');
  });

  it('no title when the budget cannot cover it, and the answer is not failed for it', async () => {
    const client = await signedInClient(server, 'titles-budget');
    // Calibrate: what the answer's first step reserves under a limit (a first slice of output), in a
    // titled conversation (no title call).
    await client.user.setBudget.mutate({ limitUsd: 1, period: 'month' });
    const probeConversation = await client.chat.createConversation.mutate({ title: 'probe' });
    const slow = { text: 'fine thanks', ttftMs: 400 };
    llm.enqueue(slow);
    const probe = await client.chat.send.mutate({ text: FIRST_MESSAGE, conversationId: probeConversation.id });
    await sleep(200);
    const reserved = (await client.user.budget.query()).reservedUsd;
    await collectRun(client, probe.runId);
    const spent = (await client.user.budget.query()).spentUsd;
    expect(reserved).toBeGreaterThan(0);
    // Room for the answer's reservation and less than a title's smallest (its prompt + 16 tokens).
    await client.user.setBudget.mutate({ limitUsd: Number((spent + reserved + 0.000_02).toFixed(6)), period: 'month' });

    const created = await client.chat.createConversation.mutate({});
    const before = llm.calls.length;
    // The answer holds its reservation while the title asks for one.
    llm.enqueue({ text: 'fine thanks', tokenIntervalMs: 300 });
    const run = await turn(client, created.id);
    expect(run.terminal.type).toBe('run.completed');
    expect(run.data.some((d) => d.type === 'conversation.updated')).toBe(false);
    expect(llm.calls.slice(before).filter(isTitleRequest)).toEqual([]);
    expect((await conversation(client, created.id))?.title).toBeNull();
  });
});

describe.each(testDatabases())('conversation titles on Letta ($name)', ({ location }) => {
  let backend: Backend;
  let server: TestServer;

  beforeAll(async () => {
    backend = await startBackend('letta', 'offline');
    server = await startTestServer({ store: location, env: { ...backend.server.env, CONVERSATION_TITLES: 'on' } });
  });
  afterEach(() => backend.assertClean());
  afterAll(async () => {
    await server?.close();
    await backend?.close();
  });

  it('titles with Hearth’s own model client, here the deterministic offline one, billed as such', async () => {
    const client = await signedInClient(server, 'titles-letta');
    const created = await client.chat.createConversation.mutate({});
    const run = await turn(client, created.id);
    expect(run.terminal.type).toBe('run.completed');
    expect(await titleOf(client, created.id)).toBe(OFFLINE_TITLE);
    const usage = await client.user.usage.query({ groupBy: 'model' });
    expect(usage.buckets.map((b) => b.key).sort()).toEqual(['hearth/offline', 'openai/test-model']);
    // The title is Hearth's call, not a message to the agent.
    expect(backend.letta?.sends.map((send) => send.text)).toEqual([FIRST_MESSAGE]);
  });
});

const postgres = testDatabases().find((db) => db.name === 'postgres');

// A title outlives its run; its process killed mid-title on a shared PostgreSQL, another instance
// settles the title's reservation within the orphan sweep's 15 s, as it does a dead run's.
describe.skipIf(!postgres)('a title left unfinished by a killed instance (postgres)', () => {
  let llm: LlmTestServer;
  let dataDir: string;
  let killedServer: Started | undefined;
  let survivor: TestServer | undefined;

  beforeAll(async () => {
    // The title never comes: its request stays open until the process dies.
    llm = await startLlmTestServer({
      respond: (request) =>
        isTitleRequest(request) ? { text: 'never', stallAfterTokens: 0 } : { text: 'fine thanks' },
    });
    dataDir = mkdtempSync(join(tmpdir(), 'hearth-titles-'));
  });
  afterAll(async () => {
    const child = killedServer?.child;
    if (child && child.exitCode === null && child.signalCode === null) await stop(child);
    await survivor?.close();
    await llm?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('settles the title’s reservation from another instance, and the run stays completed', async () => {
    if (postgres?.location.kind !== 'postgres') throw new Error('needs TEST_DATABASE_URL');
    killedServer = await startProcess({
      DATABASE_URL: postgres.location.url,
      HEARTH_DATA_DIR: dataDir,
      JWT_SECRET: TEST_JWT_SECRET,
      LLM_BASE_URL: llm.url,
      LLM_MODEL: 'test-model',
      MODEL_PRICES_FILE: fileURLToPath(new URL('../fixtures/model-prices.json', import.meta.url)),
      CONVERSATION_TITLES: 'on',
    });
    const client = createHearthClient({ url: killedServer.url });
    await client.auth.register.mutate({ email: uniqueEmail('titles-killed'), password: PASSWORD });
    await client.user.setBudget.mutate({ limitUsd: 1, period: 'month' });
    const created = await client.chat.createConversation.mutate({});
    const run = await turn(client, created.id);
    expect(run.terminal.type).toBe('run.completed');
    // The answer is settled; the title's step holds its reservation.
    let reserved = 0;
    for (let i = 0; i < 40 && reserved === 0; i += 1) {
      reserved = (await client.user.budget.query()).reservedUsd;
      if (reserved === 0) await sleep(50);
    }
    expect(reserved).toBeGreaterThan(0);
    await new Promise<void>((resolve) => {
      killedServer?.child.once('exit', () => resolve());
      killedServer?.child.kill('SIGKILL');
    });

    survivor = await startTestServer({ store: postgres.location });
    const again = createHearthClient({ url: survivor.url, session: client.session });
    const deadline = Date.now() + 20_000;
    let budget = await again.user.budget.query();
    while (budget.reservedUsd > 0 && Date.now() < deadline) {
      await sleep(500);
      budget = await again.user.budget.query();
    }
    expect(budget.reservedUsd).toBe(0);
    // Billed for what it was sent (its prompt), as a dead run's step is; no title, the run as it ended.
    expect((await again.user.usage.query({})).totals.requests).toBe(2);
    expect((await conversation(again, created.id))?.title).toBeNull();
    expect((await again.chat.history.query({ conversationId: created.id })).messages.map((m) => m.status)).toEqual([
      'complete',
      'complete',
    ]);
  }, 60_000);
});
