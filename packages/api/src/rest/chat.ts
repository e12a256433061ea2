import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import {
  attachmentInput,
  conversationInput,
  conversationsQuery,
  createConversationInput,
  editMessageInput,
  eventsInput,
  historyQuery,
  regenerateInput,
  renameConversationInput,
  runInput,
  sendInput,
  setConversationModelInput,
  switchBranchInput,
} from '../schemas';
import { bearerSecurity, jsonBody, jsonResponse, type RestEnv, type RestOptions, requireUser } from './context';
import { errorResponses } from './errors';
import { runEventStream } from './sse';
import {
  attachmentSchema,
  cancelResultSchema,
  conversationSchema,
  conversationsSchema,
  eventStreamDescription,
  historySchema,
  modelsSchema,
  okSchema,
  sendResultSchema,
  switchedBranchSchema,
} from './wire';

const AUTH = ['UNAUTHENTICATED', 'SESSION_REVOKED'] as const;
const eventStream = { 'text/event-stream': { schema: z.string().openapi({ description: eventStreamDescription }) } };
// The path names the conversation `id`; the rule is the one tRPC's input has for `conversationId`.
const conversationPath = z.object({ id: conversationInput.shape.conversationId });
const messagePath = z.object({ messageId: switchBranchInput.shape.messageId });
/** What a regenerate or an edit can be refused with: a send's refusals, and a message that is not there. */
const RERUN_ERRORS = [
  'INVALID_INPUT',
  ...AUTH,
  'NOT_FOUND',
  'RUN_ACTIVE',
  'BUDGET_EXCEEDED',
  'RATE_LIMITED',
  'UPSTREAM_UNAVAILABLE',
  'UPSTREAM_TIMEOUT',
  'UPSTREAM_ERROR',
] as const;

