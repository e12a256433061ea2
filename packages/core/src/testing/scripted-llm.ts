import { splitWords } from '../llm/split-words';
import { countMessageTokens, countTokens } from '../llm/token-count';
import type { LlmClient, LlmRequest, LlmStreamEvent, LlmToolCall } from '../ports/llm-client';

/** One planned answer of the scripted model. */
export interface ScriptedReply {
  /** The answer: a string is streamed word by word, an array as exactly these deltas. */
  text?: string | string[];
  /** Streamed before the text. */
  reasoning?: string;
  /** Arguments given as an object are sent as its JSON; a string as is (it may be malformed on purpose). */
  toolCalls?: Array<{ name: string; arguments: string | Record<string, unknown>; id?: string }>;
  /** What the provider reports; default: the request's and the answer's token counts. null: no usage event. */
  usage?: { promptTokens: number; completionTokens: number } | null;
  /** Thrown when the call is made, before any event (an AppError, as a real client throws). */
  error?: unknown;
  /**
   * Once this many text deltas are out, the stream waits for the request's signal and ends with an
   * AbortError: a slow answer for a test to cancel.
   */
  stallAfterDeltas?: number;
  /** Stream the whole answer whatever max_tokens the request set, as a provider that ignores it would. */
  ignoreMaxTokens?: boolean;
}

export type ScriptedResponder = (request: LlmRequest, callIndex: number) => ScriptedReply;

const abortError = () => new DOMException('The operation was aborted.', 'AbortError');

/**
 * An LlmClient playing planned replies in order, for unit tests of what calls a model: every request
 * is recorded, and each reply streams as the OpenAI-compatible client does (tool-call pieces as
 * `tool_call_delta`, then the whole calls, usage, finish), cut at the request's max_tokens with
 * finish `length` unless told otherwise. With no reply left, a call fails the test loudly.
 */
export class ScriptedLlm implements LlmClient {
  readonly isOffline = false;
  /** Every request, with a copy of its messages as they were sent. */
  readonly requests: LlmRequest[] = [];
  private readonly queue: ScriptedReply[] = [];

  constructor(
    readonly defaultModel = 'test-model',
    private readonly fallback?: ScriptedResponder,
  ) {}

  enqueue(...replies: ScriptedReply[]): this {
    this.queue.push(...replies);
    return this;
  }

  /** Replies planned and not yet played. */
  get pending(): number {
    return this.queue.length;
  }

  async probe(): Promise<boolean> {
    return true;
  }

  async *stream(request: LlmRequest): AsyncIterable<LlmStreamEvent> {
    const callIndex = this.requests.push({ ...request, messages: [...request.messages] }) - 1;
    const reply = this.queue.shift() ?? this.fallback?.(request, callIndex);
    if (!reply) throw new Error(`ScriptedLlm: no reply planned for call ${callIndex + 1}`);
    if (reply.error !== undefined) throw reply.error;
    const { signal } = request;
    const cap = reply.ignoreMaxTokens ? Number.POSITIVE_INFINITY : (request.maxTokens ?? Number.POSITIVE_INFINITY);
    let written = 0;
    let cut = false;
    // A piece is only sent whole: what would pass max_tokens ends the answer, as a provider's cap does.
    const fits = (text: string) => {
      if (cut || written + countTokens(text) > cap) {
        cut = true;
        return false;
      }
      written += countTokens(text);
      return true;
    };

    if (signal.aborted) throw abortError();
    if (reply.reasoning) {
      for (const piece of splitWords(reply.reasoning)) {
        if (!fits(piece)) break;
        yield { type: 'reasoning', text: piece };
      }
    }
    const deltas = typeof reply.text === 'string' ? splitWords(reply.text) : (reply.text ?? []);
    let sent = 0;
    for (const piece of deltas) {
      if (reply.stallAfterDeltas !== undefined && sent >= reply.stallAfterDeltas) await untilAborted(signal);
      if (signal.aborted) throw abortError();
      if (!fits(piece)) break;
      sent += 1;
      yield { type: 'text', text: piece };
    }
    if (reply.stallAfterDeltas !== undefined && sent >= reply.stallAfterDeltas) await untilAborted(signal);

    const calls: LlmToolCall[] = (reply.toolCalls ?? []).map((call, i) => ({
      id: call.id ?? `call_${callIndex + 1}_${i + 1}`,
      name: call.name,
      arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
    }));
    for (const call of calls) {
      if (cut) break;
      for (const piece of [call.name, call.arguments]) {
        if (signal.aborted) throw abortError();
        if (!fits(piece)) break;
        yield { type: 'tool_call_delta', text: piece };
      }
    }
    if (calls.length > 0 && !cut) yield { type: 'tool_calls', calls };
    if (reply.usage !== null) {
      yield {
        type: 'usage',
        promptTokens: reply.usage?.promptTokens ?? countMessageTokens(request.messages),
        completionTokens: reply.usage?.completionTokens ?? written,
      };
    }
    yield { type: 'finish', reason: cut ? 'length' : calls.length > 0 ? 'tool_calls' : 'stop' };
  }
}

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(abortError());
    else signal.addEventListener('abort', () => reject(abortError()), { once: true });
  });
}
