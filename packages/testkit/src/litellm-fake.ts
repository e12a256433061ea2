import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { readBody, sendJson } from './http-io';

export interface FakeLiteLlmUser {
  user_id: string;
  user_email: string | null;
  max_budget: number | null;
  budget_duration: string | null;
  spend: number;
  keys: string[];
}

export interface FakeLiteLlmCall {
  method: string;
  path: string;
  authorization: string | undefined;
  body: Record<string, unknown> | null;
}

export interface FakeLiteLlmOptions {
  masterKey: string;
  /** Where completions are forwarded: an OpenAI-compatible base URL ending in /v1 (the LLM test server). */
  upstreamUrl: string;
  /** What each completion adds to its user's spend, in USD. */
  costPerCallUsd?: number;
}

export interface FakeLiteLlm {
  url: string;
  users: Map<string, FakeLiteLlmUser>;
  calls: FakeLiteLlmCall[];
  /** What `/spend/logs` serves: one row per completion forwarded under a user's key. */
  spendLogs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

const openAiError = (message: string, type: string, code: number) => ({
  error: { message, type, param: null, code: String(code) },
});

/**
 * A stand-in for the LiteLLM proxy at its HTTP boundary (shared/reference/litellm.md): users,
 * virtual keys and budgets under the master key, and /v1/chat/completions forwarded upstream under a
 * user's key, refused with `budget_exceeded` once the user's spend reaches `max_budget` — checked
 * before the call and added after it, as the real proxy does.
 */
export async function startFakeLiteLlm(options: FakeLiteLlmOptions): Promise<FakeLiteLlm> {
  const users = new Map<string, FakeLiteLlmUser>();
  const keyOwner = new Map<string, string>();
  const calls: FakeLiteLlmCall[] = [];
  const spendLogs: Array<Record<string, unknown>> = [];
  const upstream = options.upstreamUrl.replace(/\/+$/, '');

  const newKey = (userId: string) => {
    const key = `sk-${randomBytes(16).toString('hex')}`;
    keyOwner.set(key, userId);
    users.get(userId)?.keys.push(key);
    return key;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const text = req.method === 'POST' ? await readBody(req) : '';
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : null;
    const authorization = req.headers.authorization;
    calls.push({ method: req.method ?? 'GET', path: url.pathname, authorization, body });
    const token = authorization?.replace(/^Bearer /, '');
    const isMaster = token === options.masterKey;

    if (url.pathname === '/health/liveliness') return sendJson(res, 200, "I'm alive!");
    if (url.pathname.startsWith('/v1/')) {
      const userId = token ? keyOwner.get(token) : undefined;
      if (!isMaster && !userId)
        return sendJson(res, 401, openAiError('Invalid proxy server token passed.', 'auth_error', 401));
      const user = userId ? users.get(userId) : undefined;
      if (
        url.pathname === '/v1/chat/completions' &&
        user &&
        user.max_budget !== null &&
        user.spend >= user.max_budget
      ) {
        return sendJson(
          res,
          400,
          openAiError(
            `Budget has been exceeded! Current cost: ${user.spend}, Max budget: ${user.max_budget}`,
            'budget_exceeded',
            400,
          ),
        );
      }
      const forwarded = await fetch(`${upstream}${url.pathname.slice(3)}`, {
        method: req.method ?? 'GET',
        headers: { 'content-type': 'application/json', authorization: 'Bearer upstream' },
        ...(text ? { body: text } : {}),
      });
      res.writeHead(forwarded.status, { 'content-type': forwarded.headers.get('content-type') ?? 'application/json' });
      // Passed through as it comes, and kept, to log the call's usage as the proxy does.
      let received = '';
      if (forwarded.body) {
        for await (const chunk of Readable.fromWeb(forwarded.body as never)) {
          received += (chunk as Buffer).toString('utf8');
          res.write(chunk);
        }
      }
      res.end();
      if (url.pathname === '/v1/chat/completions' && user && forwarded.ok) {
        const cost = options.costPerCallUsd ?? 0.001;
        const usage = usageOf(received);
        const startTime = new Date().toISOString();
        user.spend += cost;
        spendLogs.push({
          request_id: `chatcmpl-${randomBytes(8).toString('hex')}`,
          call_type: 'acompletion',
          api_key: 'hashed',
          spend: cost,
          total_tokens: usage.prompt_tokens + usage.completion_tokens,
          prompt_tokens: usage.prompt_tokens,
          completion_tokens: usage.completion_tokens,
          startTime,
          endTime: startTime,
          model: String(body?.model ?? ''),
          user: user.user_id,
          metadata: {},
        });
      }
      return;
    }

    if (!isMaster) return sendJson(res, 401, openAiError('Only the master key may manage users.', 'auth_error', 401));
    if (url.pathname === '/user/new' && req.method === 'POST') {
      const userId = String(body?.user_id ?? '');
      if (users.has(userId))
        return sendJson(res, 409, openAiError(`User ${userId} already exists`, 'bad_request_error', 409));
      const user: FakeLiteLlmUser = {
        user_id: userId,
        user_email: (body?.user_email as string | undefined) ?? null,
        max_budget: (body?.max_budget as number | null | undefined) ?? null,
        budget_duration: (body?.budget_duration as string | null | undefined) ?? null,
        spend: 0,
        keys: [],
      };
      users.set(userId, user);
      return sendJson(res, 200, { ...withoutKeys(user), key: newKey(userId) });
    }
    if (url.pathname === '/key/generate' && req.method === 'POST') {
      const userId = String(body?.user_id ?? '');
      if (!users.has(userId)) return sendJson(res, 404, openAiError('Unknown user', 'not_found_error', 404));
      return sendJson(res, 200, { key: newKey(userId), user_id: userId, spend: 0 });
    }
    if (url.pathname === '/key/delete' && req.method === 'POST') {
      const keys = Array.isArray(body?.keys) ? body.keys.map(String) : [];
      for (const key of keys) {
        const owner = users.get(keyOwner.get(key) ?? '');
        if (owner) owner.keys = owner.keys.filter((k) => k !== key);
        keyOwner.delete(key);
      }
      return sendJson(res, 200, { deleted_keys: keys });
    }
    if (url.pathname === '/user/delete' && req.method === 'POST') {
      const ids = Array.isArray(body?.user_ids) ? body.user_ids.map(String) : [];
      // As the proxy does: a user's keys go with the user.
      for (const id of ids) {
        for (const key of users.get(id)?.keys ?? []) keyOwner.delete(key);
        users.delete(id);
      }
      return sendJson(res, 200, { deleted_users: ids });
    }
    if (url.pathname === '/user/update' && req.method === 'POST') {
      const user = users.get(String(body?.user_id ?? ''));
      if (!user) return sendJson(res, 404, openAiError('Unknown user', 'not_found_error', 404));
      if (body && 'max_budget' in body) user.max_budget = (body.max_budget as number | null) ?? null;
      if (body && 'budget_duration' in body) user.budget_duration = (body.budget_duration as string | null) ?? null;
      return sendJson(res, 200, withoutKeys(user));
    }
    if (url.pathname === '/user/info') {
      const user = users.get(url.searchParams.get('user_id') ?? '');
      if (!user) return sendJson(res, 404, openAiError('Unknown user', 'not_found_error', 404));
      const { user_id, ...info } = withoutKeys(user);
      return sendJson(res, 200, {
        user_id,
        user_info: { ...info, budget_reset_at: null },
        keys: user.keys.map((_, i) => ({ key_alias: `key-${i}` })),
      });
    }
    if (url.pathname === '/spend/logs') {
      // As the proxy does: whole UTC days, both ends included.
      const userId = url.searchParams.get('user_id');
      const from = url.searchParams.get('start_date') ?? '0000-01-01';
      const to = url.searchParams.get('end_date') ?? '9999-12-31';
      const day = (log: Record<string, unknown>) => String(log.startTime).slice(0, 10);
      return sendJson(
        res,
        200,
        spendLogs.filter((log) => (!userId || log.user === userId) && day(log) >= from && day(log) <= to),
      );
    }
    return sendJson(res, 404, openAiError('Not found', 'not_found_error', 404));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, openAiError('fake failed', 'internal_error', 500));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    users,
    calls,
    spendLogs,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The usage a completion reported: the JSON body's, or the last SSE chunk that carries one. */
function usageOf(body: string): { prompt_tokens: number; completion_tokens: number } {
  const candidates = body.startsWith('{') ? [body] : body.split('\n').map((line) => line.replace(/^data: /, ''));
  for (const candidate of candidates.reverse()) {
    if (!candidate.startsWith('{')) continue;
    const usage = (JSON.parse(candidate) as { usage?: { prompt_tokens: number; completion_tokens: number } }).usage;
    if (usage) return usage;
  }
  return { prompt_tokens: 0, completion_tokens: 0 };
}

function withoutKeys({ keys: _keys, ...user }: FakeLiteLlmUser) {
  return user;
}
