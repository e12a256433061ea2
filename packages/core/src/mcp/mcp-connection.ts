import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { AgentToolOutcome } from '../ports/agent-tools';
import type { LlmTool } from '../ports/llm-client';
import { inSpan } from '../tracing/tracing';
import { capText, exposedName, failure, toLlmTool, toOutcome } from './mcp-results';

/** An MCP server the operator configured (MCP_SERVERS). */
export type McpServerSpec =
  | {
      name: string;
      transport: 'stdio';
      command: string;
      args?: string[] | undefined;
      /** Added to the few variables the SDK passes on (PATH, HOME…): never Hearth's own environment. */
      env?: Record<string, string> | undefined;
      cwd?: string | undefined;
    }
  | { name: string; transport: 'http'; url: string; headers?: Record<string, string> | undefined };

export interface McpLogger {
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  debug(fields: object, message?: string): void;
}

export interface McpConnectionOptions {
  toolTimeoutMs: number;
  connectTimeoutMs: number;
  resultMaxTokens: number;
  /** The pauses before each new try to reach a server that is down; the last one repeats. */
  reconnectDelaysMs: readonly number[];
  logger: McpLogger;
}

const CLIENT_INFO = { name: 'hearth', version: '0.1.0' };

/**
 * One configured MCP server: connected at start-up, its tools listed (and listed again when it says
 * they changed), connected again after it fails or its process dies, with growing pauses, until
 * closed. While it is down it offers no tools, and a call already offered fails for the model to read.
 */
export class McpConnection {
  private client: Client | null = null;
  private offered = new Map<string, { remote: string; tool: LlmTool }>();
  private closed = false;
  private failures = 0;
  private retry: NodeJS.Timeout | null = null;
  private connecting: Promise<boolean> | null = null;
  /** The client of a try under way, closed at once by close(): shutdown must not wait out its timeout. */
  private trying: Client | null = null;

  constructor(
    readonly spec: McpServerSpec,
    private readonly options: McpConnectionOptions,
  ) {}

  get up(): boolean {
    return this.client !== null;
  }

  tools(): LlmTool[] {
    return this.client ? [...this.offered.values()].map(({ tool }) => tool) : [];
  }

