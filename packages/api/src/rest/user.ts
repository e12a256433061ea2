import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import type { TypedResponse } from 'hono';
import { stream } from 'hono/streaming';
import type { z } from 'zod';
import { deleteAccountInput, setBudgetInput, updateProfileInput, usageQuery } from '../schemas';
import {
  bearerSecurity,
  clientInfo,
  jsonBody,
  jsonResponse,
  type RestEnv,
  type RestOptions,
  requireUser,
} from './context';
import { errorResponses } from './errors';
import {
  budgetSchema,
  healthSchema,
  okSchema,
  profileSchema,
  usageReportSchema,
  userExportSchema,
  userSchema,
} from './wire';

const AUTH = ['UNAUTHENTICATED', 'SESSION_REVOKED'] as const;
// With the Letta backend the agent's memory lives in another service; LiteLLM's proxy holds a user too.
const UPSTREAM = ['UPSTREAM_UNAVAILABLE', 'UPSTREAM_TIMEOUT', 'UPSTREAM_ERROR'] as const;
/** The pieces read before the answer starts: the profile and the agent's memory, the parts most likely to fail. */
const EXPORT_HEAD_PIECES = 2;

export function userRoutes(options: RestOptions) {
  const { deps, logger } = options;
  const app = new OpenAPIHono<RestEnv>();
  app.use('*', requireUser(deps));
  return app
    .openapi(
      createRoute({
        method: 'get',
        path: '/profile',
        tags: ['user'],
        summary: 'The caller’s profile',
        security: bearerSecurity,
        responses: { 200: jsonResponse(profileSchema, 'The profile'), ...errorResponses([...AUTH]) },
      }),
      async (c) => c.json(await deps.users.profile(c.get('user')), 200),
    )
    .openapi(
      createRoute({
        method: 'patch',
        path: '/profile',
        tags: ['user'],
        summary: 'Change the display name',
        security: bearerSecurity,
        request: { body: jsonBody(updateProfileInput) },
        responses: {
          200: jsonResponse(userSchema, 'The updated user'),
          ...errorResponses(['INVALID_INPUT', ...AUTH], { body: true }),
        },
      }),
      async (c) => c.json(await deps.users.updateProfile(c.get('user'), c.req.valid('json')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/usage',
        tags: ['user'],
        summary: 'Requests, tokens and cost, in total and by day or model',
        security: bearerSecurity,
        request: { query: usageQuery },
        responses: {
          200: jsonResponse(usageReportSchema, 'Usage in the range'),
          ...errorResponses(['INVALID_INPUT', ...AUTH]),
        },
      }),
      async (c) => c.json(await deps.account.usage(c.get('user'), c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/budget',
        tags: ['user'],
        summary: 'The caller’s budget and what is left of it',
        security: bearerSecurity,
        responses: { 200: jsonResponse(budgetSchema, 'The budget'), ...errorResponses([...AUTH]) },
      }),
      async (c) => c.json(await deps.account.budget(c.get('user')), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/budget',
        tags: ['user'],
        summary: 'Set the budget’s limit and period',
        security: bearerSecurity,
        request: { body: jsonBody(setBudgetInput) },
        responses: {
          200: jsonResponse(budgetSchema, 'The budget as set'),
          ...errorResponses(['INVALID_INPUT', ...AUTH, 'BUDGET_CEILING'], { body: true }),
        },
      }),
      async (c) => c.json(await deps.account.setBudget(c.get('user'), c.req.valid('json')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/health',
        tags: ['user'],
        summary: 'Whether the caller can chat now: budget, agent and model',
        security: bearerSecurity,
        responses: { 200: jsonResponse(healthSchema, 'The caller’s health'), ...errorResponses([...AUTH]) },
      }),
      async (c) => c.json(await deps.account.health(c.get('user')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/export',
        tags: ['user'],
        summary: 'All of the caller’s data as one JSON document, streamed',
        description:
          'Profile, the agent’s memory (blocks, every version, archival passages), every conversation with its ' +
          'messages, and every usage record. Sent as `Content-Disposition: attachment`.',
        security: bearerSecurity,
        responses: {
          200: jsonResponse(userExportSchema, 'The document'),
          ...errorResponses([...AUTH, ...UPSTREAM]),
        },
      }),
      async (c) => {
        const pieces = deps.dataRights.exportData(c.get('user'))[Symbol.asyncIterator]();
        // Read before the status is sent, so a failure there is still an error answer.
        const head: string[] = [];
        for (let i = 0; i < EXPORT_HEAD_PIECES; i += 1) {
          const piece = await pieces.next();
          if (piece.done) break;
          head.push(piece.value);
        }
        c.header('content-type', 'application/json; charset=utf-8');
        c.header('content-disposition', 'attachment; filename="hearth-export.json"');
        // Written piece by piece, so not typed as the JSON it adds up to; the tests validate the whole.
        const written = stream(
          c,
          async (out) => {
            for (const piece of head) await out.write(piece);
            for (let piece = await pieces.next(); !piece.done && !out.aborted; piece = await pieces.next()) {
              await out.write(piece.value);
            }
            await pieces.return?.();
          },
          async (error) => {
            // The status is sent: the client sees a document cut short, which does not parse.
            logger.error({ route: c.req.routePath, err: error }, 'export failed');
          },
        );
        return written as unknown as TypedResponse<z.output<typeof userExportSchema>, 200, 'json'>;
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/delete-account',
        tags: ['user'],
        summary: 'Delete the account and everything of it, after the password is proven again',
        security: bearerSecurity,
        request: { body: jsonBody(deleteAccountInput) },
        responses: {
          200: jsonResponse(okSchema, 'Deleted'),
          ...errorResponses(
            ['INVALID_INPUT', ...AUTH, 'INVALID_CREDENTIALS', 'RATE_LIMITED', 'RUN_ACTIVE', ...UPSTREAM],
            {
              body: true,
            },
          ),
        },
      }),
      async (c) => {
        await deps.dataRights.deleteAccount(c.get('user'), c.req.valid('json').password, clientInfo(options, c));
        return c.json({ ok: true as const }, 200);
      },
    );
}
