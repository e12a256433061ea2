import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuthStore } from '../auth/builtin/auth-store';
import type { MemoryBlock, RunEvent } from '../domain/chat';
import { AppError } from '../domain/errors';
import type { AuthenticatedUser } from '../domain/user';
import { MemoryRateLimiter } from '../memory/memory-rate-limiter';
import { MemoryStreamSlots } from '../memory/memory-stream-slots';
import { RunHub } from '../memory/run-hub';
import type { AgentInfo, AgentRuntime, AgentTurn } from '../ports/agent-runtime';
import type { StreamedEvent } from '../ports/chat';
import { systemClock } from '../ports/clock';
import type { ConversationRepository } from '../ports/conversation-repository';
import type { MessageRepository } from '../ports/message-repository';
import type { RunRepository } from '../ports/run-repository';
import { singleProcessSignals } from '../ports/run-signals';
import { openStore, type Store } from '../store/database';
import { migrateStore } from '../store/migrate';
import { DrizzleChatStore } from '../store/repositories/chat-store';
import { InMemoryChatStore } from '../testing/in-memory-chat-store';
import { ChatService, type ChatServiceOptions } from './chat-service';
import { ModelCatalog } from './model-catalog';

/** What a scripted turn does: write these deltas, then end (or throw), optionally waiting on `gate` first. */
interface TurnPlan {
  deltas: string[];
  gate?: Promise<void>;
  fail?: Error;
}

/** An agent runtime whose turns follow a script, recording what each turn was given. */
class ScriptedRuntime implements AgentRuntime {
  readonly backend = 'builtin' as const;
  readonly modelPerAgent = false;
  readonly turns: AgentTurn[] = [];
  private readonly plans: TurnPlan[] = [];
  private readonly agent: AgentInfo = {
    agentId: 'agent-1',
    model: 'm-small',
    createdAt: new Date(),
    lastActiveAt: new Date(),
  };

  plan(...plans: TurnPlan[]): void {
    this.plans.push(...plans);
  }

  async runTurn(turn: AgentTurn) {
    this.turns.push(turn);
    const plan = this.plans.shift() ?? { deltas: ['ok'] };
    for (const [index, text] of plan.deltas.entries()) {
      if (index === 1 && plan.gate) await abortable(plan.gate, turn.signal);
      turn.signal.throwIfAborted();
      turn.emit({ type: 'text.delta', text });
    }
    if (plan.deltas.length < 2 && plan.gate) await abortable(plan.gate, turn.signal);
    if (plan.fail) throw plan.fail;
    return { usage: { promptTokens: 10, completionTokens: plan.deltas.length, costUsd: 0.001 } };
  }

  async setModel(): Promise<AgentInfo> {
    throw new AppError('INVALID_INPUT', 'not here');
  }
  async findAgent() {
    return this.agent;
  }
  async ensureAgent() {
    return this.agent;
  }
  async memory(): Promise<MemoryBlock[]> {
    return [];
  }
  async updateMemory(): Promise<never> {
    throw new Error('not used');
  }
  async memoryHistory() {
    return { versions: [], nextCursor: null };
  }
  async memoryVersion() {
    return null;
  }
  async resetMemory() {}
  async archival() {
    return { passages: [], nextCursor: null };
  }
  async deleteArchival() {}
  async deleteAgent() {}
  async resetMessages() {}
}

function abortable(gate: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    gate.then(resolve, reject);
  });
}

function deferred() {
  let open = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

const price = { inputUsdPerToken: 1e-6, outputUsdPerToken: 2e-6, contextWindow: 8_000, maxOutputTokens: 1_000 };
let alice: AuthenticatedUser;
let bob: AuthenticatedUser;
/** The repositories under the service: the in-memory adapter, and the Drizzle one it stands in for. */
let repositories: () => ConversationRepository & MessageRepository & RunRepository;

const userFor = (id: string, email: string): AuthenticatedUser => ({
  id,
  email,
  role: 'user',
  sessionId: `s-${email}`,
});

function build(overrides: Partial<ChatServiceOptions> = {}) {
  const store = repositories();
  const runtime = new ScriptedRuntime();
  const hub = new RunHub(60_000);
  const warnings: object[] = [];
  const chat = new ChatService({
    conversations: store,
    messages: store,
    runs: store,
    hub,
    runtime,
    clock: { now: () => new Date() },
    logger: { info: () => {}, warn: (fields) => warnings.push(fields), error: (fields) => warnings.push(fields) },
    models: new ModelCatalog([
      { id: 'm-small', price },
      { id: 'm-large', price: { ...price, outputUsdPerToken: 4e-6 } },
    ]),
    historyLimit: 50,
    deltaBatchMs: 0,
    signals: singleProcessSignals,
    streamSlots: new MemoryStreamSlots({ perUser: 3, perRun: 2 }),
    ...overrides,
  });
  return { chat, store, runtime, hub, warnings };
}

async function collect(stream: AsyncIterable<StreamedEvent>): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  for await (const { event } of stream) events.push(event);
  return events;
}

