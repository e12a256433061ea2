import { createServer } from 'node:net';
import type { RunEvent } from '@hearth/sdk';
import {
  type LlmRequestRecord,
  type LlmTestServer,
  type McpHttpTestServer,
  mcpStdioServerCommand,
  startLlmTestServer,
  startMcpTestServer,
} from '@hearth/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, startBackend } from '../support/agent-backends';
import { chatTurn, collectRun } from '../support/run-events';
import {
  signedInClient,
  startTestServer,
  TEST_JWT_SECRET,
  type TestServer,
  testLlmClient,
} from '../support/test-server';

const TOKEN = 'mcp-bearer-token-5f1e';
const DOWN_SECRET = 'down-server-secret-9c2d';

/** A port nothing listens on (yet). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

type ToolResult = Extract<RunEvent, { type: 'tool.result' }>;
type WireTool = { function: { name: string; parameters: unknown } };
type WireMessage = { role: string; tool_call_id?: string; content: string };
const toolsOf = (request: LlmRequestRecord | undefined) => (request?.tools ?? []) as WireTool[];
const toolNames = (request: LlmRequestRecord | undefined) => toolsOf(request).map((tool) => tool.function.name);
const lastMessage = (request: LlmRequestRecord | undefined) => ((request?.messages ?? []) as WireMessage[]).at(-1);

const resultsOf = (events: Array<{ data: RunEvent }>) =>
  events.flatMap((e) => (e.data.type === 'tool.result' ? [e.data] : [])) as ToolResult[];

/** The model's answer after a tool ran: what the tool said, so the answer shows it used the result. */
function answerFromToolResult(request: LlmRequestRecord) {
  const last = request.messages.at(-1) as { role: string; content: string } | undefined;
  if (last?.role !== 'tool') return { text: 'Hello.' };
  // The built-in runtime sends { ok, result }; Letta { status, message, time }.
  const { ok, result, status, message } = JSON.parse(last.content) as Record<string, unknown>;
  const succeeded = ok ?? status === 'OK';
  return { text: succeeded ? `The tool said ${String(result ?? message)}.` : 'The tool failed.' };
}

