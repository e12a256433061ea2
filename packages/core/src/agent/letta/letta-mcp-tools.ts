import { APIError, type Letta } from '@letta-ai/letta-client';
import { countTokens } from '../../llm/token-count';
import type { TurnEvent } from '../../ports/agent-runtime';

/** An MCP_SERVERS entry, as Letta is told of it (the same shape as the built-in toolbox's). */
export type LettaMcpServerSpec =
  | {
      name: string;
      transport: 'stdio';
      command: string;
      args?: string[] | undefined;
      env?: Record<string, string> | undefined;
    }
  | { name: string; transport: 'http'; url: string; headers?: Record<string, string> | undefined };

export interface LettaMcpLogger {
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
}

export interface LettaMcpToolsOptions {
  client: Letta;
  servers: readonly LettaMcpServerSpec[];
  /** Letta's `return_char_limit` of each tool: the most of a result its model reads. */
  returnCharLimit: number;
  logger: LettaMcpLogger;
}

/** How long after a failed registration the next turn tries again. */
const RETRY_AFTER_MS = 30_000;

/**
 * AGENT_BACKEND=letta: Letta runs the MCP servers' tools itself, so Hearth registers the servers
 * with it (`/v1/mcp-servers`, by name, updated when one is there already) and attaches their tools
 * to each user's agent before its first turn in this process (`/v1/agents/{id}/tools/attach/{tool_id}`).
 * A server Letta cannot reach is warned about and registered again on a later turn. Letta names a
 * tool as its server does; the stream shows it as `<server>__<tool>`, as the built-in runtime does.
 */
export class LettaMcpTools {
  /** Letta's tool ids and names per server, once registered. */
  private readonly registered = new Map<string, Array<{ id: string; name: string; tokens: number }>>();
  private readonly attached = new Set<string>();
  private syncing: Promise<void> | null = null;
  private lastTry = 0;

  constructor(private readonly options: LettaMcpToolsOptions) {}

  /** Registers every server not registered yet (at most once per RETRY_AFTER_MS after a failure). */
  sync(): Promise<void> {
    const missing = this.options.servers.filter((server) => !this.registered.has(server.name));
    if (missing.length === 0) return Promise.resolve();
    if (!this.syncing && Date.now() - this.lastTry >= (this.lastTry === 0 ? 0 : RETRY_AFTER_MS)) {
      this.lastTry = Date.now();
      this.syncing = Promise.all(missing.map((server) => this.register(server)))
        .then(() => {
          // Agents attached before a server came are attached again, to its tools too.
          this.attached.clear();
        })
        .finally(() => {
          this.syncing = null;
        });
    }
    return this.syncing ?? Promise.resolve();
  }

  /** Attaches every registered tool the agent lacks; once per agent per process, and again after a new server. */
  async attach(agentId: string): Promise<void> {
    await this.sync();
    if (this.attached.has(agentId)) return;
    const { client, logger } = this.options;
    const wanted = [...this.registered.values()].flat();
    if (wanted.length === 0) return;
    try {
      const agent = await client.agents.retrieve(agentId);
      const has = new Set((agent.tools ?? []).map((tool) => tool.id));
      for (const tool of wanted) {
        if (!has.has(tool.id)) await client.agents.tools.attach(tool.id, { agent_id: agentId });
      }
      this.attached.add(agentId);
    } catch (error) {
      // The turn goes on without them; the next one tries again.
      logger.warn(errorOf(error), 'could not attach the MCP tools to a Letta agent');
    }
  }

  /**
   * The prompt tokens the tools' schemas add to each of an agent's steps: part of what a send
   * reserves before Letta has reported a step's real prompt.
   */
  schemaTokens(): number {
    return [...this.registered.values()].flat().reduce((sum, tool) => sum + tool.tokens, 0);
  }

  /** A tool event with the tool named `<server>__<tool>` when it is one of the servers' tools. */
  rename(event: TurnEvent): TurnEvent {
    if (event.type !== 'tool.call' && event.type !== 'tool.result') return event;
    for (const [server, tools] of this.registered) {
      if (tools.some((tool) => tool.name === event.name)) return { ...event, name: `${server}__${event.name}` };
    }
    return event;
  }

  private async register(spec: LettaMcpServerSpec): Promise<void> {
    const { client, logger, returnCharLimit } = this.options;
    try {
      const config =
        spec.transport === 'stdio'
          ? { mcp_server_type: 'stdio' as const, command: spec.command, args: spec.args ?? [], env: spec.env ?? null }
          : { mcp_server_type: 'streamable_http' as const, server_url: spec.url, custom_headers: spec.headers ?? null };
      const existing = (await client.mcpServers.list()).find((server) => server.server_name === spec.name);
      let id: string;
      if (existing?.id) {
        // The operator's settings win over what Letta holds: a changed URL or token is taken.
        await client.mcpServers.update(existing.id, { config });
        await client.mcpServers.refresh(existing.id);
        id = existing.id;
      } else {
        const created = await client.mcpServers.create({ server_name: spec.name, config });
        if (!created.id) throw new Error('Letta gave the MCP server no id');
        id = created.id;
      }
      const tools = (await client.mcpServers.tools.list(id)).flatMap((tool) =>
        tool.id && tool.name
          ? [
              {
                id: tool.id,
                name: tool.name,
                limit: tool.return_char_limit,
                tokens: countTokens(JSON.stringify(tool.json_schema ?? {})),
              },
            ]
          : [],
      );
      for (const tool of tools) {
        if (tool.limit !== returnCharLimit) await client.tools.update(tool.id, { return_char_limit: returnCharLimit });
      }
      if (tools.length === 0) {
        // Letta keeps a server it could not reach, with no tools: listed again (refreshed) on a later turn.
        logger.warn(
          { mcpServer: spec.name },
          'Letta lists no tools of the MCP server (it may not reach it); agents work without them until it does',
        );
        return;
      }
      this.registered.set(
        spec.name,
        tools.map(({ id: toolId, name, tokens }) => ({ id: toolId, name, tokens })),
      );
      logger.info({ mcpServer: spec.name, tools: tools.length }, 'MCP server registered with Letta');
    } catch (error) {
      logger.warn(
        { mcpServer: spec.name, ...errorOf(error) },
        'Letta could not register the MCP server; agents work without its tools until it can',
      );
    }
  }
}

/**
 * What is logged of a failure: Letta's status alone for its answers, whose detail may quote the
 * server's URL or command line (and the tokens in them).
 */
function errorOf(error: unknown): object {
  // The logger passes `err` through safeError.
  return error instanceof APIError ? { lettaStatus: error.status } : { err: error };
}
