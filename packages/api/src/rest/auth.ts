import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { createApiKeyBody, loginInput, refreshInput, registerInput, revokeApiKeyInput } from '../schemas';
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
  apiKeyListSchema,
  authResultSchema,
  createdApiKeySchema,
  okSchema,
  refreshResultSchema,
  userSchema,
} from './wire';

const UNAUTHENTICATED = ['UNAUTHENTICATED', 'SESSION_REVOKED'] as const;

export function authRoutes(options: RestOptions) {
  const { deps } = options;
  const authed = requireUser(deps);
  return new OpenAPIHono<RestEnv>()
    .openapi(
      createRoute({
        method: 'post',
        path: '/register',
        tags: ['auth'],
        summary: 'Create an account and sign in',
        request: { body: jsonBody(registerInput) },
        responses: {
          201: jsonResponse(authResultSchema, 'Signed up and signed in'),
          ...errorResponses(['INVALID_INPUT', 'WEAK_PASSWORD', 'EMAIL_TAKEN', 'RATE_LIMITED'], { body: true }),
        },
      }),
      async (c) => c.json(await deps.auth.register(c.req.valid('json'), clientInfo(options, c)), 201),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/login',
        tags: ['auth'],
        summary: 'Sign in with email and password',
        request: { body: jsonBody(loginInput) },
        responses: {
          200: jsonResponse(authResultSchema, 'Signed in'),
          ...errorResponses(['INVALID_INPUT', 'INVALID_CREDENTIALS', 'RATE_LIMITED'], { body: true }),
        },
      }),
      async (c) => c.json(await deps.auth.login(c.req.valid('json'), clientInfo(options, c)), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/refresh',
        tags: ['auth'],
        summary: 'Trade a refresh token for a new session',
        request: { body: jsonBody(refreshInput) },
        responses: {
          200: jsonResponse(refreshResultSchema, 'A new session'),
          ...errorResponses(['INVALID_INPUT', ...UNAUTHENTICATED, 'RATE_LIMITED'], { body: true }),
        },
      }),
      async (c) => c.json(await deps.auth.refresh(c.req.valid('json').refreshToken, clientInfo(options, c)), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/logout',
        tags: ['auth'],
        summary: "End the caller's session",
        security: bearerSecurity,
        middleware: [authed] as const,
        // FORBIDDEN for a caller signed in with an API key: a key has no session to end.
        responses: {
          200: jsonResponse(okSchema, 'Signed out'),
          ...errorResponses([...UNAUTHENTICATED, 'FORBIDDEN']),
        },
      }),
      async (c) => {
        await deps.auth.logout(c.get('user'), c.get('accessToken'));
        return c.json({ ok: true as const }, 200);
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/me',
        tags: ['auth'],
        summary: 'The signed-in user',
        security: bearerSecurity,
        middleware: [authed] as const,
        responses: { 200: jsonResponse(userSchema, 'The caller'), ...errorResponses([...UNAUTHENTICATED]) },
      }),
      async (c) => c.json(await deps.users.me(c.get('user')), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api-keys',
        tags: ['auth'],
        summary: 'Create a personal API key (returned once)',
        description: 'The key acts as its user, under their budget. A caller signed in with a key cannot create keys.',
        security: bearerSecurity,
        middleware: [authed] as const,
        request: { body: jsonBody(createApiKeyBody) },
        responses: {
          201: jsonResponse(createdApiKeySchema, 'The new key, with its whole value this once'),
          ...errorResponses(['INVALID_INPUT', ...UNAUTHENTICATED, 'FORBIDDEN'], { body: true }),
        },
      }),
      async (c) => c.json(await deps.apiKeys.create(c.get('user'), c.req.valid('json')), 201),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api-keys',
        tags: ['auth'],
        summary: "The caller's API keys (never their values)",
        security: bearerSecurity,
        middleware: [authed] as const,
        responses: { 200: jsonResponse(apiKeyListSchema, 'The keys'), ...errorResponses([...UNAUTHENTICATED]) },
      }),
      async (c) => c.json(await deps.apiKeys.list(c.get('user')), 200),
    )
    .openapi(
      createRoute({
        method: 'delete',
        path: '/api-keys/{id}',
        tags: ['auth'],
        summary: 'Revoke an API key: refused from its next request on',
        security: bearerSecurity,
        middleware: [authed] as const,
        request: { params: revokeApiKeyInput },
        responses: {
          200: jsonResponse(okSchema, 'Revoked'),
          ...errorResponses(['INVALID_INPUT', ...UNAUTHENTICATED, 'NOT_FOUND']),
        },
      }),
      async (c) => {
        await deps.apiKeys.revoke(c.get('user'), c.req.valid('param').id);
        return c.json({ ok: true as const }, 200);
      },
    );
}