export function chatRoutes(options: RestOptions) {
  const { deps, logger } = options;
  const app = new OpenAPIHono<RestEnv>();
  app.use('*', requireUser(deps));
  return app
    .openapi(
      createRoute({
        method: 'post',
        path: '/message',
        tags: ['chat'],
        summary: 'Send a message; the agent answers in a run',
        description:
          'With `Accept: text/event-stream` the answer is the run’s event stream; otherwise 202 with the run’s id, ' +
          'to follow with GET /chat/runs/{runId}/events.',
        security: bearerSecurity,
        request: { body: jsonBody(sendInput) },
        responses: {
          200: { description: 'The run’s events (with `Accept: text/event-stream`)', content: eventStream },
          202: jsonResponse(sendResultSchema, 'The message is stored and its run has started'),
          ...errorResponses(
            [
              'INVALID_INPUT',
              ...AUTH,
              'NOT_FOUND',
              'RUN_ACTIVE',
              'BUDGET_EXCEEDED',
              'RATE_LIMITED',
              'UPSTREAM_UNAVAILABLE',
              'UPSTREAM_TIMEOUT',
              'UPSTREAM_ERROR',
            ],
            { body: true },
          ),
        },
      }),
      async (c) => {
        const user = c.get('user');
        const sent = await deps.chat.send(user, c.req.valid('json'));
        if (!c.req.header('accept')?.includes('text/event-stream')) return c.json(sent, 202);
        return runEventStream(c, logger, (signal) => deps.chat.events(user, sent.runId, null, signal));
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/messages/{messageId}/regenerate',
        tags: ['chat'],
        summary: 'Answer the last user message again; the old answer stays, a version',
        description:
          '`messageId` is the last answer of the branch shown, or the user message it answers. Billed, budgeted ' +
          'and streamed as a send: with `Accept: text/event-stream` the answer is the run’s event stream; ' +
          'otherwise 202 with the run’s id.',
        security: bearerSecurity,
        request: { params: messagePath, body: jsonBody(regenerateInput.pick({ model: true }).default({}), false) },
        responses: {
          200: { description: 'The run’s events (with `Accept: text/event-stream`)', content: eventStream },
          202: jsonResponse(sendResultSchema, 'The run has started; `userMessage` is the message it answers'),
          ...errorResponses([...RERUN_ERRORS], { body: true }),
        },
      }),
      async (c) => {
        const user = c.get('user');
        const { messageId } = c.req.valid('param');
        const started = await deps.chat.regenerate(user, { ...c.req.valid('json'), messageId });
        if (!c.req.header('accept')?.includes('text/event-stream')) return c.json(started, 202);
        return runEventStream(c, logger, (signal) => deps.chat.events(user, started.runId, null, signal));
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/messages/{messageId}/edit',
        tags: ['chat'],
        summary: 'Write a user message anew and answer from there; the old one stays, a version',
        description:
          'Billed, budgeted and streamed as a send: with `Accept: text/event-stream` the answer is the run’s ' +
          'event stream; otherwise 202 with the run’s id.',
        security: bearerSecurity,
        request: { params: messagePath, body: jsonBody(editMessageInput.omit({ messageId: true })) },
        responses: {
          200: { description: 'The run’s events (with `Accept: text/event-stream`)', content: eventStream },
          202: jsonResponse(sendResultSchema, 'The new message is stored and its run has started'),
          ...errorResponses([...RERUN_ERRORS], { body: true }),
        },
      }),
      async (c) => {
        const user = c.get('user');
        const { messageId } = c.req.valid('param');
        const started = await deps.chat.editMessage(user, { ...c.req.valid('json'), messageId });
        if (!c.req.header('accept')?.includes('text/event-stream')) return c.json(started, 202);
        return runEventStream(c, logger, (signal) => deps.chat.events(user, started.runId, null, signal));
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/messages/{messageId}/switch-branch',
        tags: ['chat'],
        summary: 'Show the branch through a message (a version): its newest version at each point below',
        security: bearerSecurity,
        request: { params: messagePath },
        responses: {
          200: jsonResponse(switchedBranchSchema, 'The branch now shown and answered from'),
          ...errorResponses(['INVALID_INPUT', ...AUTH, 'NOT_FOUND', 'RUN_ACTIVE']),
        },
      }),
      async (c) => c.json(await deps.chat.switchBranch(c.get('user'), c.req.valid('param').messageId), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/runs/{runId}/events',
        tags: ['chat'],
        summary: 'Follow a run’s events (SSE), resuming after Last-Event-ID',
        security: bearerSecurity,
        request: {
          params: runInput,
          query: eventsInput.pick({ lastEventId: true }),
          headers: z.object({ 'last-event-id': eventsInput.shape.lastEventId }),
        },
        responses: {
          200: { description: 'The run’s events', content: eventStream },
          ...errorResponses(['INVALID_INPUT', ...AUTH, 'NOT_FOUND', 'RATE_LIMITED']),
        },
      }),
      (c) => {
        const user = c.get('user');
        const { runId } = c.req.valid('param');
        // The header is what a browser's EventSource sends on reconnecting; the query is for the first connect.
        const lastEventId = c.req.valid('header')['last-event-id'] ?? c.req.valid('query').lastEventId;
        return runEventStream(c, logger, (signal) => deps.chat.events(user, runId, lastEventId, signal));
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/runs/{runId}/cancel',
        tags: ['chat'],
        summary: 'Cancel a run',
        security: bearerSecurity,
        request: { params: runInput },
        responses: {
          200: jsonResponse(cancelResultSchema, 'The run’s status after the request'),
          ...errorResponses(['INVALID_INPUT', ...AUTH, 'NOT_FOUND']),
        },
      }),
      async (c) => c.json(await deps.chat.cancel(c.get('user'), c.req.valid('param').runId), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/history',
        tags: ['chat'],
        summary: 'Messages of a conversation (the default one without conversationId), newest page first',
        security: bearerSecurity,
        request: { query: historyQuery },
        responses: {
          200: jsonResponse(historySchema, 'A page of messages'),
          ...errorResponses(['INVALID_INPUT', ...AUTH, 'NOT_FOUND']),
        },
      }),
      async (c) => c.json(await deps.chat.history(c.get('user'), c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/models',
        tags: ['chat'],
        summary: 'The models a message or a conversation may name, with their windows and prices',
        security: bearerSecurity,
        responses: {
          200: jsonResponse(modelsSchema, 'The models; `default` marks the one used when none is named'),
          ...errorResponses([...AUTH]),
        },
      }),
      async (c) => c.json(await deps.chat.models(c.get('user')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/attachments/{id}',
        tags: ['chat'],
        summary: 'One of the caller’s attachments, with its bytes (base64) and the text put into the context',
        security: bearerSecurity,
        request: { params: attachmentInput },
        responses: {
          200: jsonResponse(attachmentSchema, 'The attachment'),
          ...errorResponses(['INVALID_INPUT', ...AUTH, 'NOT_FOUND']),
        },
      }),
      async (c) => c.json(await deps.attachments.attachment(c.get('user'), c.req.valid('param').id), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/conversations',
        tags: ['chat'],
        summary: 'The caller’s conversations, most recently active first',
        security: bearerSecurity,
        request: { query: conversationsQuery },
        responses: {
          200: jsonResponse(conversationsSchema, 'A page of conversations'),
          ...errorResponses(['INVALID_INPUT', ...AUTH]),
        },
      }),
      async (c) => c.json(await deps.chat.conversations(c.get('user'), c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/conversations',
        tags: ['chat'],
        summary: 'Start a conversation',
        security: bearerSecurity,
        request: { body: jsonBody(createConversationInput, false) },
        responses: {
          201: jsonResponse(conversationSchema, 'The new conversation'),
          ...errorResponses(['INVALID_INPUT', ...AUTH], { body: true }),
        },
      }),
      async (c) => c.json(await deps.chat.createConversation(c.get('user'), c.req.valid('json')), 201),
    )
    .openapi(
      createRoute({
        method: 'put',
        path: '/conversations/{id}/model',
        tags: ['chat'],
        summary: 'Choose the model a conversation answers with',
        description: '`model: null` goes back to the server’s default. A message may still name its own.',
        security: bearerSecurity,
        request: {
          params: conversationPath,
          body: jsonBody(setConversationModelInput.pick({ model: true })),
        },
        responses: {
          200: jsonResponse(conversationSchema, 'The conversation, with its model'),
          ...errorResponses(['INVALID_INPUT', ...AUTH, 'NOT_FOUND'], { body: true }),
        },
      }),
      async (c) => {
        const { id } = c.req.valid('param');
        return c.json(await deps.chat.setConversationModel(c.get('user'), id, c.req.valid('json').model), 200);
      },
    )
    .openapi(
      createRoute({
        method: 'patch',
        path: '/conversations/{id}',
        tags: ['chat'],
        summary: 'Rename a conversation',
        security: bearerSecurity,
        request: {
          params: conversationPath,
          body: jsonBody(renameConversationInput.pick({ title: true })),
        },
        responses: {
          200: jsonResponse(conversationSchema, 'The renamed conversation'),
          ...errorResponses(['INVALID_INPUT', ...AUTH, 'NOT_FOUND'], { body: true }),
        },
      }),
      async (c) => {
        const { id } = c.req.valid('param');
        return c.json(await deps.chat.renameConversation(c.get('user'), id, c.req.valid('json').title), 200);
      },
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/conversations/{id}',
        tags: ['chat'],
        summary: 'Delete a conversation and its messages',
        security: bearerSecurity,
        request: { params: conversationPath },
        responses: {
          200: jsonResponse(okSchema, 'Deleted'),
          ...errorResponses(['INVALID_INPUT', ...AUTH, 'NOT_FOUND', 'RUN_ACTIVE']),
        },
      }),
      async (c) => {
        await deps.chat.deleteConversation(c.get('user'), c.req.valid('param').id);
        return c.json({ ok: true as const }, 200);
      },
    );
}
