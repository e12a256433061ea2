import { AppError } from '@hearth/core';
import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { createMiddleware } from 'hono/factory';
import { adminBudgetBody, adminUsageQuery, adminUserInput, adminUsersQuery } from '../schemas';
import { bearerSecurity, jsonBody, jsonResponse, type RestEnv, type RestOptions, requireUser } from './context';
import { errorResponses } from './errors';
import {
  adminHealthSchema,
  adminStatusChangeSchema,
  adminUsageSchema,
  adminUserDetailsSchema,
  adminUserListSchema,
  budgetSchema,
} from './wire';

const AUTH = ['UNAUTHENTICATED', 'SESSION_REVOKED', 'FORBIDDEN'] as const;

/** As `adminProcedure`: the admin role, checked before any input is read. */
const requireAdmin = createMiddleware<RestEnv>(async (c, next) => {
  if (c.get('user').role !== 'admin') {
    throw new AppError('FORBIDDEN', 'This needs the admin role, which this account does not have.');
  }
  await next();
});

/** `/api/v1/admin`: the `admin.*` procedures for the operator, role `admin` only. */
export function adminRoutes(options: RestOptions) {
  const { deps } = options;
  const app = new OpenAPIHono<RestEnv>();
  app.use('*', requireUser(deps), requireAdmin);
  const userPath = { params: adminUserInput };
  return app
    .openapi(
      createRoute({
        method: 'get',
        path: '/users',
        tags: ['admin'],
        summary: 'Users, searched by email or name, with spend, budget, last activity and status',
        security: bearerSecurity,
        request: { query: adminUsersQuery },
        responses: {
          200: jsonResponse(adminUserListSchema, 'A page of users'),
          ...errorResponses(['INVALID_INPUT', ...AUTH]),
        },
      }),
      async (c) => c.json(await deps.admin.users(c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/users/{userId}',
        tags: ['admin'],
        summary: "One user's details",
        security: bearerSecurity,
        request: userPath,
        responses: {
          200: jsonResponse(adminUserDetailsSchema, 'The user'),
          ...errorResponses(['INVALID_INPUT', ...AUTH, 'NOT_FOUND']),
        },
      }),
      async (c) => c.json(await deps.admin.user(c.req.valid('param').userId), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/users/{userId}/budget',
        tags: ['admin'],
        summary: "Set a user's limit and period (the operator's limit for them)",
        security: bearerSecurity,
        request: { ...userPath, body: jsonBody(adminBudgetBody) },
        responses: {
          200: jsonResponse(budgetSchema, "The user's budget"),
          ...errorResponses(['INVALID_INPUT', ...AUTH, 'NOT_FOUND', 'BUDGET_CEILING'], { body: true }),
        },
      }),
      async (c) => c.json(await deps.admin.setBudget({ ...c.req.valid('json'), ...c.req.valid('param') }), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/users/{userId}/disable',
        tags: ['admin'],
        summary: 'Disable an account: its sessions, refresh tokens and API keys are refused, its runs cancelled',
        security: bearerSecurity,
        request: userPath,
        responses: {
          200: jsonResponse(adminStatusChangeSchema, 'Disabled'),
          ...errorResponses(['INVALID_INPUT', ...AUTH, 'NOT_FOUND']),
        },
      }),
      async (c) => c.json(await deps.admin.disableUser(c.req.valid('param').userId, c.get('user').id), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/users/{userId}/enable',
        tags: ['admin'],
        summary: 'Enable a disabled account again',
        security: bearerSecurity,
        request: userPath,
        responses: {
          200: jsonResponse(adminStatusChangeSchema, 'Enabled'),
          ...errorResponses(['INVALID_INPUT', ...AUTH, 'NOT_FOUND']),
        },
      }),
      async (c) => c.json(await deps.admin.enableUser(c.req.valid('param').userId), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/usage',
        tags: ['admin'],
        summary: 'Usage across users, grouped by user, model or day',
        security: bearerSecurity,
        request: { query: adminUsageQuery },
        responses: {
          200: jsonResponse(adminUsageSchema, 'Usage in the range'),
          ...errorResponses(['INVALID_INPUT', ...AUTH]),
        },
      }),
      async (c) => c.json(await deps.admin.usage(c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/health',
        tags: ['admin'],
        summary: "The server's health: its checks, users, active runs and reservations",
        security: bearerSecurity,
        responses: { 200: jsonResponse(adminHealthSchema, 'Health'), ...errorResponses([...AUTH]) },
      }),
      async (c) => c.json(await deps.admin.health(), 200),
    );
}
