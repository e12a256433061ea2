import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { readBody } from './http-io';
import { isRecord, parseJson } from './json';
import { FakeLettaMcp } from './letta-fake-mcp';
import { type FakeLettaBlock, limitError, newBlock, newPassage, passageJson } from './letta-fake-memory';
import { type FakeLettaAgent, runSend } from './letta-fake-send';
import { ContractLog, OpenApiContract } from './openapi-contract';

export type { FakeLettaAgent } from './letta-fake-send';

export interface FakeLettaOptions {
  /** OpenAI-compatible base URL (ending in /v1) the agents' model calls go to: the LLM test server. */
  llmUrl: string;
  /** Keepalive pings after this much silence in a stream; Letta's own is 20 s. */
  pingIntervalMs?: number;
}

/** What a test can make the next send do wrong, beyond what the scripted model does. */
export interface FakeLettaFault {
  /** Destroy the connection after this many stream events (a dropped connection). */
  dropAfterEvents?: number;
}

export interface FakeLettaSendRecord {
  agentId: string;
  runId: string;
  text: string;
  startedAt: number;
  endedAt: number | null;
}

export interface FakeLetta {
  url: string;
  /** Every exchange, checked against Letta's OpenAPI spec; call `contract.assertClean()` after each test. */
  contract: ContractLog;
  agents: Map<string, FakeLettaAgent>;
  /** The MCP servers registered with it, and their tools. */
  mcp: FakeLettaMcp;
  sends: FakeLettaSendRecord[];
  /** Run ids (or `*` for all of an agent's runs) that `…/messages/cancel` was asked to stop. */
  cancels: Array<{ agentId: string; runIds: string[] | null }>;
  /** The Authorization header of every request. */
  authorizations: Array<string | undefined>;
  /** The most sends one agent ever had in flight at once, per agent. */
  maxConcurrentSends(agentId: string): number;
  failNextSend(fault: FakeLettaFault): void;
  close(): Promise<void>;
}

const SDK_VERSION_HEADER = 'x-stainless-package-version';

const validationError = (loc: Array<string | number>, msg: string) => ({
  detail: [{ loc, msg, type: 'value_error' }],
});

/**
 * A stand-in for a Letta server (v1 API, shared/reference/letta.md) at its HTTP boundary: agents
 * with tags, core-memory blocks with enforced limits, streamed sends run by a small agent loop
 * against an OpenAI-compatible model (memory_insert / memory_replace applied to its own blocks),
 * message history, reset and cancel, MCP servers whose tools an agent can be attached to. Every request, JSON response and stream event goes through
 * the contract checker, so an adapter or a fake drifting from Letta's spec fails the test.
 */
