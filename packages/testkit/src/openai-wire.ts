import { randomBytes } from 'node:crypto';

/** JSON shapes exactly as OpenAI's chat-completions endpoint sends them. */

export type FinishReason = 'stop' | 'length' | 'tool_calls';

export interface WireUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface WireToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface WireError {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** Fields shared by every chunk of one completion, so a stream's chunks agree on id and timestamp. */
export interface CompletionMeta {
  id: string;
  created: number;
  model: string;
}

const randomId = (bytes: number) => randomBytes(bytes).toString('hex');

export const nowSeconds = () => Math.floor(Date.now() / 1000);

export const newCompletionMeta = (model: string): CompletionMeta => ({
  id: `chatcmpl-${randomId(14)}`,
  created: nowSeconds(),
  model,
});

export const newToolCallId = () => `call_${randomId(12)}`;

export const newRequestId = () => `req_${randomId(16)}`;

export const usage = (promptTokens: number, completionTokens: number): WireUsage => ({
  prompt_tokens: promptTokens,
  completion_tokens: completionTokens,
  total_tokens: promptTokens + completionTokens,
});

export const sseEvent = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;

export const SSE_DONE = 'data: [DONE]\n\n';

/**
 * With `include_usage`, OpenAI puts `usage: null` on every ordinary chunk and the totals on a
 * choice-less chunk at the end; without it the field is absent altogether.
 */
export function chunk(
  meta: CompletionMeta,
  delta: Record<string, unknown>,
  finishReason: FinishReason | null,
  withUsageField: boolean,
) {
  return {
    id: meta.id,
    object: 'chat.completion.chunk',
    created: meta.created,
    model: meta.model,
    system_fingerprint: null,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(withUsageField ? { usage: null } : {}),
  };
}

export const usageChunk = (meta: CompletionMeta, totals: WireUsage) => ({
  id: meta.id,
  object: 'chat.completion.chunk',
  created: meta.created,
  model: meta.model,
  system_fingerprint: null,
  choices: [],
  usage: totals,
});

export interface CompletionMessage {
  content: string | null;
  reasoning?: string;
  toolCalls: WireToolCall[];
}

export function completion(
  meta: CompletionMeta,
  message: CompletionMessage,
  finishReason: FinishReason,
  totals: WireUsage | null,
) {
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: message.content,
          refusal: null,
          ...(message.reasoning === undefined ? {} : { reasoning_content: message.reasoning }),
          ...(message.toolCalls.length > 0 ? { tool_calls: message.toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: finishReason,
      },
    ],
    ...(totals ? { usage: totals } : {}),
  };
}

export const errorBody = (
  message: string,
  type: string,
  code: string | null = null,
  param: string | null = null,
): WireError => ({
  error: { message, type, param, code },
});

export const modelList = (ids: Iterable<string>, created: number) => ({
  object: 'list',
  data: [...ids].map((id) => ({ id, object: 'model', created, owned_by: 'hearth-test' })),
});
