/** A message in the model's context, in the OpenAI chat format every supported provider speaks. */
export type LlmMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string; images?: LlmImage[] }
  | { role: 'assistant'; content: string | null; toolCalls?: LlmToolCall[] }
  | { role: 'tool'; toolCallId: string; content: string };

/** An image a user message shows a vision-capable model (sent as an `image_url` part, a data URL). */
export interface LlmImage {
  mediaType: string;
  /** The bytes, base64. */
  data: string;
}

export interface LlmToolCall {
  id: string;
  name: string;
  /** Raw JSON text as the model wrote it: it may not parse. */
  arguments: string;
}

export interface LlmTool {
  name: string;
  description: string;
  /** JSON Schema of the arguments. */
  parameters: Record<string, unknown>;
}

export interface LlmRequest {
  model: string;
  messages: LlmMessage[];
  tools?: LlmTool[];
  maxTokens?: number;
  signal: AbortSignal;
  /** Sent instead of the client's own key: a user's virtual key on a billing proxy. */
  apiKey?: string;
}

export type LlmStreamEvent =
  | { type: 'text'; text: string }
  | { type: 'reasoning'; text: string }
  /** A piece of a tool call (name or arguments) as it arrives, to be counted; the calls come whole in `tool_calls`. */
  | { type: 'tool_call_delta'; text: string }
  | { type: 'tool_calls'; calls: LlmToolCall[] }
  | { type: 'usage'; promptTokens: number; completionTokens: number }
  | { type: 'finish'; reason: 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'other' };

/**
 * One model step, streamed. Failures are thrown as AppError with UPSTREAM_UNAVAILABLE,
 * UPSTREAM_TIMEOUT or UPSTREAM_ERROR; an aborted signal ends the stream with an AbortError.
 */
export interface LlmClient {
  /** The model used when a request names none; `hearth/offline` for the built-in demo model. */
  readonly defaultModel: string;
  readonly isOffline: boolean;
  stream(request: LlmRequest): AsyncIterable<LlmStreamEvent>;
  /** Whether the provider answers; null when there is nothing to ask (offline). */
  probe(): Promise<boolean | null>;
}
