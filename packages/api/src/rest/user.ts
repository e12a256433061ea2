import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { setBudgetInput, updateProfileInput, usageQuery } from '../schemas';
import { bearerSecurity, jsonBody, jsonResponse, type RestEnv, type RestOptions, requireUser } from './context';
import { errorResponses } from './errors';
import { budgetSchema, healthSchema, profileSchema, usageReportSchema, userSchema } from './wire';

const AUTH = ['UNAUTHENTICATED', 'SESSION_REVOKED'] as const;

export function userRoutes(options: RestOptions) {
  const { deps } = options;
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
    );
}
