import { describe, expect, it } from 'vitest';
import type { ModelPrice } from '../billing/model-price';
import { DEFAULT_BLOCK_LIMIT } from '../domain/default-blocks';
import { isAppError } from '../domain/errors';
import { SUMMARIZER_INSTRUCTIONS } from '../llm/summarizer-instructions';
import type { AgentTurn, TurnEvent } from '../ports/agent-runtime';
import { InMemoryAgentStore, InMemoryLedger, ScriptedLlm, TestClock } from '../testing';
import { BuiltinAgentRuntime, type BuiltinRuntimeOptions } from './builtin-agent-runtime';

const MODEL = 'test-model';
// 1 µ$ per prompt token, 2 µ$ per output token: costs in these tests are easy to work out.
const PRICE: ModelPrice = {
  inputUsdPerToken: 0.000_001,
  outputUsdPerToken: 0.000_002,
  contextWindow: 8_192,
  maxOutputTokens: 4_096,
};

function setup(options: Partial<BuiltinRuntimeOptions> = {}) {
  const clock = new TestClock(new Date('2026-03-02T10:00:00Z'));
  const store = new InMemoryAgentStore(clock);
  const ledger = new InMemoryLedger({ prices: PRICE, clock });
  const llm = new ScriptedLlm(MODEL);
  const runtime = new BuiltinAgentRuntime({
    store,
    llm,
    ledger,
    maxSteps: 4,
    contextWindow: 8_192,
    maxOutputTokens: 4_096,
    ...options,
  });
  const events: TurnEvent[] = [];
  const saved: Array<{ summary: string; throughSeq: number }> = [];
  let runs = 0;
  const turn = (userMessage: string, overrides: Partial<AgentTurn> = {}): AgentTurn => {
    runs += 1;
    return {
      userId: 'user-1',
      conversationId: 'conversation-1',
      runId: `run-${runs}`,
      userMessageId: `message-${runs}`,
      model: MODEL,
      history: [],
      summary: null,
      saveSummary: async (summary, throughSeq) => void saved.push({ summary, throughSeq }),
      userMessage,
      accepted: Promise.resolve(true),
      signal: new AbortController().signal,
      emit: (event) => void events.push(event),
      ...overrides,
    };
  };
  const ofType = <T extends TurnEvent['type']>(type: T) =>
    events.filter((event): event is Extract<TurnEvent, { type: T }> => event.type === type);
  return { clock, store, ledger, llm, runtime, events, saved, turn, ofType };
}

const human = async (store: InMemoryAgentStore) => {
  const agent = await store.find('user-1');
  return (await store.blocks(agent?.id ?? '')).find((block) => block.label === 'human');
};

