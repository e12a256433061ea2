import OpenAI from 'openai';
import type { ChatCompletionChunk, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { AppError } from '../domain/errors';
import type { LlmClient, LlmMessage, LlmRequest, LlmStreamEvent, LlmToolCall } from '../ports/llm-client';
import { incomingMessageOf, nodeHttpFetch } from './node-http-fetch';
import { serverSentEvents } from './server-sent-events';

export interface OpenAiCompatibleOptions {
  baseUrl: string;
  apiKey: string;
  defaultModel: string;
  /** Until the provider answers with headers. */
  connectTimeoutMs: number;
  /** Longest silence allowed between two chunks of a stream. */
  idleTimeoutMs: number;
  /** Default: node:http with keep-alive (see nodeHttpFetch). */
  fetch?: typeof globalThis.fetch;
}

class IdleTimeout extends Error {}

/**
 * Any OpenAI-compatible endpoint: OpenAI, the LiteLLM proxy, Ollama, vLLM. Upstream errors become
 * AppErrors whose messages never repeat the provider's body (it may echo prompts or keys).
 */
export class OpenAiCompatibleClient implements LlmClient {
  readonly isOffline = false;
  readonly defaultModel: string;
  private readonly client: OpenAI;

  constructor(private readonly options: OpenAiCompatibleOptions) {
    this.defaultModel = options.defaultModel;
    this.client = new OpenAI({
      baseURL: options.baseUrl,
      apiKey: options.apiKey,
      maxRetries: 0,
      timeout: options.connectTimeoutMs,
      fetch: options.fetch ?? nodeHttpFetch,
    });
  }

  async probe(): Promise<boolean> {
    try {
      await this.client.models.list({ timeout: this.options.connectTimeoutMs });
      return true;
    } catch {
      return false;
    }
  }

  async *stream(request: LlmRequest): AsyncIterable<LlmStreamEvent> {
    let receivedAnything = false;
    for (let attempt = 1; ; attempt += 1) {
      try {
        for await (const event of this.streamOnce(request)) {
          receivedAnything = true;
          yield event;
        }
        return;
      } catch (error) {
        if (request.signal.aborted) throw abortError();
        // A connection refused or reset before any token is safe to repeat once: nothing was billed or shown.
        const retry = attempt === 1 && !receivedAnything && isConnectFailure(error);
        if (!retry) throw toAppError(error, receivedAnything);
      }
    }
  }

  private async *streamOnce(request: LlmRequest): AsyncIterable<LlmStreamEvent> {
    const idle = new AbortController();
    const signal = AbortSignal.any([request.signal, idle.signal]);
    let timer: NodeJS.Timeout | undefined;
    // Re-armed on every chunk: restarting the one timer costs less than a new one per token.
    const armIdleTimer = () => {
      if (timer) timer.refresh();
      else timer = setTimeout(() => idle.abort(new IdleTimeout()), this.options.idleTimeoutMs);
    };
    try {
      // The raw response, its stream read here: the SDK's own reader adds a web stream and an async
      // generator per chunk, and a streamed answer is hundreds of chunks. Errors before the body (HTTP
      // status, connection) are still the SDK's, so they map to AppErrors as before.
      const response = await this.client.chat.completions
        .create(
          {
            model: request.model,
            messages: request.messages.map(toOpenAiMessage),
            stream: true,
            stream_options: { include_usage: true },
            ...(request.maxTokens ? { max_tokens: request.maxTokens } : {}),
            ...(request.tools?.length
              ? {
                  tools: request.tools.map((tool) => ({
                    type: 'function' as const,
                    function: { name: tool.name, description: tool.description, parameters: tool.parameters },
                  })),
                }
              : {}),
          },
          { signal, ...(request.apiKey ? { headers: { authorization: `Bearer ${request.apiKey}` } } : {}) },
        )
        .asResponse();
      armIdleTimer();
      const calls = new Map<number, LlmToolCall>();
      let finish: LlmStreamEvent | undefined;
      for await (const chunk of completionChunks(response)) {
        armIdleTimer();
        yield* chunkEvents(chunk, calls);
        const reason = chunk.choices[0]?.finish_reason;
        if (reason) finish = { type: 'finish', reason: toFinishReason(reason) };
      }
      // An aborted body may end quietly; an abort must not pass for a finished answer.
      if (idle.signal.aborted) throw new IdleTimeout();
      if (request.signal.aborted) throw abortError();
      if (calls.size > 0) yield { type: 'tool_calls', calls: [...calls.values()] };
      yield finish ?? { type: 'finish', reason: 'other' };
    } catch (error) {
      if (idle.signal.aborted) throw new IdleTimeout();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * The chunks of a streamed chat completion, as OpenAI's SDK reads them: `data:` events up to
 * `[DONE]`; an event carrying `error` (a provider failing mid-stream) is thrown as an APIError.
 */
async function* completionChunks(response: Response): AsyncGenerator<ChatCompletionChunk> {
  const body = incomingMessageOf(response) ?? response.body;
  if (!body) return;
  let done = false;
  // Read to the end even after [DONE], so the connection goes back to the pool whole.
  for await (const { data } of serverSentEvents(body)) {
    if (done) continue;
    if (data.startsWith('[DONE]')) {
      done = true;
      continue;
    }
    const parsed = JSON.parse(data) as ChatCompletionChunk & { error?: unknown };
    if (parsed.error) throw new OpenAI.APIError(undefined, parsed.error as object, undefined, response.headers);
    yield parsed;
  }
}

function* chunkEvents(chunk: ChatCompletionChunk, calls: Map<number, LlmToolCall>): Iterable<LlmStreamEvent> {
  if (chunk.usage) {
    yield { type: 'usage', promptTokens: chunk.usage.prompt_tokens, completionTokens: chunk.usage.completion_tokens };
  }
  const delta = chunk.choices[0]?.delta as
    | (ChatCompletionChunk.Choice.Delta & { reasoning_content?: string | null; reasoning?: string | null })
    | undefined;
  if (!delta) return;
  const reasoning = delta.reasoning_content ?? delta.reasoning;
  if (reasoning) yield { type: 'reasoning', text: reasoning };
  if (delta.content) yield { type: 'text', text: delta.content };
  for (const part of delta.tool_calls ?? []) {
    const call = calls.get(part.index) ?? { id: '', name: '', arguments: '' };
    if (part.id) call.id = part.id;
    if (part.function?.name) call.name += part.function.name;
    if (part.function?.arguments) call.arguments += part.function.arguments;
    calls.set(part.index, call);
  }
}

function toOpenAiMessage(message: LlmMessage): ChatCompletionMessageParam {
  switch (message.role) {
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
    case 'assistant':
      return {
        role: 'assistant',
        content: message.content,
        ...(message.toolCalls?.length
          ? {
              tool_calls: message.toolCalls.map((call) => ({
                id: call.id,
                type: 'function' as const,
                function: { name: call.name, arguments: call.arguments },
              })),
            }
          : {}),
      };
    default:
      return message;
  }
}

function toFinishReason(reason: string): 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'other' {
  return reason === 'stop' || reason === 'length' || reason === 'tool_calls' || reason === 'content_filter'
    ? reason
    : 'other';
}

function isConnectFailure(error: unknown): boolean {
  return error instanceof OpenAI.APIConnectionError && !(error instanceof OpenAI.APIConnectionTimeoutError);
}

function abortError(): Error {
  return new DOMException('The run was cancelled', 'AbortError');
}

function isBudgetExceeded(error: InstanceType<typeof OpenAI.APIError>): boolean {
  const body = error.error as { type?: unknown; error?: { type?: unknown } } | undefined;
  return (
    error.type === 'budget_exceeded' || body?.type === 'budget_exceeded' || body?.error?.type === 'budget_exceeded'
  );
}

function toAppError(error: unknown, midStream: boolean): AppError {
  // A billing proxy (LiteLLM) refusing on budget: 400 in older releases, 429 in newer, so by type.
  if (error instanceof OpenAI.APIError && isBudgetExceeded(error)) {
    return new AppError('BUDGET_EXCEEDED', 'The billing proxy says this budget is spent.', { remainingUsd: 0 });
  }
  if (error instanceof IdleTimeout || error instanceof OpenAI.APIConnectionTimeoutError) {
    return new AppError('UPSTREAM_TIMEOUT', 'The model provider took too long to answer.', { retryable: true });
  }
  if (error instanceof OpenAI.APIError && error.status !== undefined) {
    const retryable = error.status === 429 || error.status >= 500;
    return new AppError('UPSTREAM_ERROR', `The model provider refused the request (HTTP ${error.status}).`, {
      retryable,
    });
  }
  const message = midStream
    ? 'The connection to the model provider broke off mid-answer.'
    : 'The model provider could not be reached.';
  return new AppError('UPSTREAM_UNAVAILABLE', message, { retryable: true }, { cause: error });
}