const follow = (chat: ChatService, user: AuthenticatedUser, runId: string, lastEventId?: string) =>
  chat.events(user, runId, lastEventId, new AbortController().signal).then(collect);

const textOf = (events: RunEvent[]) =>
  events.flatMap((event) => (event.type === 'text.delta' ? [event.text] : [])).join('');

describe.each(['in-memory', 'drizzle'] as const)('ChatService on %s repositories', (kind) => {
  let database: Store | null = null;

  beforeAll(async () => {
    if (kind === 'in-memory') {
      alice = userFor('00000000-0000-4000-8000-00000000000a', 'a@example.com');
      bob = userFor('00000000-0000-4000-8000-00000000000b', 'b@example.com');
      repositories = () => new InMemoryChatStore();
      return;
    }
    // The same behaviour from the adapter the in-memory one stands in for, so the two cannot drift apart.
    const location = { kind: 'pglite-memory' } as const;
    const opened = await openStore(location);
    database = opened;
    await migrateStore(opened, location);
    repositories = () => new DrizzleChatStore(opened.db, systemClock);
  });
  afterAll(() => database?.close());

  // Each test its own users: the Drizzle store is shared by the suite, and a default conversation is per user.
  beforeEach(async () => {
    if (!database) return;
    const accounts = new AuthStore(database.db);
    const created = await Promise.all(
      [0, 1].map(() =>
        accounts.createUser({ email: `${crypto.randomUUID()}@example.com`, passwordHash: 'h', displayName: null }),
      ),
    );
    const [a, b] = created;
    if (!a || !b) throw new Error('users were not created');
    alice = userFor(a.id, a.email);
    bob = userFor(b.id, b.email);
  });

  it('streams a turn and stores the question and the answer', async () => {
    const { chat, runtime } = build();
    runtime.plan({ deltas: ['Hel', 'lo'] });
    const started = await chat.send(alice, { text: 'hi there' });
    const events = await follow(chat, alice, started.runId);

    expect(events[0]).toMatchObject({ type: 'run.started', runId: started.runId, model: 'm-small' });
    expect(textOf(events)).toBe('Hello');
    expect(events.at(-1)).toMatchObject({ type: 'run.completed', message: { role: 'assistant', content: 'Hello' } });
    const { messages } = await chat.history(alice, { conversationId: started.conversationId, limit: 10 });
    expect(messages.map((message) => [message.role, message.content])).toEqual([
      ['user', 'hi there'],
      ['assistant', 'Hello'],
    ]);
    expect(runtime.turns[0]).toMatchObject({ userMessage: 'hi there', model: 'm-small', history: [] });
  });

  it('gives the next turn the earlier messages as its history', async () => {
    const { chat, runtime } = build();
    runtime.plan({ deltas: ['first answer'] }, { deltas: ['second answer'] });
    const first = await chat.send(alice, { text: 'one' });
    await follow(chat, alice, first.runId);
    const second = await chat.send(alice, { text: 'two', conversationId: first.conversationId });
    await follow(chat, alice, second.runId);

    expect(runtime.turns[1]?.history.map((message) => message.content)).toEqual(['one', 'first answer']);
  });

  it('answers a repeated clientMessageId with the first run, and refuses it with another text', async () => {
    const { chat, runtime } = build();
    const clientMessageId = '11111111-1111-4111-8111-111111111111';
    const first = await chat.send(alice, { text: 'once', clientMessageId });
    await follow(chat, alice, first.runId);
    const again = await chat.send(alice, { text: 'once', clientMessageId });

    expect(again.runId).toBe(first.runId);
    await expect(chat.send(alice, { text: 'other', clientMessageId })).rejects.toMatchObject({
      appCode: 'INVALID_INPUT',
      data: { fieldErrors: { clientMessageId: expect.any(Array) } },
    });
    expect(runtime.turns).toHaveLength(1);
  });

  it('refuses a second send into a conversation that is still answering, and stores nothing for it', async () => {
    const { chat, runtime, store } = build();
    const gate = deferred();
    runtime.plan({ deltas: ['a', 'b'], gate: gate.promise });
    const first = await chat.send(alice, { text: 'slow' });

    await expect(chat.send(alice, { text: 'again', conversationId: first.conversationId })).rejects.toMatchObject({
      appCode: 'RUN_ACTIVE',
    });
    gate.open();
    await follow(chat, alice, first.runId);
    expect(await store.countMessages(alice.id)).toBe(2);
  });

  it('cancels a run, keeping what it had written as its partial answer', async () => {
    const { chat, runtime } = build();
    const gate = deferred();
    runtime.plan({ deltas: ['partial ', 'never'], gate: gate.promise });
    const started = await chat.send(alice, { text: 'stop me' });
    const stream = chat.events(alice, started.runId, undefined, new AbortController().signal).then(collect);
    // The first delta is out before the turn waits on its gate.
    await waitFor(async () => (await chat.history(alice, { limit: 10 })).messages.length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const cancelled = await chat.cancel(alice, started.runId);
    const events = await stream;

    expect(cancelled).toEqual({ runId: started.runId, status: 'cancelled' });
    expect(events.at(-1)).toMatchObject({
      type: 'run.cancelled',
      partial: { content: 'partial ', status: 'incomplete' },
    });
    expect(textOf(events)).toBe('partial ');
  });

  it('ends a failing turn with a typed run.failed and keeps the partial text', async () => {
    const { chat, runtime } = build();
    runtime.plan({
      deltas: ['so far'],
      fail: new AppError('UPSTREAM_UNAVAILABLE', 'The model is down.', { retryable: true }),
    });
    const started = await chat.send(alice, { text: 'fail please' });
    const events = await follow(chat, alice, started.runId);

    expect(events.at(-1)).toMatchObject({
      type: 'run.failed',
      appCode: 'UPSTREAM_UNAVAILABLE',
      retryable: true,
      partial: { content: 'so far' },
    });
    const { messages } = await chat.history(alice, { conversationId: started.conversationId, limit: 10 });
    expect(messages.at(-1)).toMatchObject({ role: 'assistant', content: 'so far', status: 'incomplete' });
  });

  it('ends a turn that broke unexpectedly as INTERNAL, telling the client nothing of the cause', async () => {
    const { chat, runtime, warnings } = build();
    runtime.plan({ deltas: [], fail: new Error('connection terminated: select * from secrets') });
    const started = await chat.send(alice, { text: 'break' });
    const events = await follow(chat, alice, started.runId);

    expect(events.at(-1)).toEqual({
      type: 'run.failed',
      appCode: 'INTERNAL',
      message: 'The agent failed while answering.',
      retryable: true,
      partial: null,
    });
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings)).not.toContain('break');
  });

  it("keeps users apart: another user's run and conversation do not exist for them", async () => {
    const { chat } = build();
    const started = await chat.send(alice, { text: 'mine' });
    await follow(chat, alice, started.runId);

    await expect(follow(chat, bob, started.runId)).rejects.toMatchObject({ appCode: 'NOT_FOUND' });
    await expect(chat.cancel(bob, started.runId)).rejects.toMatchObject({ appCode: 'NOT_FOUND' });
    await expect(chat.history(bob, { conversationId: started.conversationId, limit: 10 })).rejects.toMatchObject({
      appCode: 'NOT_FOUND',
    });
    await expect(chat.send(bob, { text: 'into hers', conversationId: started.conversationId })).rejects.toMatchObject({
      appCode: 'NOT_FOUND',
    });
  });

  it('resumes a stream after the last event id it saw, with no gap and no duplicate', async () => {
    const { chat, runtime } = build();
    runtime.plan({ deltas: ['a', 'b', 'c', 'd'] });
    const started = await chat.send(alice, { text: 'count' });
    const all: StreamedEvent[] = [];
    for await (const item of await chat.events(alice, started.runId, undefined, new AbortController().signal)) {
      all.push(item);
    }
    const cut = all[2];
    if (!cut) throw new Error('too few events');
    const resumed: RunEvent[] = await follow(chat, alice, started.runId, cut.id);

    expect(resumed).toEqual(all.slice(3).map((item) => item.event));
    await expect(follow(chat, alice, started.runId, 'abc')).rejects.toMatchObject({ appCode: 'INVALID_INPUT' });
  });

  it('regenerates the last answer as a new version beside the old one', async () => {
    const { chat, runtime } = build();
    runtime.plan({ deltas: ['first try'] }, { deltas: ['second try'] });
    const started = await chat.send(alice, { text: 'question' });
    const firstEvents = await follow(chat, alice, started.runId);
    const firstAnswer = firstEvents.at(-1);
    if (firstAnswer?.type !== 'run.completed') throw new Error('the first run did not complete');

    const again = await chat.regenerate(alice, { messageId: firstAnswer.message.id });
    await follow(chat, alice, again.runId);
    const { messages } = await chat.history(alice, { conversationId: started.conversationId, limit: 10 });

    expect(messages.map((message) => message.content)).toEqual(['question', 'second try']);
    expect(messages[1]?.siblingIds).toEqual([firstAnswer.message.id, messages[1]?.id]);
    expect(runtime.turns[1]).toMatchObject({ userMessage: 'question', history: [] });
  });

  it('edits a message into a new branch answered from there; the old branch stays listable', async () => {
    const { chat, runtime } = build();
    runtime.plan({ deltas: ['A1'] }, { deltas: ['A2'] }, { deltas: ['A2 edited'] });
    const first = await chat.send(alice, { text: 'Q1' });
    await follow(chat, alice, first.runId);
    const second = await chat.send(alice, { text: 'Q2', conversationId: first.conversationId });
    await follow(chat, alice, second.runId);

    const edited = await chat.editMessage(alice, { messageId: second.userMessage.id, text: 'Q2 edited' });
    await follow(chat, alice, edited.runId);
    const shown = await chat.history(alice, { conversationId: first.conversationId, limit: 10 });
    expect(shown.messages.map((message) => message.content)).toEqual(['Q1', 'A1', 'Q2 edited', 'A2 edited']);
    expect(runtime.turns[2]?.history.map((message) => message.content)).toEqual(['Q1', 'A1']);

    await chat.switchBranch(alice, second.userMessage.id);
    const old = await chat.history(alice, { conversationId: first.conversationId, limit: 10 });
    expect(old.messages.map((message) => message.content)).toEqual(['Q1', 'A1', 'Q2', 'A2']);
  });

  it('holds each user to their runs at once and their sends per minute (a send refused for the first does not count)', async () => {
    const { chat, runtime } = build({
      limits: {
        rateLimiter: new MemoryRateLimiter({ now: () => new Date() }),
        sendsPerMinute: 2,
        runsPerUser: 1,
        sharedStore: false,
      },
    });
    const gate = deferred();
    runtime.plan({ deltas: ['a', 'b'], gate: gate.promise });
    const first = await chat.send(alice, { text: 'one' });
    await expect(
      chat.send(alice, { text: 'two in another conversation', conversationId: undefined }),
    ).rejects.toMatchObject({
      appCode: 'RATE_LIMITED',
    });
    gate.open();
    await follow(chat, alice, first.runId);

    const second = await chat.send(alice, { text: 'three', conversationId: first.conversationId });
    await follow(chat, alice, second.runId);
    await expect(chat.send(alice, { text: 'four', conversationId: first.conversationId })).rejects.toMatchObject({
      appCode: 'RATE_LIMITED',
      data: { retryAfterSeconds: expect.any(Number) },
    });
  });

  it('caps the streams open at once per run', async () => {
    const { chat, runtime } = build();
    const gate = deferred();
    runtime.plan({ deltas: ['a', 'b'], gate: gate.promise });
    const started = await chat.send(alice, { text: 'watch' });
    const streams = [1, 2].map(() => chat.events(alice, started.runId, undefined, new AbortController().signal));
    await Promise.all(streams);

    await expect(chat.events(alice, started.runId, undefined, new AbortController().signal)).rejects.toMatchObject({
      appCode: 'RATE_LIMITED',
    });
    gate.open();
    await Promise.all(streams.map((stream) => stream.then(collect)));
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 2_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
