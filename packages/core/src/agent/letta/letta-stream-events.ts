import type { LettaStreamingResponse } from '@letta-ai/letta-client/resources/agents/messages';
import type { StopReasonType } from '@letta-ai/letta-client/resources/runs/runs';
import { AppError } from '../../domain/errors';
import type { TurnEvent } from '../../ports/agent-runtime';
import { lettaErrorType } from './letta-errors';

export type LettaChunk = LettaStreamingResponse;

/** What Letta's `usage_statistics` says a whole turn used, over all its steps. */
export interface LettaTurnUsage {
  promptTokens: number;
  completionTokens: number;
  stepCount: number;
}

/** Letta's tools that edit a core memory block named by their `label` argument. */
const BLOCK_EDITING_TOOLS = new Set([
  'memory_insert',
  'memory_replace',
  'memory_rethink',
  'core_memory_append',
  'core_memory_replace',
]);

interface PendingCall {
  callId: string;
  name: string;
  arguments: string;
  emitted: boolean;
}

/**
 * Maps the messages of one Letta stream (`stream_tokens: true`) to the contract's turn events.
 * With token streaming every chunk is a delta: chunks of one message share its `otid`. Text of
 * successive assistant messages (one per step) is joined with a blank line; a tool call's argument
 * fragments are joined and the call is announced once complete, before its return.
 */
export class LettaStreamMapper {
  private lastAssistantOtid: string | null = null;
  private wroteText = false;
  private readonly calls = new Map<string, PendingCall>();
  private readonly callKeys = new Map<string, string>();
  stopReason: StopReasonType | null = null;
  usage: LettaTurnUsage | null = null;
  /** Letta's run id for this send, to cancel it by. */
  runId: string | null = null;

  /** The events one chunk makes, and the label of a block the agent just edited, if any. */
  push(chunk: LettaChunk): { events: TurnEvent[]; editedBlock: string | null } {
    const events: TurnEvent[] = [];
    let editedBlock: string | null = null;
    if ('run_id' in chunk && typeof chunk.run_id === 'string') this.runId = chunk.run_id;
    if (chunk.message_type !== 'tool_call_message') events.push(...this.flushCalls());

    switch (chunk.message_type) {
      case 'reasoning_message':
        if (chunk.reasoning) events.push({ type: 'reasoning.delta', text: chunk.reasoning });
        break;
      case 'assistant_message': {
        const text = contentText(chunk.content);
        const otid = chunk.otid ?? chunk.id;
        if (!text) break;
        const separator = this.wroteText && otid !== this.lastAssistantOtid ? '\n\n' : '';
        this.lastAssistantOtid = otid;
        this.wroteText = true;
        events.push({ type: 'text.delta', text: separator + text });
        break;
      }
      case 'tool_call_message':
        this.addCallDelta(chunk.otid ?? chunk.id, chunk.tool_call);
        break;
      case 'tool_return_message': {
        const key = this.callKeys.get(chunk.tool_call_id);
        const call = key ? this.calls.get(key) : undefined;
        const name = call?.name ?? chunk.name ?? 'unknown';
        const ok = chunk.status === 'success';
        events.push({
          type: 'tool.result',
          callId: chunk.tool_call_id,
          name,
          ok,
          result: parseJson(chunk.tool_return),
        });
        const label = call ? labelOf(call.arguments) : null;
        if (ok && BLOCK_EDITING_TOOLS.has(name) && label) editedBlock = label;
        if (key) this.calls.delete(key);
        break;
      }
      case 'stop_reason':
        this.stopReason = chunk.stop_reason;
        break;
      case 'usage_statistics':
        this.usage = {
          promptTokens: chunk.prompt_tokens ?? 0,
          completionTokens: chunk.completion_tokens ?? 0,
          stepCount: chunk.step_count ?? 0,
        };
        break;
      case 'error_message':
        throw lettaErrorType(chunk.error_type);
      default:
        // Pings keep the connection alive; user, system, hidden-reasoning and approval messages say nothing new.
        break;
    }
    return { events, editedBlock };
  }

  /** Calls still waiting for their last fragment when the stream ended. */
  finish(): TurnEvent[] {
    return this.flushCalls();
  }

  private addCallDelta(
    key: string,
    delta: { name?: string | null; arguments?: string | null; tool_call_id?: string | null },
  ): void {
    let call = this.calls.get(key);
    if (!call) {
      call = { callId: delta.tool_call_id ?? key, name: delta.name ?? '', arguments: '', emitted: false };
      this.calls.set(key, call);
    }
    if (delta.tool_call_id) {
      call.callId = delta.tool_call_id;
      this.callKeys.set(delta.tool_call_id, key);
    }
    if (delta.name) call.name = delta.name;
    if (delta.arguments) call.arguments += delta.arguments;
  }

  private flushCalls(): TurnEvent[] {
    const events: TurnEvent[] = [];
    for (const call of this.calls.values()) {
      if (call.emitted) continue;
      call.emitted = true;
      events.push({ type: 'tool.call', callId: call.callId, name: call.name, arguments: parseJson(call.arguments) });
    }
    return events;
  }
}

export type TurnEnd = { kind: 'completed' } | { kind: 'cancelled' } | { kind: 'failed'; error: AppError };

/** What a turn's stop reason means for the run; a stream that ended without one was cut off. */
export function turnEnd(stopReason: StopReasonType | null): TurnEnd {
  switch (stopReason) {
    case 'end_turn':
    case 'no_tool_call':
    case 'max_steps':
    case 'max_tokens_exceeded':
    case 'tool_rule':
      // The step limit ends a turn the way the built-in tool loop does: with what was said so far.
      return { kind: 'completed' };
    case 'cancelled':
      return { kind: 'cancelled' };
    case 'insufficient_credits':
      return { kind: 'failed', error: lettaErrorType('insufficient_credits') };
    case null:
      return {
        kind: 'failed',
        error: new AppError('UPSTREAM_UNAVAILABLE', 'The connection to the agent backend dropped.', {
          retryable: true,
        }),
      };
    default:
      return { kind: 'failed', error: lettaErrorType(stopReason) };
  }
}

function contentText(content: string | ReadonlyArray<{ type?: string; text?: string }>): string {
  if (typeof content === 'string') return content;
  return content.map((part) => (part.type === 'text' || part.type === undefined ? (part.text ?? '') : '')).join('');
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function labelOf(rawArguments: string): string | null {
  const args = parseJson(rawArguments);
  if (typeof args !== 'object' || args === null || !('label' in args)) return null;
  return typeof args.label === 'string' ? args.label : null;
}