describe('BuiltinAgentRuntime', () => {
  it('streams the answer as text deltas and returns what the step cost', async () => {
    const { runtime, llm, ledger, ofType, turn } = setup();
    llm.enqueue({ text: 'Hello there, Ada.', usage: { promptTokens: 100, completionTokens: 5 } });
    const { usage } = await runtime.runTurn(turn('Hi!'));

    const deltas = ofType('text.delta').map((event) => event.text);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('Hello there, Ada.');
    // 100 prompt tokens at 1 µ$ and 5 output tokens at 2 µ$.
    expect(usage).toEqual({ promptTokens: 100, completionTokens: 5, costUsd: 0.00011 });
    expect(ofType('usage')).toEqual([{ type: 'usage', promptTokens: 100, completionTokens: 5, costUsd: 0.00011 }]);
    expect(await ledger.budget('user-1')).toMatchObject({ spentMicros: 110, reservedMicros: 0 });
    expect(ledger.openReservations).toBe(0);

    const [request] = llm.requests;
    expect(request?.model).toBe(MODEL);
    expect(request?.messages[0]?.role).toBe('system');
    expect(request?.messages[0]?.content).toContain('<persona>');
    expect(request?.messages.at(-1)).toEqual({ role: 'user', content: 'Hi!' });
    expect(request?.tools?.map((tool) => tool.name)).toContain('memory_insert');
  });

  it('applies a memory tool call: the block changes, the events say so, and the version is the agent’s in this run', async () => {
    const { runtime, llm, store, events, ofType, turn } = setup();
    llm.enqueue(
      { toolCalls: [{ id: 'call-1', name: 'memory_insert', arguments: { label: 'human', new_string: 'Name: Ada' } }] },
      { text: 'Nice to meet you, Ada.' },
    );
    await runtime.runTurn(turn('My name is Ada.'));

    expect(events.map((event) => event.type).filter((type) => type !== 'usage' && type !== 'text.delta')).toEqual([
      'tool.call',
      'tool.result',
      'memory.updated',
    ]);
    expect(ofType('tool.call')).toEqual([
      {
        type: 'tool.call',
        callId: 'call-1',
        name: 'memory_insert',
        arguments: { label: 'human', new_string: 'Name: Ada' },
      },
    ]);
    expect(ofType('tool.result')).toEqual([
      {
        type: 'tool.result',
        callId: 'call-1',
        name: 'memory_insert',
        ok: true,
        result: { label: 'human', chars: 9, limit: DEFAULT_BLOCK_LIMIT },
      },
    ]);
    const [updated] = ofType('memory.updated');
    expect(updated?.block).toMatchObject({ label: 'human', value: 'Name: Ada', updatedBy: 'agent' });
    expect((await human(store))?.value).toBe('Name: Ada');

    const version = await store.versions.find('user-1', updated?.versionId ?? '');
    expect(version).toMatchObject({
      label: 'human',
      value: 'Name: Ada',
      previousValue: '',
      updatedBy: 'agent',
      runId: 'run-1',
      messageId: 'message-1',
    });
    // Newest first, after the two default blocks' first versions.
    const history = await runtime.memoryHistory('user-1', { limit: 10 });
    expect(history.versions.map((v) => [v.label, v.updatedBy])).toEqual([
      ['human', 'agent'],
      ['human', 'system'],
      ['persona', 'system'],
    ]);

    // The next step sees the edit in its system prompt, and the tool's result after its call.
    const second = llm.requests[1];
    expect(second?.messages[0]?.content).toContain('Name: Ada');
    expect(second?.messages.at(-1)).toMatchObject({ role: 'tool', toolCallId: 'call-1' });
    expect(
      ofType('text.delta')
        .map((event) => event.text)
        .join(''),
    ).toBe('Nice to meet you, Ada.');
  });

  it('answers a value over the block’s limit with ok:false, leaving the block as it was', async () => {
    const { runtime, llm, store, ofType, turn } = setup();
    const tooLong = 'x'.repeat(DEFAULT_BLOCK_LIMIT + 1);
    llm.enqueue(
      { toolCalls: [{ id: 'call-1', name: 'memory_insert', arguments: { label: 'human', new_string: tooLong } }] },
      { text: 'That was too much to remember.' },
    );
    await runtime.runTurn(turn('Remember all of this.'));

    const [result] = ofType('tool.result');
    expect(result).toMatchObject({
      callId: 'call-1',
      ok: false,
      result: {
        error: `The "human" block holds at most ${DEFAULT_BLOCK_LIMIT} characters; this value has ${DEFAULT_BLOCK_LIMIT + 1}.`,
      },
    });
    expect(ofType('memory.updated')).toEqual([]);
    expect((await human(store))?.value).toBe('');
    expect((await store.versions.page('user-1', { label: 'human', limit: 10 })).versions).toHaveLength(1);
  });

  it('refuses a turn the budget cannot pay with BUDGET_EXCEEDED, before any model call', async () => {
    const { runtime, llm, ledger, events, turn } = setup();
    await ledger.setOperatorBudget('user-1', { limitMicros: 50, period: 'month' });
    llm.enqueue({ text: 'never sent' });
    const refused = await runtime.runTurn(turn('Hi!')).catch((error: unknown) => error);

    expect(isAppError(refused, 'BUDGET_EXCEEDED')).toBe(true);
    expect(isAppError(refused) && refused.data.remainingUsd).toBe(0.00005);
    expect(llm.requests).toHaveLength(0);
    expect(events).toEqual([]);
    expect(await ledger.budget('user-1')).toMatchObject({ spentMicros: 0, reservedMicros: 0 });
  });

  it('never spends past the limit, however long the model would go on, and then refuses', async () => {
    const limitMicros = 6_000;
    const { runtime, llm, ledger, ofType, turn } = setup({ outputSliceTokens: 32 });
    await ledger.setOperatorBudget('user-1', { limitMicros, period: 'month' });
    const long = Array.from({ length: 3_000 }, (_, i) => (i === 0 ? 'go' : ' go'));
    // A provider that ignores max_tokens and writes far more than the budget pays for.
    const flood = () => ({ text: long, ignoreMaxTokens: true, usage: null });
    let refused: unknown;
    for (let i = 0; i < 20 && refused === undefined; i += 1) {
      llm.enqueue(flood());
      refused = await runtime.runTurn(turn(`turn ${i}`)).then(
        () => undefined,
        (error: unknown) => error,
      );
      const budget = await ledger.budget('user-1');
      expect(budget.spentMicros).toBeLessThanOrEqual(limitMicros);
      expect(budget.reservedMicros).toBe(0);
    }
    expect(isAppError(refused, 'BUDGET_EXCEEDED')).toBe(true);
    // Every answer was stopped at what its grant paid for, well short of what the model wrote.
    expect(ofType('text.delta').length).toBeLessThan(long.length);
    expect(ofType('text.delta').length).toBeGreaterThan(0);
    expect((await ledger.usage('user-1', {})).totals.costMicros).toBe((await ledger.budget('user-1')).spentMicros);
  });

  it('stops when the turn’s signal aborts, with an AbortError, billing what had arrived', async () => {
    const { runtime, llm, ledger, turn } = setup();
    const controller = new AbortController();
    llm.enqueue({ text: 'one two three four five', stallAfterDeltas: 2 });
    let deltas = 0;
    const events: TurnEvent[] = [];
    const failure = await runtime
      .runTurn(
        turn('Tell me a long story.', {
          signal: controller.signal,
          emit: (event) => {
            events.push(event);
            if (event.type === 'text.delta' && ++deltas === 2) controller.abort();
          },
        }),
      )
      .catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(DOMException);
    expect((failure as DOMException).name).toBe('AbortError');
    expect(llm.requests[0]?.signal.aborted).toBe(true);
    expect(events.filter((event) => event.type === 'text.delta').map((event) => event.text)).toEqual(['one', ' two']);
    // Settled for the prompt and the two words received, the reservation given back.
    const usage = events.find((event) => event.type === 'usage');
    expect(usage).toMatchObject({ completionTokens: 2 });
    expect(await ledger.budget('user-1')).toMatchObject({ reservedMicros: 0 });
    expect((await ledger.budget('user-1')).spentMicros).toBeGreaterThan(0);
  });

  it('bills nothing for a turn whose message was never stored', async () => {
    const { runtime, llm, ledger, turn } = setup();
    llm.enqueue({ text: 'Hello.' });
    await runtime.runTurn(turn('Hi!', { accepted: Promise.resolve(false) }));
    expect(await ledger.budget('user-1')).toMatchObject({ spentMicros: 0, reservedMicros: 0 });
    expect((await ledger.usage('user-1', {})).totals.requests).toBe(0);
    expect(ledger.openReservations).toBe(0);
  });

  it('folds the oldest messages into a summary once the history passes the context window', async () => {
    const { runtime, llm, saved, turn } = setup({ contextWindow: 1_000 });
    const history = Array.from({ length: 10 }, (_, i) => ({
      seq: i + 1,
      role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
      content: `message ${i + 1}: ${'word '.repeat(100)}`,
    }));
    llm.enqueue({ text: 'They talked about words.' }, { text: 'Still here.' });
    await runtime.runTurn(turn('And now?', { history }));

    const [summarize, answer] = llm.requests;
    expect(summarize?.messages[0]).toEqual({ role: 'system', content: SUMMARIZER_INSTRUCTIONS });
    expect(summarize?.messages[1]?.content).toContain('message 1:');
    expect(saved).toHaveLength(1);
    const throughSeq = saved[0]?.throughSeq ?? 0;
    expect(saved[0]?.summary).toBe('They talked about words.');
    expect(throughSeq).toBeGreaterThanOrEqual(1);
    expect(throughSeq).toBeLessThan(10);

    // The answer's prompt: the summary in the system prompt, then only the messages after it.
    expect(answer?.messages[0]?.content).toContain('<conversation_summary>');
    expect(answer?.messages[0]?.content).toContain('They talked about words.');
    const kept = history.filter((message) => message.seq > throughSeq);
    expect(answer?.messages.slice(1).map((m) => m.content)).toEqual([...kept.map((m) => m.content), 'And now?']);
    expect(answer?.messages[1]?.role).toBe('user');
  });
});
