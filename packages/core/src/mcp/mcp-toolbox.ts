import type { AgentToolbox, AgentToolCall, AgentToolOutcome } from '../ports/agent-tools';
import type { LlmTool } from '../ports/llm-client';
import { McpConnection, type McpLogger, type McpServerSpec } from './mcp-connection';
import { failure, serverPrefix } from './mcp-results';

export interface McpToolboxOptions {
  servers: readonly McpServerSpec[];
  /** How long one tool call may take before it fails for the model to read. */
  toolTimeoutMs: number;
  /** The most tokens of one result that reach the model; the rest is cut, with a note. */
  resultMaxTokens: number;
  /** How long start-up (and each later try) waits for a server to answer and list its tools. */
  connectTimeoutMs?: number;
  reconnectDelaysMs?: readonly number[];
  logger: McpLogger;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_RECONNECT_DELAYS_MS = [1_000, 2_000, 5_000, 10_000, 30_000];

/** The tools of the operator's MCP servers (MCP_SERVERS), offered to every agent as `<server>__<tool>`. */
export class McpToolbox implements AgentToolbox {
  private readonly connections: McpConnection[];

  private constructor(options: McpToolboxOptions) {
    this.connections = options.servers.map(
      (spec) =>
        new McpConnection(spec, {
          toolTimeoutMs: options.toolTimeoutMs,
          resultMaxTokens: options.resultMaxTokens,
          connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
          reconnectDelaysMs: options.reconnectDelaysMs ?? DEFAULT_RECONNECT_DELAYS_MS,
          logger: options.logger,
        }),
    );
  }

  /**
   * Connects to every server at once and waits for each first try: a server that is down does not
   * stop start-up (it is warned about and tried again in the background).
   */
  static async start(options: McpToolboxOptions): Promise<McpToolbox> {
    const toolbox = new McpToolbox(options);
    await Promise.all(toolbox.connections.map((connection) => connection.connect()));
    return toolbox;
  }

  tools(): LlmTool[] {
    return this.connections.flatMap((connection) => connection.tools());
  }

  owns(name: string): boolean {
    return this.connectionFor(name) !== undefined;
  }

  async call(call: AgentToolCall): Promise<AgentToolOutcome> {
    const connection = this.connectionFor(call.name);
    if (!connection) return failure(`Unknown tool "${call.name}".`);
    let args: unknown;
    try {
      args = call.arguments.trim() ? JSON.parse(call.arguments) : {};
    } catch {
      return failure('The arguments are not valid JSON.');
    }
    if (typeof args !== 'object' || args === null || Array.isArray(args)) {
      return failure('The arguments must be a JSON object.');
    }
    return connection.call(call.name, args as Record<string, unknown>, call.signal);
  }

  /** For the start-up line: each server, and how many tools it offers (or that it is down). */
  describe(): string {
    return this.connections
      .map((c) => `${c.spec.name} (${c.up ? `${c.tools().length} tools` : 'not reachable yet'})`)
      .join(', ');
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.connections.map((connection) => connection.close()));
  }

  private connectionFor(name: string): McpConnection | undefined {
    return this.connections.find((connection) => name.startsWith(serverPrefix(connection.spec.name)));
  }
}
