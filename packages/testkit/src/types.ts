/** One function call the scripted model makes. */
export interface LlmToolCallScript {
  name: string;
  /** Raw JSON text, sent as-is so tests can script malformed arguments on purpose. */
  arguments: string;
  /** Defaults to a fresh `call_…` id. */
  id?: string;
}

/** What the test model answers to one chat-completions request. */
export interface LlmReplyScript {
  /** Assistant content; streamed split into tokens by `tokenize`. */
  text?: string;
  /** If set, streamed before the content as `delta.reasoning_content` chunks. */
  reasoning?: string;
  toolCalls?: LlmToolCallScript[];
  /**
   * Default: computed (prompt ≈ request message chars / 4, completion = streamed tokens).
   * `null` = report no usage at all, even if the request asked for `include_usage`.
   */
  usage?: { promptTokens: number; completionTokens: number } | null;
  /** Answer with this HTTP error and an OpenAI-style `{ error: {...} }` body instead of a completion. */
  error?: { status: number; message?: string; type?: string; code?: string; param?: string };
  /**
   * Destroy the socket once this many content tokens have been written (a mid-stream drop).
   * Without streaming, the socket is destroyed before any response is written.
   */
  disconnectAfterTokens?: number;
  /**
   * Stop writing, but keep the socket open, once this many content tokens have been written (an idle upstream).
   * Without streaming, no response is ever written.
   */
  stallAfterTokens?: number;
  /** Delay before the first chunk; overrides the server default. */
  ttftMs?: number;
  /** Delay between token chunks; overrides the server default. */
  tokenIntervalMs?: number;
  /**
   * Stream the whole reply whatever `max_completion_tokens`/`max_tokens` the request set (and
   * report it all in usage), as a provider that ignores the cap would. By default the reply is cut
   * at the cap with finish reason `length`.
   */
  ignoreMaxTokens?: boolean;
  /** Default: `'tool_calls'` if there are tool calls, else `'stop'` (`'length'` when cut at the cap). */
  finishReason?: 'stop' | 'length' | 'tool_calls';
}

/** One request received on `/v1/chat/completions`, as the client sent it. */
export interface LlmRequestRecord {
  model: string;
  messages: unknown[];
  tools?: unknown[];
  stream: boolean;
  /** `max_completion_tokens`, or the legacy `max_tokens`. */
  maxTokens?: number;
  streamOptions?: unknown;
  body: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
}

/** `callIndex` is the request's zero-based position in `LlmTestServer.calls`. */
export type LlmResponder = (request: LlmRequestRecord, callIndex: number) => LlmReplyScript | Promise<LlmReplyScript>;

export interface LlmTestServerOptions {
  /** Default 0: pick a free port. */
  port?: number;
  /** Default delay before the first chunk (default 0). */
  ttftMs?: number;
  /** Default delay between token chunks (default 0). */
  tokenIntervalMs?: number;
  /** Default: reply with the text "Hello from the test model." */
  respond?: LlmResponder;
  /** If set, requests must carry `Authorization: Bearer <apiKey>` or get a 401. */
  apiKey?: string;
}

export interface LlmTestServer {
  /** Base URL for an OpenAI client, ending in `/v1`. */
  url: string;
  /** Every `/v1/chat/completions` request with a parseable body, in order, including ones answered with errors. */
  calls: LlmRequestRecord[];
  readonly callCount: number;
  /** Queue replies used (FIFO) before falling back to `respond`. */
  enqueue(...replies: LlmReplyScript[]): void;
  setResponder(respond: LlmResponder): void;
  /** Clears calls and queue. */
  reset(): void;
  /** Closes the server and every open socket, including stalled streams. */
  close(): Promise<void>;
}
