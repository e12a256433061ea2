import type { LlmTool } from './llm-client';

/** What a tool call came to, as the model reads it (and the stream shows it, as `tool.result`). */
export interface AgentToolOutcome {
  ok: boolean;
  result: unknown;
}

export interface AgentToolCall {
  /** The name the tool is offered under (`<server>__<tool>` for an MCP server's). */
  name: string;
  /** The arguments as the model wrote them: JSON text that may not parse. */
  arguments: string;
  /** The run's: cancelling it stops the call. */
  signal: AbortSignal;
}

/**
 * Tools the operator adds to every agent beside its memory tools (an MCP server's, say). Which
 * tools there are may change between two steps of a turn (a server went down or came back), so
 * the runtime asks for them each step.
 */
export interface AgentToolbox {
  /** The tools offered now; a server that is down offers none. */
  tools(): LlmTool[];
  /** Whether `name` is one of this toolbox's tools (offered now or not): the runtime routes the call here. */
  owns(name: string): boolean;
  /**
   * Runs one call. Every failure (bad arguments, the tool's own error, a server down, the timeout)
   * comes back as `ok: false` for the model to read; only the run's cancellation throws (AbortError).
   */
  call(call: AgentToolCall): Promise<AgentToolOutcome>;
}
