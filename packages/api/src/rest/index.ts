import { AppError } from '@hearth/core';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { payloadTooLargeMessage } from '../http/payload-too-large';
import { adminRoutes } from './admin';
import { agentRoutes } from './agent';
import { authRoutes } from './auth';
import { chatRoutes } from './chat';
import type { RestEnv, RestOptions } from './context';
import { type ErrorBody, toRestError } from './errors';
import { userRoutes } from './user';
import { runEventSchema } from './wire';

export type { RestOptions } from './context';

/**
 * The REST API under /api/v1: the tRPC procedures' schemas and services behind plain JSON routes,
 * with the OpenAPI document generated from the same route declarations.
 */
export function createRestApi(options: RestOptions): OpenAPIHono<RestEnv> {
  const respond = (c: Context, error: unknown) => {
    const { status, body, internal } = toRestError(error, options.exposeErrorDetails);
    if (internal) options.logger.error({ route: c.req.routePath, err: error }, 'route failed');
    const wait = body.error.retryAfterSeconds;
    if (wait !== undefined) c.header('Retry-After', String(wait));
    return c.json(body, status as ContentfulStatusCode);
  };

  const rest = new OpenAPIHono<RestEnv>({
    // Every route's input failures answer like the services' own INVALID_INPUT, with field errors.
    defaultHook: (result, c) => (result.success ? undefined : respond(c, result.error)),
  }).basePath('/api/v1');
  rest.onError((error, c) => respond(c, error));

  const limitTo = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: (c) => {
        const message = payloadTooLargeMessage(maxSize);
        const body: ErrorBody = { error: { code: 'INVALID_INPUT', message, fieldErrors: {}, formErrors: [message] } };
        // The rest of the body was never read, so this connection cannot carry another request.
        c.header('Connection', 'close');
        return c.json(body, 413);
      },
    });
  const anyBody = limitTo(options.maxBodyBytes);
  // A send carries its attachments in base64: its own, larger limit.
  const sendBody = limitTo(Math.max(options.maxBodyBytes, options.maxSendBodyBytes ?? options.maxBodyBytes));
  rest.use('*', (c, next) => (c.req.path === '/api/v1/chat/message' ? sendBody(c, next) : anyBody(c, next)));

  rest.route('/auth', authRoutes(options));
  rest.route('/chat', chatRoutes(options));
  rest.route('/user', userRoutes(options));
  rest.route('/agent', agentRoutes(options));
  rest.route('/admin', adminRoutes(options));

  rest.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'The `accessToken` of a session from /auth/register, /auth/login or /auth/refresh.',
  });
  rest.openAPIRegistry.register('RunEvent', runEventSchema);
  rest.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Hearth REST API',
      version: '1',
      description:
        'Plain JSON over HTTP, dates as ISO-8601 strings. The same accounts, rules and errors as the tRPC API at /trpc. ' +
        'Errors answer `{ "error": { "code": <appCode>, "message", "fieldErrors"?, "retryAfterSeconds"?, "remainingUsd"? } }`.',
    },
    tags: [{ name: 'auth' }, { name: 'chat' }, { name: 'user' }, { name: 'agent' }, { name: 'admin' }],
  });

  rest.all('*', (c) => respond(c, new AppError('NOT_FOUND', 'There is no such route in the REST API.')));
  return rest;
}
