import type { AuthenticatedUser } from '../domain/user';

/** The model name that sends a completion to the caller's personal agent instead of straight to a model. */
export const AGENT_MODEL = 'hearth/agent';

export interface CompletionModel {
  id: string;
  ownedBy: string;
}

/** A chat message as an OpenAI-compatible client sends it, its content reduced to text. */
export interface CompletionMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface CompletionRequest {
  model: string;
  messages: CompletionMessage[];
  /** The most output tokens the caller wants; capped by the server's own limit. */
  maxTokens?: number | undefined;
  /** For `hearth/agent`: the conversation to talk in; the caller's default one when unset. */
  conversationId?: string | undefined;
}

export interface CompletionUsage {
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export type CompletionFinish = 'stop' | 'length' | 'content_filter' | 'tool_calls';

export type CompletionEvent =
  | { type: 'text'; text: string }
  | { type: 'reasoning'; text: string }
  /** The last event: why the answer ended and what it cost. */
  | { type: 'done'; finish: CompletionFinish; usage: CompletionUsage };

export interface CompletionStream {
  model: string;
  /** For `hearth/agent`: where the turn is stored. */
  conversationId?: string;
  runId?: string;
  /**
   * The answer, ending with `done`. A failure is thrown from the iterator as an AppError: one
   * before the first event (the budget refused the call, the provider did not answer) is thrown by
   * the first `next()`, before anything was sent, so the caller can answer with a real status.
   */
  events: AsyncIterable<CompletionEvent>;
}

/**
 * Completions for OpenAI-compatible clients: either a metered model call on the caller's budget
 * (a per-user gateway), or a turn of the caller's personal agent.
 */
export interface CompletionOperations {
  models(): CompletionModel[];
  /** Stops the work (and bills what was used) when `signal` aborts. */
  complete(caller: AuthenticatedUser, request: CompletionRequest, signal: AbortSignal): Promise<CompletionStream>;
}
