import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { playReply } from './chat-completion-reply';
import { readBody, sendJson } from './http-io';
import { isRecord, parseJson } from './json';
import { errorBody, modelList, newRequestId, nowSeconds } from './openai-wire';
import type { Pacing } from './stream-pump';
import type { LlmReplyScript, LlmRequestRecord, LlmResponder, LlmTestServer, LlmTestServerOptions } from './types';

const DEFAULT_MODEL = 'test-model';
const defaultResponder: LlmResponder = () => ({ text: 'Hello from the test model.' });

function toRecord(body: Record<string, unknown>, req: IncomingMessage): LlmRequestRecord {
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  return {
    model: typeof body.model === 'string' ? body.model : '',
    messages: Array.isArray(body.messages) ? body.messages : [],
    ...(Array.isArray(body.tools) ? { tools: body.tools } : {}),
    stream: Boolean(body.stream),
    ...(typeof maxTokens === 'number' ? { maxTokens } : {}),
    ...(body.stream_options === undefined ? {} : { streamOptions: body.stream_options }),
    body,
    headers: { ...req.headers },
  };
}

/** Mirrors OpenAI's 401 bodies, which differ for a missing and a wrong key. */
function authFailure(req: IncomingMessage, apiKey: string | undefined) {
  if (apiKey === undefined) return undefined;
  const header = req.headers.authorization;
  if (header === `Bearer ${apiKey}`) return undefined;
  if (!header?.startsWith('Bearer ')) {
    return errorBody(
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      'invalid_request_error',
    );
  }
  return errorBody(
    `Incorrect API key provided: ${header.slice('Bearer '.length)}.`,
    'invalid_request_error',
    'invalid_api_key',
  );
}

/** Starts a scriptable OpenAI-compatible chat-completions server on 127.0.0.1. */
export async function startLlmTestServer(options: LlmTestServerOptions = {}): Promise<LlmTestServer> {
  const calls: LlmRequestRecord[] = [];
  const queue: LlmReplyScript[] = [];
  const models = new Set([DEFAULT_MODEL]);
  const created = nowSeconds();
  const pacing: Pacing = { ttftMs: options.ttftMs ?? 0, tokenIntervalMs: options.tokenIntervalMs ?? 0 };
  let respond = options.respond ?? defaultResponder;

  async function nextScript(record: LlmRequestRecord, callIndex: number): Promise<LlmReplyScript> {
    const queued = queue.shift();
    if (queued) return queued;
    try {
      return await respond(record, callIndex);
    } catch (error) {
      // A throwing responder is a bug in the test; surface it to the client instead of crashing the server.
      return { error: { status: 500, message: `Test responder failed: ${String(error)}`, type: 'server_error' } };
    }
  }

  async function chatCompletions(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const parsed = parseJson(await readBody(req));
    const body = parsed.ok && isRecord(parsed.value) ? parsed.value : undefined;
    const record = body && toRecord(body, req);
    const callIndex = record ? calls.push(record) - 1 : -1;

    const unauthorized = authFailure(req, options.apiKey);
    if (unauthorized) return sendJson(res, 401, unauthorized);
    if (!record) {
      return sendJson(
        res,
        400,
        errorBody('We could not parse the JSON body of your request.', 'invalid_request_error'),
      );
    }
    if (typeof body?.model !== 'string' || body.model === '') {
      return sendJson(res, 400, errorBody('you must provide a model parameter', 'invalid_request_error'));
    }
    if (!Array.isArray(body.messages)) {
      return sendJson(
        res,
        400,
        errorBody("Missing required parameter: 'messages'.", 'invalid_request_error', 'missing_required_parameter'),
      );
    }
    models.add(record.model);
    await playReply(res, record, await nextScript(record, callIndex), pacing, signal);
  }

  async function route(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    res.setHeader('x-request-id', newRequestId());
    if (req.method === 'POST' && path === '/v1/chat/completions') return chatCompletions(req, res, signal);
    if (req.method === 'GET' && path === '/v1/models') {
      const unauthorized = authFailure(req, options.apiKey);
      return sendJson(res, unauthorized ? 401 : 200, unauthorized ?? modelList(models, created));
    }
    sendJson(res, 404, errorBody(`Invalid URL (${req.method} ${path})`, 'invalid_request_error'));
  }

  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const aborted = new AbortController();
    // 'close' also fires after a normal end; aborting then is harmless and frees any pending timer.
    res.on('close', () => aborted.abort());
    // Writes racing a client hang-up must not become an unhandled 'error' event.
    res.on('error', () => {});
    route(req, res, aborted.signal).catch((error: unknown) => {
      if (res.headersSent) res.destroy();
      else sendJson(res, 500, errorBody(`Test server failed: ${String(error)}`, 'server_error'));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    calls,
    get callCount() {
      return calls.length;
    },
    enqueue(...replies) {
      queue.push(...replies);
    },
    setResponder(next) {
      respond = next;
    },
    reset() {
      calls.length = 0;
      queue.length = 0;
    },
    close() {
      return new Promise((resolve) => {
        // Errors only say the server was already closed, which is what the caller wants anyway.
        server.close(() => resolve());
        // Stalled streams and keep-alive connections would otherwise hold close() open forever.
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}
