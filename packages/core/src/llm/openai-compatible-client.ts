import OpenAI from 'openai';
import type { ChatCompletionChunk, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { AppError } from '../domain/errors';
import type { LlmClient, LlmMessage, LlmRequest, LlmStreamEvent, LlmToolCall } from '../ports/llm-client';
import { incomingMessageOf, nodeHttpFetch } from './node-http-fetch';
import { type ServerSentEvent, ServerSentEventParser } from './server-sent-events';

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

/** How a model takes its output cap: under both names until the provider refuses one of them. */
type TokenLimitStyle = 'both' | 'max_tokens' | 'max_completion_tokens';

function tokenLimit(style: TokenLimitStyle, maxTokens: number) {
  return {
    ...(style === 'max_completion_tokens' ? {} : { max_tokens: maxTokens }),
    ...(style === 'max_tokens' ? {} : { max_completion_tokens: maxTokens }),
  };
}

/**
 * Any OpenAI-compatible endpoint: OpenAI, the LiteLLM proxy, Ollama, vLLM. Upstream errors become
 * AppErrors whose messages never repeat the provider's body (it may echo prompts or keys).
 */
export class OpenAiCompatibleClient implements LlmClient {
  readonly isOffline = false;
  readonly defaultModel: string;
  private readonly client: OpenAI;
  /** Per model, once a provider has refused one of the cap's two names. */
  private readonly tokenLimitStyles = new Map<string, TokenLimitStyle>();

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

  /**
   * One generator from the socket to the model step: the body is read as Node chunks and parsed
   * synchronously, so a token costs one await here rather than one in each of several layers.
   */
  async *stream(request: LlmRequest): AsyncIterable<LlmStreamEvent> {
    const idle = new AbortController();
    const signal = AbortSignal.any([request.signal, idle.signal]);
    let timer: NodeJS.Timeout | undefined;
    // Re-armed on every chunk: restarting the one timer costs less than a new one per token.
    const armIdleTimer = () => {
      if (timer) timer.refresh();
      else timer = setTimeout(() => idle.abort(new IdleTimeout()), this.options.idleTimeoutMs);
    };
    let decoder: CompletionStreamDecoder | undefined;
    try {
      const response = await this.open(request, signal);
      armIdleTimer();
      const body = incomingMessageOf(response) ?? response.body;
      const parser = new ServerSentEventParser();
      decoder = new CompletionStreamDecoder(response.headers);
      for await (const chunk of body ?? []) {
        armIdleTimer();
        for (const event of decoder.decode(parser.feed(chunk))) yield event;
        decoder.throwIfFailed();
      }
      for (const event of decoder.decode(parser.end())) yield event;
      decoder.throwIfFailed();
      // An aborted body may end quietly; an abort must not pass for a finished answer.
      if (idle.signal.aborted) throw new IdleTimeout();
      if (request.signal.aborted) throw abortError();
      for (const event of decoder.end()) yield event;
    } catch (error) {
      if (request.signal.aborted) throw abortError();
      throw toAppError(idle.signal.aborted ? new IdleTimeout() : error, decoder?.receivedAnything ?? false);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The raw response, its stream read by `stream`: the SDK's own reader adds a web stream and an
   * async generator per chunk. Errors before the body (HTTP status, connection) are still the SDK's.
   */
  private async open(request: LlmRequest, signal: AbortSignal): Promise<Response> {
    for (let attempt = 1; ; attempt += 1) {
      const style = this.tokenLimitStyles.get(request.model) ?? 'both';
      try {
        return await this.client.chat.completions
          .create(
            {
              model: request.model,
              messages: request.messages.map(toOpenAiMessage),
              stream: true,
              stream_options: { include_usage: true },
              // OpenAI's reasoning models take only max_completion_tokens; many other servers only
              // max_tokens (ignoring the other name, or refusing it): both, then whichever is accepted.
              ...(request.maxTokens ? tokenLimit(style, request.maxTokens) : {}),
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
      } catch (error) {
        const refused = style === 'both' && request.maxTokens ? refusedTokenLimit(error) : undefined;
        if (refused && !request.signal.aborted) {
          // Refused before anything was generated: nothing billed, so asked again with the other name.
          this.tokenLimitStyles.set(request.model, refused === 'max_tokens' ? 'max_completion_tokens' : 'max_tokens');
          continue;
        }
        // A connection refused or reset before any token is safe to repeat once: nothing was billed or shown.
        if (attempt > 1 || request.signal.aborted || !isConnectFailure(error)) throw error;
      }
    }
  }
}

/**
 * The `data:` payloads of a streamed chat completion, as OpenAI's SDK reads them, turned into
 * stream events: chunks up to `[DONE]` (what follows is read, so the connection goes back to the
 * pool whole, and ignored); a payload carrying `error` (a provider failing mid-stream) becomes an
 * APIError. A failure is kept until the events decoded before it are handed on, so the text
 * received before it is never lost. Tool calls arrive in pieces and are handed over whole at the end.
 */
class CompletionStreamDecoder {
  private readonly calls = new Map<number, LlmToolCall>();
  private finish: LlmStreamEvent | undefined;
  private done = false;
  private failure: Error | undefined;
  private received = false;

  constructor(private readonly headers: Headers) {}

  /** Whether any event came: a connection lost after that broke off mid-answer. */
  get receivedAnything(): boolean {
    return this.received;
  }

  /** The stream events in these SSE events; a failure among them is kept for `throwIfFailed`. */
  decode(sse: ServerSentEvent[]): LlmStreamEvent[] {
    const events: LlmStreamEvent[] = [];
    for (const { data } of sse) this.decodeData(data, events);
    if (events.length > 0) this.received = true;
    return events;
  }

  private decodeData(data: string, events: LlmStreamEvent[]): void {
    if (this.done) return;
    if (data.startsWith('[DONE]')) {
      this.done = true;
      return;
    }
    let chunk: ChatCompletionChunk & { error?: unknown };
    try {
      chunk = JSON.parse(data) as typeof chunk;
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    if (chunk.error) {
      this.fail(new OpenAI.APIError(undefined, chunk.error as object, undefined, this.headers));
      return;
    }
    chunkEvents(chunk, this.calls, events);
    const reason = chunk.choices[0]?.finish_reason;
    if (reason) this.finish = { type: 'finish', reason: toFinishReason(reason) };
  }

  private fail(error: Error): void {
    this.failure = error;
    this.done = true;
  }

  throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /** What the body's end tells: the tool calls, whole, and why the answer finished. */
  end(): LlmStreamEvent[] {
    const events: LlmStreamEvent[] = [];
    if (this.calls.size > 0) events.push({ type: 'tool_calls', calls: [...this.calls.values()] });
    events.push(this.finish ?? { type: 'finish', reason: 'other' });
    return events;
  }
}

function chunkEvents(chunk: ChatCompletionChunk, calls: Map<number, LlmToolCall>, events: LlmStreamEvent[]): void {
  if (chunk.usage) {
    events.push({
      type: 'usage',
      promptTokens: chunk.usage.prompt_tokens,
      completionTokens: chunk.usage.completion_tokens,
    });
  }
  const delta = chunk.choices[0]?.delta as
    | (ChatCompletionChunk.Choice.Delta & { reasoning_content?: string | null; reasoning?: string | null })
    | undefined;
  if (!delta) return;
  const reasoning = delta.reasoning_content ?? delta.reasoning;
  if (reasoning) events.push({ type: 'reasoning', text: reasoning });
  if (delta.content) events.push({ type: 'text', text: delta.content });
  for (const part of delta.tool_calls ?? []) {
    const call = calls.get(part.index) ?? { id: '', name: '', arguments: '' };
    if (part.id) call.id = part.id;
    const piece = (part.function?.name ?? '') + (part.function?.arguments ?? '');
    if (piece) events.push({ type: 'tool_call_delta', text: piece });
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
    case 'user':
      if (!message.images?.length) return { role: 'user', content: message.content };
      // A vision model's message: the text, then each image as a data URL.
      return {
        role: 'user',
        content: [
          { type: 'text', text: message.content },
          ...message.images.map((image) => ({
            type: 'image_url' as const,
            image_url: { url: `data:${image.mediaType};base64,${image.data}` },
          })),
        ],
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

const TOKEN_LIMIT_NAME = /max_completion_tokens|max_tokens/;
const UNSUPPORTED =
  /unsupported|not supported|unrecognized|unknown|extra (inputs|fields)|not permitted|not allowed|invalid (parameter|argument)/i;

/**
 * Which of the cap's two names a 400 refuses, if that is what it says: by OpenAI's `param`, or the
 * first of the two named in a message saying a parameter is not supported.
 */
function refusedTokenLimit(error: unknown): 'max_tokens' | 'max_completion_tokens' | undefined {
  if (!(error instanceof OpenAI.APIError) || error.status !== 400) return undefined;
  const body = error.error as { message?: unknown; param?: unknown } | undefined;
  const param = error.param ?? body?.param;
  if (param === 'max_tokens' || param === 'max_completion_tokens') return param;
  const message = typeof body?.message === 'string' ? body.message : error.message;
  const named = TOKEN_LIMIT_NAME.exec(message)?.[0];
  return named && UNSUPPORTED.test(message) ? (named as 'max_tokens' | 'max_completion_tokens') : undefined;
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
  if (error instanceof OpenAI.APIError && !(error instanceof OpenAI.APIConnectionError) && error.status === undefined) {
    // An `error` payload inside a stream that had begun well: the provider gave up mid-answer.
    return new AppError('UPSTREAM_ERROR', 'The model provider failed mid-answer.', { retryable: true });
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
