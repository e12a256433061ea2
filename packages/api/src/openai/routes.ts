import { randomUUID } from 'node:crypto';
import type {
  AuthenticatedUser,
  CompletionEvent,
  CompletionMessage,
  CompletionStream,
  CompletionUsage,
} from '@hearth/core';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ApiDeps, ApiLogger } from '../context';
import { type ChatCompletionInput, chatCompletionInput, conversationIdHeader } from '../schemas';
import { openAiError, sendOpenAiError, toOpenAiError } from './errors';

export interface OpenAiRoutesOptions {
  deps: ApiDeps;
  logger: ApiLogger;
  maxBodyBytes: number;
}

export const CONVERSATION_HEADER = 'X-Hearth-Conversation-Id';
export const RUN_HEADER = 'X-Hearth-Run-Id';

type Variables = { user: AuthenticatedUser };

const seconds = () => Math.floor(Date.now() / 1000);
const encoder = new TextEncoder();

function toMessages(input: ChatCompletionInput): CompletionMessage[] {
  return input.messages.map(({ role, content }) => ({
    role: role === 'developer' ? 'system' : role,
    content: typeof content === 'string' ? content : (content ?? []).map((part) => part.text).join(''),
  }));
}

function usageOf(usage: CompletionUsage) {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
  };
}

function hearthHeaders(stream: CompletionStream): Record<string, string> {
  return {
    ...(stream.conversationId ? { [CONVERSATION_HEADER]: stream.conversationId } : {}),
    ...(stream.runId ? { [RUN_HEADER]: stream.runId } : {}),
  };
}

/**
 * `/openai/v1`: OpenAI's chat-completions API over Hearth's services, so OpenAI's clients and the
 * tools built on them work against Hearth. HTTP only: the body is checked by its zod schema, the
 * caller by the auth port, and the work is the completion service's.
 */
