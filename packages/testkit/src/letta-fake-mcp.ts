import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { isRecord } from './json';

/** A tool Letta made of an MCP server's tool (`tool_type: external_mcp`), as its API returns it. */
export interface FakeLettaTool {
  id: string;
  tool_type: 'external_mcp';
  name: string;
  description: string | null;
  tags: string[];
  json_schema: Record<string, unknown>;
  return_char_limit: number;
}

interface FakeMcpServer {
  id: string;
  serverName: string;
  config: Record<string, unknown>;
  tools: FakeLettaTool[];
}

type Reply = (status: number, json: unknown) => void;

/**
 * Letta's MCP servers (`/v1/mcp-servers`): registered with a config, connected by Letta itself
 * (here with the MCP SDK's real client, to whatever server the test runs), their tools kept as
 * Letta tools an agent can be attached to; a send's tool call to one runs on that server.
 */
export class FakeLettaMcp {
  readonly servers = new Map<string, FakeMcpServer>();
  private readonly tools = new Map<string, { tool: FakeLettaTool; server: FakeMcpServer }>();
  private readonly clients = new Map<string, Client>();

  tool(id: string): FakeLettaTool | undefined {
    return this.tools.get(id)?.tool;
  }

  /** Answers a request under /v1/mcp-servers (and PATCH /v1/tools/{id}); false when the path is not one of them. */
  async handle(method: string, path: string, input: Record<string, unknown>, reply: Reply): Promise<boolean> {
    if (path === '/v1/mcp-servers/' && method === 'GET') {
      reply(200, [...this.servers.values()].map(serverJson));
      return true;
    }
    if (path === '/v1/mcp-servers/' && method === 'POST') {
      const config = isRecord(input.config) ? input.config : {};
      const server: FakeMcpServer = {
        id: `mcp_server-${randomUUID()}`,
        serverName: String(input.server_name),
        config,
        tools: [],
      };
      // Letta connects and lists the server's tools as it registers it; one it cannot reach is kept with none.
      await this.sync(server).catch(() => {});
      this.servers.set(server.id, server);
      reply(200, serverJson(server));
      return true;
    }
    const toolMatch = /^\/v1\/tools\/(tool-[^/]+)$/.exec(path);
    if (toolMatch && method === 'PATCH') {
      const tool = this.tools.get(toolMatch[1] ?? '')?.tool;
      if (!tool) reply(404, { detail: `Tool ${toolMatch[1]} not found` });
      else {
        if (typeof input.return_char_limit === 'number') tool.return_char_limit = input.return_char_limit;
        reply(200, tool);
      }
      return true;
    }
    const match = /^\/v1\/mcp-servers\/(mcp_server-[^/]+)(\/.*)?$/.exec(path);
    if (!match) return false;
    const server = this.servers.get(match[1] ?? '');
    if (!server) {
      reply(404, { detail: `MCP server ${match[1]} not found` });
      return true;
    }
    const rest = match[2] ?? '';
    if (rest === '' && method === 'GET') reply(200, serverJson(server));
    else if (rest === '' && method === 'PATCH') {
      if (isRecord(input.config)) server.config = { ...server.config, ...input.config };
      await this.disconnect(server);
      reply(200, serverJson(server));
    } else if (rest === '/tools' && method === 'GET') reply(200, server.tools);
    else if (rest === '/refresh' && method === 'PATCH') {
      await this.sync(server).catch(() => {});
      reply(200, { message: 'refreshed' });
    } else reply(404, { detail: 'Not Found' });
    return true;
  }

  /** Runs one call of an attached MCP tool, as Letta does: the text of its result, or the error. */
  async call(toolId: string, rawArguments: string): Promise<{ ok: boolean; text: string }> {
    const entry = this.tools.get(toolId);
    if (!entry) return { ok: false, text: `Tool ${toolId} not found` };
    try {
      const args = rawArguments.trim() ? JSON.parse(rawArguments) : {};
      const client = await this.client(entry.server);
      const result = (await client.callTool({ name: entry.tool.name, arguments: args })) as CallToolResult;
      const text = result.content
        .map((part) => (part.type === 'text' ? part.text : `[${part.type}]`))
        .join('\n')
        .slice(0, entry.tool.return_char_limit);
      return { ok: !result.isError, text };
    } catch (error) {
      return { ok: false, text: `Error executing MCP tool: ${String(error)}` };
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.clients.values()].map((client) => client.close()));
    this.clients.clear();
  }

  private async sync(server: FakeMcpServer): Promise<void> {
    await this.disconnect(server);
    const client = await this.client(server);
    const { tools } = await client.listTools();
    for (const old of server.tools) this.tools.delete(old.id);
    server.tools = tools.map((tool) => {
      const known = server.tools.find((old) => old.name === tool.name);
      return {
        id: known?.id ?? `tool-${randomUUID()}`,
        tool_type: 'external_mcp' as const,
        name: tool.name,
        description: tool.description ?? null,
        tags: [`mcp:${server.serverName}`],
        json_schema: { name: tool.name, description: tool.description ?? '', parameters: tool.inputSchema },
        return_char_limit: 50_000,
      };
    });
    for (const tool of server.tools) this.tools.set(tool.id, { tool, server });
  }

  private async client(server: FakeMcpServer): Promise<Client> {
    const open = this.clients.get(server.id);
    if (open) return open;
    const client = new Client({ name: 'fake-letta', version: '0.16.7' });
    await client.connect(transportFor(server.config));
    client.onclose = () => {
      if (this.clients.get(server.id) === client) this.clients.delete(server.id);
    };
    this.clients.set(server.id, client);
    return client;
  }

  private async disconnect(server: FakeMcpServer): Promise<void> {
    const client = this.clients.get(server.id);
    this.clients.delete(server.id);
    await client?.close().catch(() => {});
  }
}

function transportFor(config: Record<string, unknown>): Transport {
  if (config.mcp_server_type === 'stdio') {
    return new StdioClientTransport({
      command: String(config.command),
      args: Array.isArray(config.args) ? config.args.map(String) : [],
      ...(isRecord(config.env) ? { env: config.env as Record<string, string> } : {}),
      stderr: 'ignore',
    });
  }
  const headers: Record<string, string> = isRecord(config.custom_headers)
    ? { ...(config.custom_headers as Record<string, string>) }
    : {};
  if (typeof config.auth_header === 'string' && typeof config.auth_token === 'string') {
    headers[config.auth_header] = config.auth_token;
  }
  return new StreamableHTTPClientTransport(new URL(String(config.server_url)), { requestInit: { headers } });
}

function serverJson(server: FakeMcpServer): Record<string, unknown> {
  return { ...server.config, id: server.id, server_name: server.serverName };
}
