import { APIConnectionError, APIConnectionTimeoutError, APIError } from '@letta-ai/letta-client';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../domain/errors';
import type { TurnEvent } from '../../ports/agent-runtime';
import { lettaFailure } from './letta-errors';
import { type LettaChunk, LettaStreamMapper, turnEnd } from './letta-stream-events';

const date = '2026-03-01T12:00:00Z';
const base = (id: string, otid: string) => ({ id, otid, date, run_id: 'run-1' });

function play(chunks: LettaChunk[]) {
  const mapper = new LettaStreamMapper();
  const events: TurnEvent[] = [];
  const edited: string[] = [];
  for (const chunk of chunks) {
    const out = mapper.push(chunk);
    events.push(...out.events);
    if (out.editedBlock) edited.push(out.editedBlock);
  }
  events.push(...mapper.finish());
  return { mapper, events, edited };
}

describe('LettaStreamMapper', () => {
  it('maps reasoning, text deltas, a tool call in fragments and its return, stop reason and usage', () => {
    const { mapper, events, edited } = play([
      { ...base('message-1', 'o-r'), message_type: 'reasoning_message', reasoning: 'The user said ' },
      { ...base('message-1', 'o-r'), message_type: 'reasoning_message', reasoning: 'their name.' },
      {
        ...base('message-2', 'o-c'),
        message_type: 'tool_call_message',
        tool_call: { name: 'memory_insert', arguments: '', tool_call_id: 'call-1' },
      },
      { ...base('message-2', 'o-c'), message_type: 'tool_call_message', tool_call: { arguments: '{"label":"hu' } },
      {
        ...base('message-2', 'o-c'),
        message_type: 'tool_call_message',
        tool_call: { arguments: 'man","new_string":"Name: Ada"}' },
      },
      {
        ...base('message-3', 'o-t'),
        message_type: 'tool_return_message',
        tool_call_id: 'call-1',
        status: 'success',
        tool_return: '{"status": "OK", "message": "None"}',
      },
      { id: 'ping-1', date, message_type: 'ping' },
      { ...base('message-4', 'o-a'), message_type: 'assistant_message', content: 'Nice to meet' },
      { ...base('message-4', 'o-a'), message_type: 'assistant_message', content: ' you, Ada!' },
      { message_type: 'stop_reason', stop_reason: 'end_turn' },
      { message_type: 'usage_statistics', prompt_tokens: 900, completion_tokens: 40, total_tokens: 940, step_count: 2 },
    ]);
    expect(events).toEqual([
      { type: 'reasoning.delta', text: 'The user said ' },
      { type: 'reasoning.delta', text: 'their name.' },
      {
        type: 'tool.call',
        callId: 'call-1',
        name: 'memory_insert',
        arguments: { label: 'human', new_string: 'Name: Ada' },
      },
      {
        type: 'tool.result',
        callId: 'call-1',
        name: 'memory_insert',
        ok: true,
        result: { status: 'OK', message: 'None' },
      },
      { type: 'text.delta', text: 'Nice to meet' },
      { type: 'text.delta', text: ' you, Ada!' },
    ]);
    expect(edited).toEqual(['human']);
    expect(mapper.stopReason).toBe('end_turn');
    expect(mapper.usage).toEqual({ promptTokens: 900, completionTokens: 40, stepCount: 2 });
    expect(mapper.runId).toBe('run-1');
  });

  it('separates the texts of successive assistant messages (one per step) by their otid', () => {
    const { events } = play([
      { ...base('m1', 'first'), message_type: 'assistant_message', content: 'Let me check.' },
      { ...base('m2', 'second'), message_type: 'assistant_message', content: [{ type: 'text', text: 'Done' }] },
      { ...base('m2', 'second'), message_type: 'assistant_message', content: '.' },
    ]);
    expect(events.map((e) => (e.type === 'text.delta' ? e.text : '')).join('')).toBe('Let me check.\n\nDone.');
  });

  it('reports a failed tool without a memory edit, and keeps arguments that do not parse as text', () => {
    const { events, edited } = play([
      {
        ...base('m1', 'c'),
        message_type: 'tool_call_message',
        tool_call: { name: 'memory_replace', arguments: '{"label": "human", ', tool_call_id: 'call-9' },
      },
      {
        ...base('m2', 't'),
        message_type: 'tool_return_message',
        tool_call_id: 'call-9',
        status: 'error',
        tool_return: 'Error: old_string not found',
      },
    ]);
    expect(events).toEqual([
      { type: 'tool.call', callId: 'call-9', name: 'memory_replace', arguments: '{"label": "human", ' },
      {
        type: 'tool.result',
        callId: 'call-9',
        name: 'memory_replace',
        ok: false,
        result: 'Error: old_string not found',
      },
    ]);
    expect(edited).toEqual([]);
  });

  it('throws an error_message event as a typed AppError, never with Letta’s text', () => {
    const mapper = new LettaStreamMapper();
    const push = () =>
      mapper.push({
        message_type: 'error_message',
        run_id: 'run-1',
        error_type: 'llm_timeout',
        message: 'provider said sk-secret',
      });
    expect(push).toThrow(AppError);
    try {
      push();
    } catch (error) {
      expect(error).toMatchObject({ appCode: 'UPSTREAM_TIMEOUT', data: { retryable: true } });
      expect((error as Error).message).not.toContain('sk-secret');
    }
  });
});