export function openAiRoutes(options: OpenAiRoutesOptions): Hono<{ Variables: Variables }> {
  const { deps, logger } = options;
  const started = seconds();
  const app = new Hono<{ Variables: Variables }>();

  const fail = (c: Context, error: unknown): Response => {
    const answer = toOpenAiError(error);
    if (answer.status === 500) logger.error({ err: error, path: c.req.path }, 'openai endpoint failed');
    return sendOpenAiError(c, answer);
  };

  app.use(
    '*',
    bodyLimit({
      maxSize: options.maxBodyBytes,
      onError: (c) =>
        sendOpenAiError(
          c,
          openAiError(413, `A request body has at most ${options.maxBodyBytes} bytes.`, 'invalid_request'),
        ),
    }),
  );

  app.use('*', async (c, next) => {
    const header = c.req.header('authorization');
    const token = header?.toLowerCase().startsWith('bearer ') ? header.slice(7).trim() : '';
    if (!token) {
      return sendOpenAiError(
        c,
        openAiError(401, 'Send an API key or access token as `Authorization: Bearer <key>`.', 'invalid_api_key'),
      );
    }
    try {
      c.set('user', await deps.auth.authenticate(token));
    } catch (error) {
      return fail(c, error);
    }
    await next();
  });

  app.get('/models', (c) =>
    c.json({
      object: 'list',
      data: deps.completions
        .models()
        .map((model) => ({ id: model.id, object: 'model', created: started, owned_by: model.ownedBy })),
    }),
  );

  app.post('/chat/completions', async (c) => {
    let raw: unknown;
    try {
      raw = await c.req.json();
    } catch {
      return sendOpenAiError(
        c,
        openAiError(400, 'We could not parse the JSON body of your request.', 'invalid_request'),
      );
    }
    const parsed = chatCompletionInput.safeParse(raw);
    if (!parsed.success) return fail(c, parsed.error);
    const input = parsed.data;
    const conversationHeader = c.req.header(CONVERSATION_HEADER);
    const conversation =
      conversationHeader === undefined ? undefined : conversationIdHeader.safeParse(conversationHeader);
    if (conversation && !conversation.success) return fail(c, conversation.error);

    // Aborted when the client goes away (or stops reading the stream): the work stops and bills what it used.
    const abort = new AbortController();
    const clientGone = () => abort.abort();
    c.req.raw.signal.addEventListener('abort', clientGone, { once: true });
    const detach = () => c.req.raw.signal.removeEventListener('abort', clientGone);

    let stream: CompletionStream;
    let iterator: AsyncIterator<CompletionEvent>;
    let first: IteratorResult<CompletionEvent>;
    try {
      stream = await deps.completions.complete(
        c.get('user'),
        {
          model: input.model,
          messages: toMessages(input),
          maxTokens: input.max_completion_tokens ?? input.max_tokens ?? undefined,
          conversationId: conversation?.data,
        },
        abort.signal,
      );
      iterator = stream.events[Symbol.asyncIterator]();
      // The status is sent with the first token: a failure until then is a real HTTP error.
      first = await iterator.next();
    } catch (error) {
      detach();
      abort.abort();
      return fail(c, error);
    }

    const id = `chatcmpl-${stream.runId ?? randomUUID()}`;
    const created = seconds();
    const model = stream.model;

    if (!input.stream) {
      let text = '';
      let reasoning = '';
      let done: Extract<CompletionEvent, { type: 'done' }> | undefined;
      try {
        for (let step = first; !step.done; step = await iterator.next()) {
          const event = step.value;
          if (event.type === 'text') text += event.text;
          else if (event.type === 'reasoning') reasoning += event.text;
          else done = event;
        }
      } catch (error) {
        return fail(c, error);
      } finally {
        detach();
      }
      const usage = done?.usage ?? { promptTokens: 0, completionTokens: 0, costUsd: 0 };
      return c.json(
        {
          id,
          object: 'chat.completion',
          created,
          model,
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: text, ...(reasoning ? { reasoning_content: reasoning } : {}) },
              finish_reason: done?.finish ?? 'stop',
              logprobs: null,
            },
          ],
          usage: usageOf(usage),
        },
        200,
        hearthHeaders(stream),
      );
    }

    const includeUsage = input.stream_options?.include_usage === true;
    const chunk = (delta: Record<string, string>, finish: string | null) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
      ...(includeUsage ? { usage: null } : {}),
    });
    const frame = (data: unknown) =>
      encoder.encode(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
    let pending: IteratorResult<CompletionEvent> | null = first;
    let ended = false;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(frame(chunk({ role: 'assistant', content: '' }, null)));
      },
      async pull(controller) {
        if (ended) return;
        try {
          const step = pending ?? (await iterator.next());
          pending = null;
          if (step.done) {
            // A stream that ended without saying how: end it as a stopped answer.
            controller.enqueue(frame(chunk({}, 'stop')));
            controller.enqueue(frame('[DONE]'));
            ended = true;
            detach();
            controller.close();
            return;
          }
          const event = step.value;
          if (event.type === 'text') controller.enqueue(frame(chunk({ content: event.text }, null)));
          else if (event.type === 'reasoning')
            controller.enqueue(frame(chunk({ reasoning_content: event.text }, null)));
          else {
            controller.enqueue(frame(chunk({}, event.finish)));
            if (includeUsage) {
              controller.enqueue(
                frame({
                  id,
                  object: 'chat.completion.chunk',
                  created,
                  model,
                  choices: [],
                  usage: usageOf(event.usage),
                }),
              );
            }
            controller.enqueue(frame('[DONE]'));
            ended = true;
            detach();
            controller.close();
          }
        } catch (error) {
          // Past the 200: the failure goes out as OpenAI's error event, and the stream ends.
          const answer = toOpenAiError(error);
          if (answer.status === 500) logger.error({ err: error, path: c.req.path }, 'openai stream failed');
          controller.enqueue(frame(answer.body));
          ended = true;
          detach();
          controller.close();
        }
      },
      cancel() {
        detach();
        abort.abort();
        void iterator.return?.();
      },
    });
    return new Response(body, {
      status: 200,
      headers: {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        ...hearthHeaders(stream),
      },
    });
  });

  app.all('*', (c) =>
    sendOpenAiError(
      c,
      openAiError(
        404,
        `Unknown path ${c.req.method} ${c.req.path}: this server offers /models and /chat/completions.`,
        'not_found',
      ),
    ),
  );
  // Thrown past the handlers above (a bug): OpenAI's shape all the same, and no detail.
  app.onError((error, c) => fail(c, error));
  return app;
}
