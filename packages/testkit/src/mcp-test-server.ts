import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo, Socket } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { readBody, sendJson } from './http-io';
import { parseJson } from './json';

/** One tool call the MCP test server received, as the client sent it. */
export interface McpTestCall {
  tool: string;
  arguments: Record<string, unknown>;
}

export interface McpTestServerOptions {
  /** Called with every tool call, before it runs. */
  onCall?: (call: McpTestCall) => void;
  /** Exits the process (stdio) instead of answering `crash`; over HTTP `crash` only fails. */
  exitOnCrash?: boolean;
}

/**
 * A real MCP server (the SDK's McpServer) with deterministic tools: `add`, `echo`, `slow` (waits,
 * for timeouts and cancellation), `fail` (a tool error), `big` (a long result, for the size cap)
 * `getenv` (what a stdio server was started with) and `crash` (over stdio the process exits, as a
 * server that dies mid-call would).
 */
export function createMcpTestServer(options: McpTestServerOptions = {}): McpServer {
  const server = new McpServer({ name: 'hearth-mcp-test-server', version: '1.0.0' });
  const seen = (tool: string, args: Record<string, unknown>) => options.onCall?.({ tool, arguments: args });
  const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });

  server.registerTool(
    'add',
    { description: 'Adds two numbers.', inputSchema: { a: z.number(), b: z.number() } },
    async (args) => {
      seen('add', args);
      return text(String(args.a + args.b));
    },
  );
  server.registerTool(
    'echo',
    { description: 'Answers with the text it was given.', inputSchema: { text: z.string() } },
    async (args) => {
      seen('echo', args);
      return text(args.text);
    },
  );
  server.registerTool(
    'slow',
    { description: 'Waits `ms` milliseconds, then answers "done".', inputSchema: { ms: z.number().int().min(0) } },
    async (args, extra) => {
      seen('slow', args);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, args.ms);
        // A cancelled request (the client's timeout) frees the timer, as a well-behaved server does.
        extra.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      return text('done');
    },
  );
  server.registerTool('fail', { description: 'Always fails.', inputSchema: {} }, async () => {
    seen('fail', {});
    return { content: [{ type: 'text' as const, text: 'the tool failed on purpose' }], isError: true };
  });
  server.registerTool(
    'big',
    { description: 'Answers with `chars` characters.', inputSchema: { chars: z.number().int().min(0) } },
    async (args) => {
      seen('big', args);
      return text('x'.repeat(args.chars));
    },
  );
  server.registerTool(
    'getenv',
    { description: "One of the server process's environment variables.", inputSchema: { name: z.string() } },
    async (args) => {
      seen('getenv', args);
      return text(process.env[args.name] ?? '(unset)');
    },
  );
  server.registerTool('crash', { description: 'Dies.', inputSchema: {} }, async () => {
    seen('crash', {});
    if (options.exitOnCrash) process.exit(1);
    throw new Error('crash');
  });
  return server;
}

export interface McpHttpTestServer {
  /** The streamable HTTP endpoint, `http://127.0.0.1:<port>/mcp`. */
  url: string;
  /** Every tool call received, in order. */
  calls: McpTestCall[];
  /** Requests seen on the endpoint, with their headers (to check what the client sends). */
  requests: Array<{ method: string; headers: IncomingMessage['headers'] }>;
  close(): Promise<void>;
}

/**
 * The MCP test server over streamable HTTP on a free port of 127.0.0.1, stateless (a new server
 * and transport per request, as the SDK's stateless example does). With `bearerToken`, a request
 * without `Authorization: Bearer <token>` gets a 401. `port` (default: a free one) lets a test bring
 * back a server at the address Hearth was configured with.
 */
export async function startMcpTestServer(
  options: { bearerToken?: string; port?: number } = {},
): Promise<McpHttpTestServer> {
  const calls: McpTestCall[] = [];
  const requests: McpHttpTestServer['requests'] = [];
  const sockets = new Set<Socket>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    requests.push({ method: req.method ?? '', headers: { ...req.headers } });
    if (path !== '/mcp') return sendJson(res, 404, { error: 'not found' });
    if (options.bearerToken && req.headers.authorization !== `Bearer ${options.bearerToken}`) {
      return sendJson(res, 401, { error: 'unauthorized' });
    }
    if (req.method !== 'POST') {
      // Stateless: no standalone SSE stream and no session to delete.
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const parsed = parseJson(await readBody(req));
    const server = createMcpTestServer({ onCall: (call) => calls.push(call) });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, parsed.ok ? parsed.value : undefined);
  }

  const http = createServer((req, res) => {
    res.on('error', () => {});
    handle(req, res).catch(() => {
      if (res.headersSent) res.destroy();
      else sendJson(res, 500, { error: 'test server failed' });
    });
  });
  http.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, '127.0.0.1', () => {
      http.off('error', reject);
      resolve();
    });
  });
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    calls,
    requests,
    close: () =>
      new Promise((resolve) => {
        http.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/**
 * How to start the MCP test server as a child process speaking stdio (mcp-stdio-server.ts, run by
 * tsx): the `command` and `args` of an MCP_SERVERS entry.
 */
export function mcpStdioServerCommand(): { command: string; args: string[] } {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const script = fileURLToPath(new URL('./mcp-stdio-server.ts', import.meta.url));
  return { command: process.execPath, args: ['--import', tsx, script] };
}