describe('turnEnd', () => {
  it.each([
    ['end_turn', 'completed'],
    ['max_steps', 'completed'],
    ['cancelled', 'cancelled'],
  ] as const)('%s → %s', (reason, kind) => {
    expect(turnEnd(reason).kind).toBe(kind);
  });

  it.each([
    ['llm_api_error', 'UPSTREAM_ERROR'],
    ['error', 'UPSTREAM_ERROR'],
    ['invalid_llm_response', 'UPSTREAM_ERROR'],
    [null, 'UPSTREAM_UNAVAILABLE'],
  ] as const)('%s → failed with %s', (reason, appCode) => {
    expect(turnEnd(reason)).toMatchObject({ kind: 'failed', error: { appCode } });
  });
});

describe('lettaFailure', () => {
  it('maps the client’s errors to the contract’s codes', () => {
    expect(lettaFailure(new APIConnectionTimeoutError())).toMatchObject({ appCode: 'UPSTREAM_TIMEOUT' });
    expect(lettaFailure(new APIConnectionError({ message: 'refused' }))).toMatchObject({
      appCode: 'UPSTREAM_UNAVAILABLE',
    });
    const streamed = new APIError(
      undefined,
      { message_type: 'error_message', error_type: 'llm_rate_limit' },
      undefined,
      new Headers(),
    );
    expect(lettaFailure(streamed)).toMatchObject({ appCode: 'UPSTREAM_UNAVAILABLE', data: { retryable: true } });
    const budget = new APIError(
      undefined,
      { message_type: 'error_message', error_type: 'budget_exceeded' },
      undefined,
      new Headers(),
    );
    expect(lettaFailure(budget)).toMatchObject({ appCode: 'BUDGET_EXCEEDED' });
    expect(lettaFailure(APIError.generate(500, { detail: 'boom' }, 'boom', new Headers()))).toMatchObject({
      appCode: 'UPSTREAM_ERROR',
      data: { retryable: true },
    });
    expect(lettaFailure(APIError.generate(401, {}, 'no', new Headers()))).toMatchObject({
      appCode: 'UPSTREAM_ERROR',
      data: { retryable: false },
    });
    expect(lettaFailure(new TypeError('terminated'))).toMatchObject({ appCode: 'UPSTREAM_UNAVAILABLE' });
    const abort = new DOMException('cancelled', 'AbortError');
    expect(lettaFailure(abort)).toBe(abort);
  });
});
