import { randomUUID } from 'node:crypto';
import { type FakeLetta, type LlmTestServer, startFakeLetta, startLlmTestServer } from '@hearth/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ModelPrice } from '../../billing/model-price';
import { DEFAULT_BLOCKS } from '../../domain/default-blocks';
import { isAppError } from '../../domain/errors';
import type { AgentTurn, TurnEvent } from '../../ports/agent-runtime';
import { InMemoryLedger, InMemoryLettaAgentIds, InMemoryMemoryVersions, TestClock } from '../../testing';
import { LettaAgentRuntime } from './letta-agent-runtime';
import { createLettaClient } from './letta-client';

const MODEL = 'openai/test-model';
// 1 µ$ per prompt token, 2 µ$ per output token.
const PRICE: ModelPrice = {
  inputUsdPerToken: 0.000_001,
  outputUsdPerToken: 0.000_002,
  contextWindow: 128_000,
  maxOutputTokens: 1_024,
};

describe('LettaAgentRuntime against the fake Letta', () => {
  let llm: LlmTestServer;
  let letta: FakeLetta;

  beforeAll(async () => {
    llm = await startLlmTestServer();
    letta = await startFakeLetta({ llmUrl: llm.url });
  });
  afterEach(() => {
    llm.reset();
    letta.contract.assertClean();
  });
  afterAll(async () => {
    await letta?.close();
    await llm?.close();
  });

  /** A runtime of its own and a user of its own per test: the fakes' servers are shared. */
  function setup() {
    const clock = new TestClock(new Date('2026-03-02T10:00:00Z'));
    const versions = new InMemoryMemoryVersions();
    const agents = new InMemoryLettaAgentIds(clock);
    const ledger = new InMemoryLedger({ prices: PRICE, clock });
    const runtime = new LettaAgentRuntime({
      client: createLettaClient({ baseUrl: letta.url, apiKey: undefined, timeoutMs: 5_000 }),
      agents,
      versions,
      ledger,
      clock,
      model: MODEL,
      embedding: 'openai/text-embedding-3-small',
      maxSteps: 3,
      maxOutputTokens: 256,
      idleTimeoutMs: 5_000,
    });
    const userId = randomUUID();
    const events: TurnEvent[] = [];
    const turn = (userMessage: string, runId: string = randomUUID()): AgentTurn => ({
      userId,
      conversationId: randomUUID(),
      runId,
      userMessageId: `message-of-${runId}`,
      model: MODEL,
      history: [],
      summary: null,
      saveSummary: async () => {},
      userMessage,
      accepted: Promise.resolve(true),
      signal: new AbortController().signal,
      emit: (event) => void events.push(event),
    });
    const ofType = <T extends TurnEvent['type']>(type: T) =>
      events.filter((event): event is Extract<TurnEvent, { type: T }> => event.type === type);
    const fakeAgent = async () => {
      const agent = letta.agents.get((await runtime.ensureAgent(userId)).agentId);
      if (!agent) throw new Error('the runtime made no agent in the fake Letta');
      return agent;
    };
    return { runtime, versions, agents, ledger, userId, events, turn, ofType, fakeAgent };
  }

  it('streams a turn’s text and bills Letta’s usage', async () => {
    const { runtime, ledger, userId, turn, ofType, fakeAgent } = setup();
    llm.enqueue({ text: 'Hello from the agent.' });
    const { usage } = await runtime.runTurn(turn('Hi there'));

    const deltas = ofType('text.delta').map((event) => event.text);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('Hello from the agent.');
    const agent = await fakeAgent();
    expect(letta.sends.filter((send) => send.agentId === agent.id).map((send) => send.text)).toEqual(['Hi there']);
    expect(usage.promptTokens).toBeGreaterThan(0);
    expect(usage.completionTokens).toBeGreaterThan(0);
    expect(ofType('usage')).toEqual([{ type: 'usage', ...usage }]);
    const cost = usage.promptTokens + 2 * usage.completionTokens;
    expect(usage.costUsd).toBeCloseTo(cost / 1e6, 9);
    expect(await ledger.budget(userId)).toMatchObject({ spentMicros: cost, reservedMicros: 0 });
    // The agent was created with Hearth's default blocks, which are its first versions.
    expect([...agent.blocks.keys()].sort()).toEqual(DEFAULT_BLOCKS.map((block) => block.label).sort());
  });

  it('records a memory edit the agent made in Letta as the agent’s version, in this run', async () => {
    const { runtime, versions, userId, turn, ofType, fakeAgent } = setup();
    llm.enqueue(
      {
        toolCalls: [{ name: 'memory_insert', arguments: JSON.stringify({ label: 'human', new_string: 'Name: Ada' }) }],
      },
      { text: 'Nice to meet you, Ada.' },
    );
    const runId = randomUUID();
    await runtime.runTurn(turn('My name is Ada.', runId));

    expect((await fakeAgent()).blocks.get('human')?.value).toBe('Name: Ada');
    const [updated] = ofType('memory.updated');
    expect(updated?.block).toMatchObject({ label: 'human', value: 'Name: Ada', updatedBy: 'agent' });
    expect(await versions.find(userId, updated?.versionId ?? '')).toMatchObject({
      label: 'human',
      value: 'Name: Ada',
      previousValue: '',
      updatedBy: 'agent',
      runId,
      messageId: `message-of-${runId}`,
    });
    expect(ofType('tool.call').map((event) => event.name)).toEqual(['memory_insert']);
    expect(ofType('tool.result')).toMatchObject([{ name: 'memory_insert', ok: true }]);
    // Read back, the block is the agent's and no further version is recorded.
    const human = (await runtime.memory(userId)).find((block) => block.label === 'human');
    expect(human).toMatchObject({ value: 'Name: Ada', updatedBy: 'agent' });
    expect((await versions.page(userId, { label: 'human', limit: 10 })).versions).toHaveLength(2);
  });

  it('records a block changed in Letta directly as a system version when it is next read', async () => {
    const { runtime, versions, userId, fakeAgent } = setup();
    const block = (await fakeAgent()).blocks.get('human');
    if (!block) throw new Error('no human block');
    block.value = 'Edited in Letta';

    const human = (await runtime.memory(userId)).find((b) => b.label === 'human');
    expect(human).toMatchObject({ value: 'Edited in Letta', updatedBy: 'system' });
    const { versions: history } = await runtime.memoryHistory(userId, { label: 'human', limit: 10 });
    expect(history.map((v) => [v.value, v.previousValue, v.updatedBy])).toEqual([
      ['Edited in Letta', '', 'system'],
      ['', null, 'system'],
    ]);
    // Reading again finds nothing new to record.
    await runtime.memory(userId);
    expect((await versions.page(userId, { label: 'human', limit: 10 })).versions).toHaveLength(2);
  });

  it('refuses a send the budget cannot pay with BUDGET_EXCEEDED, before it reaches Letta', async () => {
    const { runtime, ledger, userId, turn, events, fakeAgent } = setup();
    const agent = await fakeAgent();
    await ledger.setOperatorBudget(userId, { limitMicros: 1_000, period: 'month' });
    const refused = await runtime.runTurn(turn('Hi')).catch((error: unknown) => error);

    expect(isAppError(refused, 'BUDGET_EXCEEDED')).toBe(true);
    expect(letta.sends.filter((send) => send.agentId === agent.id)).toEqual([]);
    expect(llm.callCount).toBe(0);
    expect(events).toEqual([]);
    expect(await ledger.budget(userId)).toMatchObject({ spentMicros: 0, reservedMicros: 0 });
  });
});
