import { describe, expect, it } from 'vitest';
import type { Grant, Ledger } from '../ports/ledger';
import type { LlmClient, LlmRequest, LlmStreamEvent } from '../ports/llm-client';
import { meteredStep, type StepRequest } from './metered-step';

/** A provider that ignores max_tokens: it streams every event, and notes whether it was aborted. */
function floodingModel(events: LlmStreamEvent[]) {
  const seen: { request?: LlmRequest; yielded: number } = { yielded: 0 };
  const llm: LlmClient = {
    defaultModel: 'm',
    isOffline: false,
    probe: async () => true,
    async *stream(request) {
      seen.request = request;
      for (const event of events) {
        if (request.signal.aborted) return;
        seen.yielded += 1;
        yield event;
      }
    },
  };
  return { llm, seen };
}

/** A ledger that grants `first` output tokens, then extensions while `spare` tokens last. */
function ledgerWith(first: number, ceiling: number, spare: number) {
  const settled: Array<{ grant: Grant; completionTokens: number }> = [];
  let left = spare;
  const ledger = {
    reserve: async (request) => ({
      id: 'g',
      userId: request.userId,
      runId: null,
      model: request.model,
      amountMicros: first,
      maxOutputTokens: first,
      outputCeiling: ceiling,
      steps: 1,
    }),
    extend: async (grant: Grant, tokens: number) => {
      const added = Math.min(tokens, left, grant.outputCeiling - grant.maxOutputTokens);
      left -= added;
      return { ...grant, amountMicros: grant.amountMicros + added, maxOutputTokens: grant.maxOutputTokens + added };
    },
    settle: async (grant: Grant, used: { completionTokens: number }) => {
      settled.push({ grant, completionTokens: used.completionTokens });
      return { costMicros: Math.min(used.completionTokens, grant.amountMicros) };
    },
    progress: async () => {},
  } as Pick<Ledger, 'reserve' | 'extend' | 'settle' | 'progress'> as Ledger;
  return { ledger, settled };
}

const words = (n: number): LlmStreamEvent[] =>
  Array.from({ length: n }, (_, i) => ({ type: 'text' as const, text: i === 0 ? 'go' : ' go' }));

const request = (sliceTokens?: number): StepRequest => ({
  userId: 'u',
  runId: null,
  model: 'm',
  messages: [{ role: 'user', content: 'hi' }],
  maxOutputTokens: 1_000,
  sliceTokens,
  signal: new AbortController().signal,
  accepted: Promise.resolve(true),
});

const ignore = () => {};
const step = (llm: LlmClient, ledger: Ledger, stepRequest: StepRequest) =>
  meteredStep(llm, ledger, stepRequest, ignore, ignore);

describe('meteredStep', () => {
  it('stops a step reserved whole at its grant, aborting the request', async () => {
    const { llm, seen } = floodingModel(words(500));
    const { ledger, settled } = ledgerWith(40, 40, 0);
    const result = await step(llm, ledger, request());
    expect(result).toMatchObject({ cut: true, calls: [] });
    expect(result.text).toBe(`go${' go'.repeat(39)}`);
    expect(seen.request?.maxTokens).toBe(40);
    expect(seen.request?.signal.aborted).toBe(true);
    expect(seen.yielded).toBe(41);
    expect(settled).toEqual([{ grant: expect.objectContaining({ amountMicros: 40 }), completionTokens: 40 }]);
  });

  it('extends slice by slice, asks for the ceiling as max_tokens, and stops where the ledger gives no more', async () => {
    const { llm, seen } = floodingModel(words(500));
    const { ledger, settled } = ledgerWith(20, 400, 70);
    const result = await step(llm, ledger, request(20));
    expect(seen.request?.maxTokens).toBe(400);
    expect(result.cut).toBe(true);
    expect(result.text.split(' ')).toHaveLength(90);
    expect(settled[0]).toMatchObject({ grant: { maxOutputTokens: 90 }, completionTokens: 90 });
  });

  it('counts tool-call pieces as they arrive, and drops a call cut off mid-way', async () => {
    const args = Array.from({ length: 100 }, () => ({ type: 'tool_call_delta' as const, text: ' go' }));
    const { llm } = floodingModel([
      ...words(5),
      ...args,
      { type: 'tool_calls', calls: [{ id: 'c', name: 'f', arguments: '{}' }] },
    ]);
    const { ledger, settled } = ledgerWith(30, 30, 0);
    const result = await step(llm, ledger, request(10));
    expect(result).toMatchObject({ cut: true, calls: [], text: 'go go go go go' });
    expect(settled[0]?.completionTokens).toBeLessThanOrEqual(30);
  });

  it('runs an answer that fits to its end, uncut', async () => {
    const { llm } = floodingModel([...words(30), { type: 'finish', reason: 'stop' }]);
    const { ledger } = ledgerWith(16, 1_000, 1_000);
    const result = await step(llm, ledger, request(16));
    expect(result.cut).toBe(false);
    expect(result.text.split(' ')).toHaveLength(30);
  });
});