export async function startFakeLetta(options: FakeLettaOptions): Promise<FakeLetta> {
  const contract = new ContractLog(OpenApiContract.load('letta'));
  const agents = new Map<string, FakeLettaAgent>();
  const mcp = new FakeLettaMcp();
  const sends: FakeLettaSendRecord[] = [];
  const cancels: FakeLetta['cancels'] = [];
  const authorizations: Array<string | undefined> = [];
  const active = new Map<string, number>();
  const mostActive = new Map<string, number>();
  const cancelledRuns = new Set<string>();
  const faults: FakeLettaFault[] = [];
  const pingIntervalMs = options.pingIntervalMs ?? 20_000;

  const blockJson = (block: FakeLettaBlock) => ({
    id: block.id,
    label: block.label,
    value: block.value,
    limit: block.limit,
    description: block.description,
    metadata: block.metadata,
    read_only: false,
  });
  const agentJson = (agent: FakeLettaAgent) => {
    const blocks = [...agent.blocks.values()].map(blockJson);
    return {
      id: agent.id,
      name: agent.name,
      system: 'You are a helpful self-improving agent with advanced memory (a fake Letta agent).',
      agent_type: 'letta_v1_agent',
      llm_config: {
        model: agent.model.slice(agent.model.indexOf('/') + 1),
        model_endpoint_type: 'openai',
        context_window: 128_000,
        ...(agent.maxTokens ? { max_tokens: agent.maxTokens } : {}),
      },
      model: agent.model,
      embedding: agent.embedding,
      memory: { blocks },
      blocks,
      tools: agent.toolIds.flatMap((id) => mcp.tool(id) ?? []),
      sources: [],
      tags: agent.tags,
      metadata: agent.metadata,
      created_at: agent.createdAt,
      updated_at: agent.createdAt,
    };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, closed: AbortSignal) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const path = url.pathname;
    authorizations.push(req.headers.authorization);
    const text = method === 'GET' || method === 'DELETE' ? '' : await readBody(req);
    const parsed = text ? parseJson(text) : undefined;
    const body = parsed?.ok ? parsed.value : undefined;
    contract.request({ method, path, query: url.searchParams, ...(body === undefined ? {} : { body }) });
    const reply = (status: number, json: unknown) => {
      contract.response({ method, path }, { status, body: json });
      const payload = JSON.stringify(json);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
      res.end(payload);
    };
    const input = isRecord(body) ? body : {};

    if (method === 'GET' && path === '/v1/health/') return reply(200, { version: '0.16.7', status: 'ok' });

    if (path === '/v1/agents/' && method === 'POST') {
      const handle = String(input.model ?? 'openai/gpt-4.1-mini');
      const agent: FakeLettaAgent = {
        id: `agent-${randomUUID()}`,
        name: typeof input.name === 'string' ? input.name : 'agent',
        tags: Array.isArray(input.tags) ? input.tags.map(String) : [],
        metadata: isRecord(input.metadata) ? input.metadata : null,
        model: handle,
        embedding: typeof input.embedding === 'string' ? input.embedding : null,
        maxTokens: typeof input.max_tokens === 'number' ? input.max_tokens : null,
        createdAt: new Date().toISOString(),
        blocks: new Map(),
        passages: [],
        context: [],
        messages: [],
        toolIds: [],
      };
      const blocks = Array.isArray(input.memory_blocks) ? input.memory_blocks.filter(isRecord).map(newBlock) : [];
      for (const block of blocks) {
        if (block.value.length > block.limit) {
          return reply(422, validationError(['body', 'memory_blocks'], limitError(block, block.value.length)));
        }
        agent.blocks.set(block.label, block);
      }
      agents.set(agent.id, agent);
      return reply(200, agentJson(agent));
    }
    if (path === '/v1/agents/' && method === 'GET') {
      const tags = url.searchParams.getAll('tags');
      const all = url.searchParams.get('match_all_tags') === 'true';
      let found = [...agents.values()].filter((agent) =>
        tags.length === 0
          ? true
          : all
            ? tags.every((t) => agent.tags.includes(t))
            : tags.some((t) => agent.tags.includes(t)),
      );
      found.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
      if (url.searchParams.get('order') !== 'asc') found.reverse();
      const limit = Number(url.searchParams.get('limit') ?? 50);
      found = found.slice(0, limit);
      return reply(200, found.map(agentJson));
    }

    if (await mcp.handle(method, path, input, reply)) return;

    const match = /^\/v1\/agents\/(agent-[^/]+)(\/.*)?$/.exec(path);
    const agent = match?.[1] ? agents.get(match[1]) : undefined;
    if (!match || !agent) return reply(404, { detail: `Agent ${match?.[1] ?? ''} not found` });
    const rest = match[2] ?? '';

    if (rest === '' && method === 'GET') return reply(200, agentJson(agent));
    if (rest === '' && method === 'PATCH') {
      // The fields Hearth changes; the agent's next send calls its model under the new handle.
      if (typeof input.model === 'string') agent.model = input.model;
      if (typeof input.max_tokens === 'number') agent.maxTokens = input.max_tokens;
      return reply(200, agentJson(agent));
    }
    if (rest === '' && method === 'DELETE') {
      agents.delete(agent.id);
      return reply(200, { message: `Agent id=${agent.id} successfully deleted` });
    }
    const attach = /^\/tools\/attach\/([^/]+)$/.exec(rest);
    if (attach?.[1] && method === 'PATCH') {
      const toolId = decodeURIComponent(attach[1]);
      if (!mcp.tool(toolId)) return reply(404, { detail: `Tool ${toolId} not found` });
      if (!agent.toolIds.includes(toolId)) agent.toolIds.push(toolId);
      return reply(200, agentJson(agent));
    }
    if (rest === '/core-memory/blocks' && method === 'GET') {
      return reply(200, [...agent.blocks.values()].map(blockJson));
    }
    const blockMatch = /^\/core-memory\/blocks\/([^/]+)$/.exec(rest);
    if (blockMatch?.[1]) {
      const block = agent.blocks.get(decodeURIComponent(blockMatch[1]));
      if (!block) return reply(404, { detail: `Block with label ${blockMatch[1]} not found` });
      if (method === 'GET') return reply(200, blockJson(block));
      if (method === 'PATCH') {
        const limit = typeof input.limit === 'number' ? input.limit : block.limit;
        const value = typeof input.value === 'string' ? input.value : block.value;
        if (value.length > limit) {
          return reply(422, validationError(['body', 'value'], limitError({ ...block, limit }, value.length)));
        }
        block.value = value;
        block.limit = limit;
        if (typeof input.description === 'string') block.description = input.description;
        if (isRecord(input.metadata)) block.metadata = { ...input.metadata };
        return reply(200, blockJson(block));
      }
    }
    if (rest === '/archival-memory' && method === 'GET') {
      const search = url.searchParams.get('search')?.toLowerCase();
      let found = agent.passages.filter((p) => !search || p.text.toLowerCase().includes(search));
      if (url.searchParams.get('ascending') === 'false') found = [...found].reverse();
      const after = url.searchParams.get('after');
      if (after) found = found.slice(found.findIndex((p) => p.id === after) + 1);
      return reply(200, found.slice(0, Number(url.searchParams.get('limit') ?? 100)).map(passageJson));
    }
    if (rest === '/archival-memory' && method === 'POST') {
      if (typeof input.text !== 'string') return reply(422, validationError(['body', 'text'], 'Field required'));
      const passage = newPassage(input.text, input.tags);
      agent.passages.push(passage);
      return reply(200, [passageJson(passage)]);
    }
    const passageMatch = /^\/archival-memory\/([^/]+)$/.exec(rest);
    if (passageMatch?.[1] && method === 'DELETE') {
      const at = agent.passages.findIndex((p) => p.id === decodeURIComponent(passageMatch[1] ?? ''));
      if (at < 0) return reply(404, { detail: `Passage ${passageMatch[1]} not found` });
      agent.passages.splice(at, 1);
      return reply(200, null);
    }
    if (rest === '/messages' && method === 'GET') {
      const order = url.searchParams.get('order') ?? 'desc';
      const limit = Number(url.searchParams.get('limit') ?? 100);
      const list = order === 'asc' ? [...agent.messages] : [...agent.messages].reverse();
      return reply(200, list.slice(0, limit));
    }
    if (rest === '/reset-messages' && method === 'PATCH') {
      agent.messages.length = 0;
      agent.context.length = 0;
      return reply(200, agentJson(agent));
    }
    if (rest === '/messages/cancel' && method === 'POST') {
      const runIds = Array.isArray(input.run_ids) ? input.run_ids.map(String) : null;
      cancels.push({ agentId: agent.id, runIds });
      const targets = runIds ?? sends.filter((s) => s.agentId === agent.id && s.endedAt === null).map((s) => s.runId);
      for (const runId of targets) cancelledRuns.add(runId);
      return reply(200, Object.fromEntries(targets.map((runId) => [runId, 'cancelled'])));
    }
    if (rest === '/messages' && method === 'POST') {
      if (input.streaming !== true) {
        return reply(422, validationError(['body', 'streaming'], 'the fake Letta only streams'));
      }
      // Letta treats a caller without the SDK's version header as a legacy client: no streaming here.
      if (!req.headers[SDK_VERSION_HEADER]) {
        return reply(
          422,
          validationError(['body', 'streaming'], 'streaming on /messages needs a current client; use /messages/stream'),
        );
      }
      const message = Array.isArray(input.messages) ? input.messages.find(isRecord) : undefined;
      const content = message?.content ?? input.input;
      if (Array.isArray(content)) {
        // Content parts (LettaMessageContentUnion): the text parts are the message, images go to the model as Letta passes them.
        const parts = content.filter(isRecord);
        const text = parts
          .filter((part) => part.type === 'text')
          .map((part) => String(part.text ?? ''))
          .join('\n');
        const images = parts.flatMap((part) => {
          const source = isRecord(part.source) ? part.source : null;
          return part.type === 'image' && source?.type === 'base64'
            ? [{ mediaType: String(source.media_type), data: String(source.data) }]
            : [];
        });
        return stream(res, closed, agent, text, input, images);
      }
      return stream(res, closed, agent, typeof content === 'string' ? content : JSON.stringify(content), input);
    }
    return reply(404, { detail: 'Not Found' });
  };

  async function stream(
    res: ServerResponse,
    closed: AbortSignal,
    agent: FakeLettaAgent,
    text: string,
    input: Record<string, unknown>,
    images: Array<{ mediaType: string; data: string }> = [],
  ): Promise<void> {
    contract.response({ method: 'POST', path: `/v1/agents/${agent.id}/messages` }, { status: 200 });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    const record: FakeLettaSendRecord = {
      agentId: agent.id,
      runId: `run-${randomUUID()}`,
      text,
      startedAt: Date.now(),
      endedAt: null,
    };
    sends.push(record);
    const inFlight = (active.get(agent.id) ?? 0) + 1;
    active.set(agent.id, inFlight);
    mostActive.set(agent.id, Math.max(mostActive.get(agent.id) ?? 0, inFlight));
    const fault = faults.shift();
    let written = 0;
    let dropped = false;
    let lastWrite = Date.now();
    const write = (frame: string) => {
      if (res.destroyed || dropped) return;
      written += 1;
      lastWrite = Date.now();
      dropped = fault?.dropAfterEvents !== undefined && written >= fault.dropAfterEvents;
      // Cut the connection once the frame is on the wire, so what came before it arrives.
      res.write(frame, () => {
        if (dropped) res.destroy();
      });
    };
    const includePings = input.include_pings !== false;
    const pinger = setInterval(
      () => {
        if (!includePings || Date.now() - lastWrite < pingIntervalMs) return;
        const ping = { id: `ping-${randomUUID()}`, date: new Date().toISOString(), message_type: 'ping' };
        contract.event('LettaPing', ping);
        write(`data: ${JSON.stringify(ping)}\n\n`);
      },
      Math.max(10, Math.floor(pingIntervalMs / 4)),
    );
    try {
      await runSend({
        agent,
        runId: record.runId,
        userText: text,
        userImages: images,
        maxSteps: typeof input.max_steps === 'number' ? input.max_steps : 50,
        llmUrl: options.llmUrl,
        mcp,
        signal: closed,
        cancelled: () => cancelledRuns.has(record.runId) || res.destroyed || dropped,
        emit: (schema, payload) => {
          contract.event(schema, payload);
          write(`data: ${JSON.stringify(payload)}\n\n`);
        },
        emitError: (payload) => {
          contract.event('LettaErrorMessage', payload);
          write(`event: error\ndata: ${JSON.stringify(payload)}\n\n`);
        },
      });
      write('data: [DONE]\n\n');
    } finally {
      clearInterval(pinger);
      record.endedAt = Date.now();
      active.set(agent.id, (active.get(agent.id) ?? 1) - 1);
      if (!res.destroyed) res.end();
    }
  }

  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const closed = new AbortController();
    res.on('close', () => closed.abort());
    res.on('error', () => {});
    handle(req, res, closed.signal).catch((error: unknown) => {
      if (res.headersSent) res.destroy();
      else {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ detail: `fake Letta failed: ${String(error)}` }));
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    contract,
    agents,
    sends,
    cancels,
    authorizations,
    maxConcurrentSends: (agentId) => mostActive.get(agentId) ?? 0,
    failNextSend: (fault) => void faults.push(fault),
    mcp,
    close: async () => {
      await mcp.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}
