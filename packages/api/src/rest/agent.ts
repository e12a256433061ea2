import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import {
  archivalDeleteInput,
  archivalListQuery,
  memoryHistoryQuery,
  resetInput,
  revertMemoryInput,
  setAgentModelInput,
  updateMemoryInput,
} from '../schemas';
import { bearerSecurity, jsonBody, jsonResponse, type RestEnv, type RestOptions, requireUser } from './context';
import { errorResponses } from './errors';
import {
  agentStatusSchema,
  archivalPageSchema,
  memoryBlockSchema,
  memoryHistorySchema,
  memorySchema,
  okSchema,
  revertedMemorySchema,
} from './wire';

const AUTH = ['UNAUTHENTICATED', 'SESSION_REVOKED'] as const;
// With the Letta backend the agent lives in another service.
const UPSTREAM = ['UPSTREAM_UNAVAILABLE', 'UPSTREAM_TIMEOUT', 'UPSTREAM_ERROR'] as const;

export function agentRoutes(options: RestOptions) {
  const { deps } = options;
  const app = new OpenAPIHono<RestEnv>();
  app.use('*', requireUser(deps));
  return app
    .openapi(
      createRoute({
        method: 'get',
        path: '/status',
        tags: ['agent'],
        summary: 'The caller’s agent: backend, model, memory size, active runs',
        security: bearerSecurity,
        responses: {
          200: jsonResponse(agentStatusSchema, 'The agent'),
          ...errorResponses([...AUTH, ...UPSTREAM]),
        },
      }),
      async (c) => c.json(await deps.agent.status(c.get('user')), 200),
    )
    .openapi(
      createRoute({
        method: 'put',
        path: '/model',
        tags: ['agent'],
        summary: 'Switch the caller’s agent to another model (Letta, where an agent has one model)',
        description: 'On the built-in runtime models are chosen per conversation or per message: INVALID_INPUT there.',
        security: bearerSecurity,
        request: { body: jsonBody(setAgentModelInput) },
        responses: {
          200: jsonResponse(agentStatusSchema, 'The agent, with its new model'),
          ...errorResponses(['INVALID_INPUT', ...AUTH, ...UPSTREAM], { body: true }),
        },
      }),
      async (c) => c.json(await deps.agent.setModel(c.get('user'), c.req.valid('json').model), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/memory',
        tags: ['agent'],
        summary: 'The agent’s memory blocks',
        security: bearerSecurity,
        responses: { 200: jsonResponse(memorySchema, 'The blocks'), ...errorResponses([...AUTH, ...UPSTREAM]) },
      }),
      async (c) => c.json(await deps.agent.memory(c.get('user')), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/memory',
        tags: ['agent'],
        summary: 'Replace the value of a memory block',
        security: bearerSecurity,
        request: { body: jsonBody(updateMemoryInput) },
        responses: {
          200: jsonResponse(memoryBlockSchema, 'The block as stored'),
          ...errorResponses(['INVALID_INPUT', ...AUTH, 'NOT_FOUND', 'MEMORY_LIMIT', ...UPSTREAM], { body: true }),
        },
      }),
      async (c) => {
        const { label, value } = c.req.valid('json');
        return c.json(await deps.agent.updateMemory(c.get('user'), label, value), 200);
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/memory/history',
        tags: ['agent'],
        summary: 'Every change of the memory blocks (or of one, by `label`), newest first',
        security: bearerSecurity,
        request: { query: memoryHistoryQuery },
        responses: {
          200: jsonResponse(memoryHistorySchema, 'A page of versions'),
          ...errorResponses(['INVALID_INPUT', ...AUTH, ...UPSTREAM]),
        },
      }),
      async (c) => c.json(await deps.agent.memoryHistory(c.get('user'), c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/memory/revert',
        tags: ['agent'],
        summary: 'Write a version’s value again, as a new version by the user',
        security: bearerSecurity,
        request: { body: jsonBody(revertMemoryInput) },
        responses: {
          200: jsonResponse(revertedMemorySchema, 'The block as stored, and the new version'),
          ...errorResponses(['INVALID_INPUT', ...AUTH, 'NOT_FOUND', 'MEMORY_LIMIT', ...UPSTREAM], { body: true }),
        },
      }),
      async (c) => c.json(await deps.agent.revertMemory(c.get('user'), c.req.valid('json').versionId), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/archival',
        tags: ['agent'],
        summary: 'What the agent filed in archival memory, newest first; `query` matches the text',
        security: bearerSecurity,
        request: { query: archivalListQuery },
        responses: {
          200: jsonResponse(archivalPageSchema, 'A page of passages'),
          ...errorResponses(['INVALID_INPUT', ...AUTH, ...UPSTREAM]),
        },
      }),
      async (c) => c.json(await deps.agent.archival(c.get('user'), c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/archival/{id}',
        tags: ['agent'],
        summary: 'Remove a passage from archival memory',
        security: bearerSecurity,
        request: { params: archivalDeleteInput },
        responses: {
          200: jsonResponse(okSchema, 'Removed'),
          ...errorResponses(['INVALID_INPUT', ...AUTH, 'NOT_FOUND', ...UPSTREAM]),
        },
      }),
      async (c) => {
        await deps.agent.deleteArchival(c.get('user'), c.req.valid('param').id);
        return c.json({ ok: true as const }, 200);
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/reset',
        tags: ['agent'],
        summary: 'Forget messages, memory or both',
        security: bearerSecurity,
        request: { body: jsonBody(resetInput) },
        responses: {
          200: jsonResponse(okSchema, 'Reset'),
          ...errorResponses(['INVALID_INPUT', ...AUTH, 'RUN_ACTIVE', ...UPSTREAM], { body: true }),
        },
      }),
      async (c) => {
        await deps.agent.reset(c.get('user'), c.req.valid('json').scope);
        return c.json({ ok: true as const }, 200);
      },
    );
}