describe('tools from MCP servers, built-in agent', () => {
  let llm: LlmTestServer;
  let calc: McpHttpTestServer;
  let late: McpHttpTestServer | null = null;
  let latePort: number;
  let server: TestServer;

  beforeAll(async () => {
    llm = await startLlmTestServer({ respond: answerFromToolResult });
    calc = await startMcpTestServer({ bearerToken: TOKEN });
    latePort = await freePort();
    const stdio = mcpStdioServerCommand();
    server = await startTestServer({
      store: { kind: 'pglite-memory' },
      llm: testLlmClient(llm),
      captureLogs: true,
      env: {
        MCP_SERVERS: JSON.stringify([
          { name: 'calc', transport: 'http', url: calc.url, headers: { authorization: `Bearer ${TOKEN}` } },
          { name: 'local', transport: 'stdio', ...stdio, env: { GREETING: 'hello from env' } },
          // Down at start-up; brought up by a test.
          {
            name: 'late',
            transport: 'http',
            url: `http://127.0.0.1:${latePort}/mcp?key=${DOWN_SECRET}`,
            headers: { 'x-api-key': DOWN_SECRET },
          },
          { name: 'broken', transport: 'stdio', command: '/nonexistent/mcp-server', env: { TOKEN: DOWN_SECRET } },
        ]),
        MCP_TOOL_TIMEOUT_MS: '1000',
        MCP_TOOL_RESULT_MAX_TOKENS: '50',
      },
    });
  }, 60_000);
  afterEach(() => {
    llm.reset();
    llm.setResponder(answerFromToolResult);
  });
  afterAll(async () => {
    await server?.close();
    await late?.close();
    await calc?.close();
    await llm?.close();
  });

  const signedIn = () => signedInClient(server, 'mcp');

  it('starts with the servers that answer, warns of the others without their secrets, and offers their tools', async () => {
    expect(server.hearth.describe()).toContain('MCP tools: calc (7 tools), local (7 tools), late (not reachable yet)');
    const logs = server.logs();
    expect(logs).toMatch(/"mcpServer":"late".*MCP server not reachable/);
    // The reason is told (safeError's fields), the env it was to start with is not.
    expect(logs).toMatch(/"mcpServer":"broken","err":\{[^\n]*ENOENT[^\n]*MCP server not reachable/);
    expect(logs).not.toContain(DOWN_SECRET);
    expect(logs).not.toContain(TOKEN);

    const client = await signedIn();
    llm.enqueue({ text: 'Hi.' });
    expect((await chatTurn(client, 'hello')).terminal?.type).toBe('run.completed');
    const names = toolNames(llm.calls[0]);
    expect(names).toEqual(expect.arrayContaining(['memory_insert', 'conversation_search', 'calc__add', 'local__echo']));
    expect(names.filter((name) => name.startsWith('broken__') || name.startsWith('late__'))).toEqual([]);
    const add = toolsOf(llm.calls[0]).find((tool) => tool.function.name === 'calc__add');
    expect(add?.function.parameters).toMatchObject({
      type: 'object',
      properties: { a: { type: 'number' }, b: { type: 'number' } },
    });
    // The operator's headers reached the HTTP server.
    expect(calc.requests.every((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('offers a server that was down at start-up once it answers', async () => {
    late = await startMcpTestServer({ port: latePort });
    await expect.poll(() => server.hearth.describe(), { timeout: 20_000, interval: 250 }).toContain('late (7 tools)');
    const client = await signedIn();
    llm.enqueue({ toolCalls: [{ name: 'late__echo', arguments: '{"text":"better late"}' }] });
    const turn = await chatTurn(client, 'you there?');
    expect(toolNames(llm.calls[0])).toContain('late__echo');
    expect(turn.terminal).toMatchObject({ message: { content: 'The tool said better late.' } });
    // The URL's query and the headers were the operator's, and are not logged.
    expect(server.logs()).not.toContain(DOWN_SECRET);
  }, 30_000);
  it('streams an HTTP server tool call and its result, and answers with the result', async () => {
    const client = await signedIn();
    llm.enqueue({ toolCalls: [{ id: 'call_add', name: 'calc__add', arguments: '{"a":2,"b":3}' }] });
    const turn = await chatTurn(client, 'what is 2 + 3?');
    const tools = turn.events.map((e) => e.data).filter((d) => d.type.startsWith('tool.'));
    expect(tools).toEqual([
      { type: 'tool.call', callId: 'call_add', name: 'calc__add', arguments: { a: 2, b: 3 } },
      { type: 'tool.result', callId: 'call_add', name: 'calc__add', ok: true, result: '5' },
    ]);
    expect(turn.terminal).toMatchObject({ type: 'run.completed', message: { content: 'The tool said 5.' } });
    expect(calc.calls.at(-1)).toEqual({ tool: 'add', arguments: { a: 2, b: 3 } });
    expect(lastMessage(llm.calls[1])).toMatchObject({ role: 'tool', tool_call_id: 'call_add' });
    // Usage counts both model steps.
    expect(turn.terminal?.type === 'run.completed' && turn.terminal.usage.completionTokens).toBeGreaterThan(0);
  });

  it('calls a stdio server, which has its configured env and none of Hearth’s', async () => {
    const client = await signedIn();
    llm.enqueue({
      toolCalls: [
        { name: 'local__echo', arguments: '{"text":"ping"}' },
        { name: 'local__getenv', arguments: '{"name":"GREETING"}' },
        { name: 'local__getenv', arguments: '{"name":"JWT_SECRET"}' },
      ],
    });
    const turn = await chatTurn(client, 'use the local tools');
    expect(resultsOf(turn.events).map((r) => [r.ok, r.result])).toEqual([
      [true, 'ping'],
      [true, 'hello from env'],
      [true, '(unset)'],
    ]);
    expect(JSON.stringify(turn.events)).not.toContain(TEST_JWT_SECRET);
    expect(turn.terminal?.type).toBe('run.completed');
  });

  it('fails a call past MCP_TOOL_TIMEOUT_MS for the model to read, and the turn goes on', async () => {
    const client = await signedIn();
    llm.enqueue({ toolCalls: [{ name: 'local__slow', arguments: '{"ms":10000}' }] });
    const startedAt = Date.now();
    const turn = await chatTurn(client, 'take your time');
    expect(Date.now() - startedAt).toBeLessThan(8_000);
    expect(resultsOf(turn.events)).toEqual([
      expect.objectContaining({
        name: 'local__slow',
        ok: false,
        result: { error: expect.stringMatching(/did not answer within 1 s/) },
      }),
    ]);
    expect(turn.terminal).toMatchObject({ type: 'run.completed', message: { content: 'The tool failed.' } });
    // The server is still there for the next call.
    llm.enqueue({ toolCalls: [{ name: 'local__add', arguments: '{"a":1,"b":1}' }] });
    expect((await chatTurn(client, 'again')).terminal).toMatchObject({ message: { content: 'The tool said 2.' } });
  });

  it("reads the tool's own errors, bad arguments and unknown tools as failed results", async () => {
    const client = await signedIn();
    llm.enqueue({
      toolCalls: [
        { name: 'calc__fail', arguments: '{}' },
        { name: 'calc__add', arguments: '{"a":"two"}' },
        { name: 'calc__add', arguments: '{"a":' },
        { name: 'calc__nope', arguments: '{}' },
      ],
    });
    const turn = await chatTurn(client, 'break things');
    const results = resultsOf(turn.events);
    expect(results.map((r) => r.ok)).toEqual([false, false, false, false]);
    expect(results[0]?.result).toEqual({ error: 'the tool failed on purpose' });
    // The server's own check of the arguments against the tool's schema.
    expect(results[1]?.result).toEqual({ error: expect.stringMatching(/Input validation error/) });
    expect(results[2]?.result).toEqual({ error: 'The arguments are not valid JSON.' });
    expect(results[3]?.result).toEqual({ error: 'The tool server "calc" has no tool "calc__nope" now.' });
    expect(turn.terminal?.type).toBe('run.completed');
  });

  it('cuts a long result to MCP_TOOL_RESULT_MAX_TOKENS before the model reads it', async () => {
    const client = await signedIn();
    llm.enqueue({ toolCalls: [{ name: 'calc__big', arguments: '{"chars":200000}' }] });
    const turn = await chatTurn(client, 'a lot please');
    const [result] = resultsOf(turn.events);
    expect(result?.ok).toBe(true);
    expect(String(result?.result).length).toBeLessThan(1_000);
    expect(String(result?.result)).toContain('[cut: the result was 200000 characters, over the limit of 50 tokens]');
    expect(lastMessage(llm.calls[1])?.content.length).toBeLessThan(1_000);
  });

  it('never spends past the budget in a loop of tool calls', async () => {
    const client = await signedIn();
    // Each step's prompt carries the tools' schemas and every result so far: a few steps fit, not eight.
    const limitMicros = 3_000;
    await client.user.setBudget.mutate({ limitUsd: limitMicros / 1_000_000, period: 'month' });
    llm.setResponder(() => ({ toolCalls: [{ name: 'calc__big', arguments: '{"chars":2000}' }] }));
    const turn = await chatTurn(client, 'loop until the money runs out');
    expect(resultsOf(turn.events).length).toBeGreaterThan(0);
    expect(llm.callCount).toBeLessThan(8);
    expect(turn.terminal).toMatchObject({ type: 'run.failed', appCode: 'BUDGET_EXCEEDED' });
    const budget = await client.user.budget.query();
    expect(Math.round(budget.spentUsd * 1_000_000)).toBeLessThanOrEqual(limitMicros);
    expect(budget.reservedUsd).toBe(0);
    // Every step that ran was billed, the tools' schemas and results with its prompt.
    const steps = turn.events.filter((e) => e.data.type === 'usage');
    expect(steps).toHaveLength(llm.callCount);
  });

  it('stops a call when the run is cancelled', async () => {
    const client = await signedIn();
    llm.enqueue({ toolCalls: [{ name: 'local__slow', arguments: '{"ms":800}' }] });
    const sent = await client.chat.send.mutate({ text: 'slow then cancel' });
    await collectRun(client, sent.runId, { stopAfter: (e) => e.data.type === 'tool.call' });
    await client.chat.cancel.mutate({ runId: sent.runId });
    const rest = await collectRun(client, sent.runId);
    expect(rest.terminal?.type).toBe('run.cancelled');
    expect(llm.callCount).toBe(1);
  });

  it('connects again to a stdio server whose process died', async () => {
    const client = await signedIn();
    llm.enqueue({ toolCalls: [{ name: 'local__crash', arguments: '{}' }] });
    const turn = await chatTurn(client, 'crash it');
    expect(resultsOf(turn.events)).toEqual([
      expect.objectContaining({ ok: false, result: { error: expect.stringMatching(/stopped answering/) } }),
    ]);
    expect(turn.terminal?.type).toBe('run.completed');
    await expect.poll(() => server.hearth.describe(), { timeout: 10_000, interval: 200 }).toContain('local (7 tools)');
    llm.enqueue({ toolCalls: [{ name: 'local__add', arguments: '{"a":20,"b":22}' }] });
    expect((await chatTurn(client, 'add again')).terminal).toMatchObject({ message: { content: 'The tool said 42.' } });
  });
});

describe('tools from MCP servers, Letta agent', () => {
  let llm: LlmTestServer;
  let calc: McpHttpTestServer;
  let backend: Backend;
  let server: TestServer;
  let downPort: number;

  beforeAll(async () => {
    llm = await startLlmTestServer({ respond: answerFromToolResult });
    calc = await startMcpTestServer({ bearerToken: TOKEN });
    downPort = await freePort();
    backend = await startBackend('letta', llm, { timeoutMs: 10_000 });
    server = await startTestServer({
      store: { kind: 'pglite-memory' },
      captureLogs: true,
      ...backend.server,
      env: {
        ...backend.server.env,
        MCP_SERVERS: JSON.stringify([
          { name: 'calc', transport: 'http', url: calc.url, headers: { authorization: `Bearer ${TOKEN}` } },
          { name: 'down', transport: 'http', url: `http://127.0.0.1:${downPort}/mcp?key=${DOWN_SECRET}` },
        ]),
        MCP_TOOL_RESULT_MAX_TOKENS: '50',
      },
    });
  }, 60_000);
  afterEach((context) => {
    if (context.task.result?.state === 'fail') process.stderr.write(server.logs());
    llm.reset();
    backend.assertClean();
  });
  afterAll(async () => {
    await server?.close();
    await backend?.close();
    await calc?.close();
    await llm?.close();
  });

  it('registers the servers with Letta, attaches their tools to the agent, and streams their calls', async () => {
    const client = await signedInClient(server, 'mcp-letta');
    llm.enqueue({ toolCalls: [{ id: 'call_add', name: 'add', arguments: '{"a":2,"b":3}' }] });
    const turn = await chatTurn(client, 'what is 2 + 3?');
    expect(turn.events.map((e) => e.data).filter((d) => d.type.startsWith('tool.'))).toEqual([
      { type: 'tool.call', callId: 'call_add', name: 'calc__add', arguments: { a: 2, b: 3 } },
      { type: 'tool.result', callId: 'call_add', name: 'calc__add', ok: true, result: 5 },
    ]);
    expect(turn.terminal).toMatchObject({ type: 'run.completed', message: { content: 'The tool said 5.' } });
    expect(calc.calls.at(-1)).toEqual({ tool: 'add', arguments: { a: 2, b: 3 } });

    const letta = backend.letta;
    const servers = [...(letta?.mcp.servers.values() ?? [])];
    // Letta keeps the server it could not reach, with no tools; Hearth warns of it without its secret.
    expect(Object.fromEntries(servers.map((s) => [s.serverName, s.tools.length]))).toEqual({ calc: 7, down: 0 });
    expect(servers.find((s) => s.serverName === 'calc')?.config).toMatchObject({
      mcp_server_type: 'streamable_http',
      server_url: calc.url,
      custom_headers: { authorization: `Bearer ${TOKEN}` },
    });
    const agent = [...(letta?.agents.values() ?? [])][0];
    expect(agent?.toolIds).toHaveLength(7);
    expect(toolNames(llm.calls[0])).toEqual(expect.arrayContaining(['memory_insert', 'add', 'echo']));
    expect(server.logs()).toMatch(/"mcpServer":"down".*Letta lists no tools of the MCP server/);
    expect(server.logs()).not.toContain(DOWN_SECRET);
    expect(server.logs()).not.toContain(TOKEN);
  });

  it('caps what Letta gives its model of a result at MCP_TOOL_RESULT_MAX_TOKENS, as characters', async () => {
    const tools = [...(backend.letta?.mcp.servers.values() ?? [])].flatMap((s) => s.tools);
    expect(tools.every((tool) => tool.return_char_limit === 200)).toBe(true);
    const client = await signedInClient(server, 'mcp-letta');
    llm.enqueue({ toolCalls: [{ name: 'big', arguments: '{"chars":5000}' }] });
    const turn = await chatTurn(client, 'a lot please');
    const [result] = resultsOf(turn.events);
    expect(result).toMatchObject({ name: 'calc__big', ok: true });
    expect(String(result?.result)).toHaveLength(200);
    // A second user's agent gets the tools too.
    const agents = [...(backend.letta?.agents.values() ?? [])];
    expect(agents.map((a) => a.toolIds.length)).toEqual([7, 7]);
  });

  it('finds the servers it registered before when it starts again, and takes the new settings', async () => {
    const before = [...(backend.letta?.mcp.servers.values() ?? [])].map((s) => [s.id, s.tools.map((t) => t.id)]);
    const again = await startTestServer({
      store: { kind: 'pglite-memory' },
      ...backend.server,
      env: {
        ...backend.server.env,
        MCP_SERVERS: JSON.stringify([
          {
            name: 'calc',
            transport: 'http',
            url: calc.url,
            headers: { authorization: `Bearer ${TOKEN}`, 'x-new': '1' },
          },
        ]),
      },
    });
    try {
      const client = await signedInClient(again, 'mcp-letta');
      llm.enqueue({ toolCalls: [{ name: 'echo', arguments: '{"text":"once more"}' }] });
      const turn = await chatTurn(client, 'echo please');
      expect(turn.terminal).toMatchObject({ message: { content: 'The tool said once more.' } });
      const after = [...(backend.letta?.mcp.servers.values() ?? [])];
      expect(after.map((s) => [s.id, s.tools.map((t) => t.id)])).toEqual(before);
      expect(after.find((s) => s.serverName === 'calc')?.config).toMatchObject({
        custom_headers: { authorization: `Bearer ${TOKEN}`, 'x-new': '1' },
      });
    } finally {
      await again.close();
    }
  }, 60_000);
});