  /** One try; on failure the next is scheduled. True once the server answered and listed its tools. */
  connect(): Promise<boolean> {
    this.connecting ??= this.tryConnect().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async tryConnect(): Promise<boolean> {
    if (this.closed || this.client) return this.client !== null;
    const { logger, connectTimeoutMs } = this.options;
    const client = new Client(CLIENT_INFO, {
      listChanged: {
        tools: {
          onChanged: (error, tools) => {
            if (!error && tools && this.client === client) this.offer(tools);
          },
        },
      },
    });
    client.onclose = () => {
      if (this.client === client) this.lost('closed the connection');
    };
    // Transport errors also surface as failed requests or as onclose; here only for debugging.
    client.onerror = (error) => logger.debug({ mcpServer: this.spec.name, err: error }, 'MCP transport error');
    this.trying = client;
    try {
      await client.connect(this.transport(), { timeout: connectTimeoutMs });
      const tools = await listAllTools(client, connectTimeoutMs);
      if (this.closed) {
        await client.close();
        return false;
      }
      this.client = client;
      this.offer(tools);
      logger.info(
        { mcpServer: this.spec.name, tools: this.offered.size, ...(this.failures > 0 ? { after: this.failures } : {}) },
        this.failures > 0 ? 'MCP server reachable again' : 'MCP server connected',
      );
      this.failures = 0;
      return true;
    } catch (error) {
      await client.close().catch(() => {});
      this.failures += 1;
      // Warned once per outage: a server down for a day must not fill the log.
      const log = this.failures === 1 ? logger.warn.bind(logger) : logger.debug.bind(logger);
      log(
        { mcpServer: this.spec.name, err: error },
        'MCP server not reachable; the agent works without its tools until it is',
      );
      this.scheduleRetry();
      return false;
    } finally {
      this.trying = null;
    }
  }

  private transport(): Transport {
    const { spec } = this;
    if (spec.transport === 'http') {
      return new StreamableHTTPClientTransport(new URL(spec.url), {
        ...(spec.headers ? { requestInit: { headers: spec.headers } } : {}),
      });
    }
    const transport = new StdioClientTransport({
      command: spec.command,
      ...(spec.args ? { args: spec.args } : {}),
      ...(spec.env ? { env: spec.env } : {}),
      ...(spec.cwd ? { cwd: spec.cwd } : {}),
      // Piped, not inherited: a server's stderr may echo the user data it was called with.
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (chunk: Buffer) =>
      this.options.logger.debug(
        { mcpServer: spec.name, stderr: chunk.toString('utf8').slice(0, 2_000) },
        'MCP server stderr',
      ),
    );
    return transport;
  }

  private offer(tools: Tool[]): void {
    const offered = new Map<string, { remote: string; tool: LlmTool }>();
    for (const tool of tools) {
      const name = exposedName(this.spec.name, tool.name);
      if (!name || offered.has(name)) {
        this.options.logger.warn(
          { mcpServer: this.spec.name, tool: tool.name },
          'MCP tool left out: its name is too long, or the same as another once made a function name',
        );
        continue;
      }
      offered.set(name, { remote: tool.name, tool: toLlmTool(name, tool) });
    }
    this.offered = offered;
  }

  private lost(why: string): void {
    const client = this.client;
    this.client = null;
    if (this.closed) return;
    this.options.logger.warn({ mcpServer: this.spec.name }, `MCP server ${why}; connecting again`);
    void client?.close().catch(() => {});
    this.failures = 0;
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed || this.retry) return;
    const delays = this.options.reconnectDelaysMs;
    const delay = delays[Math.min(Math.max(this.failures - 1, 0), delays.length - 1)] ?? 30_000;
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.connect();
    }, delay);
    // A retry pending must not keep a process that is otherwise done alive.
    this.retry.unref();
  }

  async call(name: string, args: Record<string, unknown>, signal: AbortSignal): Promise<AgentToolOutcome> {
    const client = this.client;
    const entry = this.offered.get(name);
    if (!client) return failure(`The tool server "${this.spec.name}" is not reachable right now; try again later.`);
    if (!entry) return failure(`The tool server "${this.spec.name}" has no tool "${name}" now.`);
    const { toolTimeoutMs, resultMaxTokens, logger } = this.options;
    const startedAt = performance.now();
    const attributes = { 'gen_ai.tool.name': name, 'hearth.mcp.server': this.spec.name };
    return inSpan('mcp.tools.call', attributes, async () => {
      try {
        const result = await client.callTool({ name: entry.remote, arguments: args }, undefined, {
          signal,
          timeout: toolTimeoutMs,
          // A server sending progress still has to finish within the timeout.
          maxTotalTimeout: toolTimeoutMs,
        });
        // Only the name and the time: arguments and results are the user's.
        logger.debug(
          { mcpServer: this.spec.name, tool: name, ms: Math.round(performance.now() - startedAt) },
          'MCP tool call',
        );
        // A server on the protocol's first version answers with `toolResult` instead of content.
        if ('toolResult' in result)
          return { ok: true, result: capText(JSON.stringify(result.toolResult), resultMaxTokens) };
        return toOutcome(result, resultMaxTokens);
      } catch (error) {
        if (signal.aborted) throw signal.reason ?? error;
        if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
          return failure(`The tool "${name}" did not answer within ${formatSeconds(toolTimeoutMs)}.`);
        }
        if (error instanceof McpError && error.code !== ErrorCode.ConnectionClosed) {
          // The server's own answer (unknown tool, invalid arguments), for the model to read.
          return failure(`The tool "${name}" failed: ${error.message}`);
        }
        // The connection broke (a process that died, an HTTP server that went away).
        if (this.client === client) this.lost('failed during a call');
        return failure(`The tool server "${this.spec.name}" stopped answering; the call was not completed.`);
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    await this.trying?.close().catch(() => {});
    await this.connecting?.catch(() => {});
    const client = this.client;
    this.client = null;
    await client?.close();
  }
}

/** Every page of the server's tool list. */
async function listAllTools(client: Client, timeoutMs: number): Promise<Tool[]> {
  if (!client.getServerCapabilities()?.tools) return [];
  const tools: Tool[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor ? { cursor } : {}, { timeout: timeoutMs });
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor);
  return tools;
}

function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`;
}
