import { AppError } from '@hearth/core';
import { trpcServer } from '@hono/trpc-server';
import type { TRPCError } from '@trpc/server';
import type { FetchCreateContextFnOptions } from '@trpc/server/adapters/fetch';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import superjson from 'superjson';
import type { ApiContext, ApiDeps, ApiLogger } from './context';
import { appCodeOf, formatError } from './errors';
import { labelRefusedBatchesAsJson, MAX_BATCH_SIZE, refuseUnbatchableCalls } from './http/batch-rules';
import { clientAddressResolver, type ProxyTrust } from './http/client-address';
import { corsOrigin } from './http/cors-origins';
import { payloadTooLarge } from './http/payload-too-large';
import { type ReadinessCheck, readinessResponse } from './http/readiness';
import { requestLog } from './http/request-log';
import { type ApiMetrics, requestMetrics } from './http/request-metrics';
import { requestTrace } from './http/request-trace';
import { CONVERSATION_HEADER, openAiRoutes, RUN_HEADER } from './openai/routes';
import { createRestApi } from './rest';
import { apiReference } from './rest/docs';
import { appRouter } from './router';
import { PATH as CHAT_EVENTS_PATH, chatEventsRoute } from './sse/chat-events-route';

export interface AppOptions {
  deps: ApiDeps;
  logger: ApiLogger;
  readiness: ReadinessCheck[];
  /** Browser origins allowed to call the API; `*` allows any. */
  corsOrigins: string[];
  /** Also allow any http(s) origin on localhost, 127.0.0.1 or [::1], whatever its port. */
  allowLoopbackOrigins?: boolean;
  maxBodyBytes?: number;
  /** The body limit of chat.send (tRPC and REST), which carries attachments in base64; at least maxBodyBytes. */
  maxSendBodyBytes?: number;
  /** The peer address of a request as the HTTP server saw it. */
  remoteAddress: (c: Context) => string;
  /** Behind reverse proxies: which of them may say, in X-Forwarded-For, who the client is. */
  trustProxy?: ProxyTrust;
  exposeErrorDetails?: boolean;
  /** Where request and error counts go (Prometheus at the composition root); none by default. */
  metrics?: ApiMetrics;
}

const ONE_MIB = 1024 * 1024;

/** Whether a tRPC request path (`/trpc/chat.send`, or a batch `/trpc/a,chat.send`) calls chat.send. */
const callsSend = (path: string) => path.slice('/trpc/'.length).split(',').includes('chat.send');

/** A Retry-After header for the first error that asks the client to wait (RATE_LIMITED). */
function retryAfterHeaders(errors: TRPCError[]): Record<string, string> {
  const seconds = errors
    .map((error) => (error.cause instanceof AppError ? error.cause.data.retryAfterSeconds : undefined))
    .find((value) => value !== undefined);
  return seconds === undefined ? {} : { 'Retry-After': String(seconds) };
}

function bearerToken(req: Request, connectionParams: Record<string, string | undefined> | null): string | null {
  const header = req.headers.get('authorization');
  if (header?.toLowerCase().startsWith('bearer ')) return header.slice(7).trim() || null;
  return connectionParams?.token || null;
}

/** Builds the HTTP surface from its dependencies; nothing here reaches for globals. */
export function createApp(options: AppOptions): Hono {
  const maxBodyBytes = options.maxBodyBytes ?? ONE_MIB;
  const maxSendBodyBytes = Math.max(maxBodyBytes, options.maxSendBodyBytes ?? maxBodyBytes);
  const exposeErrorDetails = options.exposeErrorDetails ?? false;
  const resolveClientAddress = clientAddressResolver(options.trustProxy ?? { hops: 0 });
  const clientIp = (c: Context): string =>
    resolveClientAddress(options.remoteAddress(c), c.req.header('x-forwarded-for'));

  const app = new Hono();
  const procedures = new Set(Object.keys(appRouter._def.procedures));
  app.use(requestId());
  app.use(requestTrace(procedures));
  app.use(requestLog(options.logger));
  const { metrics } = options;
  if (metrics) app.use(requestMetrics(metrics, procedures));
  app.use(secureHeaders());
  app.use(
    cors({
      origin: corsOrigin({ origins: options.corsOrigins, allowLoopback: options.allowLoopbackOrigins ?? false }),
      allowHeaders: [
        'Authorization',
        'Content-Type',
        'Last-Event-ID',
        'trpc-accept',
        'x-request-id',
        // A browser app may continue its own trace here (W3C Trace Context).
        'traceparent',
        'tracestate',
        CONVERSATION_HEADER,
      ],
      exposeHeaders: ['Retry-After', 'X-Request-Id', CONVERSATION_HEADER, RUN_HEADER],
      maxAge: 600,
    }),
  );

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', (c) => readinessResponse(c, options.readiness));

  const contextFor = (c: Context, connectionParams: Record<string, string | undefined> | null): ApiContext => ({
    deps: options.deps,
    requestId: c.get('requestId'),
    client: { ip: clientIp(c), userAgent: c.req.header('user-agent') ?? null },
    accessToken: bearerToken(c.req.raw, connectionParams),
    log: options.logger,
    exposeErrorDetails,
  });
  const observeError = (error: TRPCError, path: string | undefined) => {
    metrics?.errorObserved(appCodeOf(error));
    if (error.code !== 'INTERNAL_SERVER_ERROR') return;
    options.logger.error({ path, err: error.cause ?? error }, 'procedure failed');
  };
  const errorShape = (error: TRPCError, path: string) =>
    formatError({
      error,
      shape: {
        message: error.message,
        code: TRPC_ERROR_CODES_BY_KEY[error.code],
        data: { code: error.code, httpStatus: getHTTPStatusCodeFromError(error), path },
      },
      exposeErrorDetails,
    });

  // Before the body limit and tRPC's handler: a subscription has no body, and its stream is ours.
  app.get(
    '/trpc/chat.events',
    chatEventsRoute({
      contextFor,
      // The body a query's error would have: the superjson envelope around the contract's shape.
      errorResponse: (error, path) =>
        new Response(JSON.stringify({ error: superjson.serialize(errorShape(error, path)) }), {
          status: getHTTPStatusCodeFromError(error),
          headers: { 'content-type': 'application/json', ...retryAfterHeaders([error]) },
        }),
      errorShape: (error) => errorShape(error, CHAT_EVENTS_PATH),
      onError: (error) => observeError(error, CHAT_EVENTS_PATH),
    }),
  );

  // chat.send may carry attachments in base64: its own, larger limit (ATTACHMENTS_MAX_MB).
  const bodyLimitFor = (maxSize: number) => bodyLimit({ maxSize, onError: (c) => payloadTooLarge(c, maxSize) });
  const anyBody = bodyLimitFor(maxBodyBytes);
  const sendBody = bodyLimitFor(maxSendBodyBytes);
  app.use('/trpc/*', (c, next) => (callsSend(c.req.path) ? sendBody(c, next) : anyBody(c, next)));
  app.use('/trpc/*', labelRefusedBatchesAsJson);
  app.use(
    '/trpc/*',
    trpcServer({
      router: appRouter,
      endpoint: '/trpc',
      maxBatchSize: MAX_BATCH_SIZE,
      createContext: (opts: FetchCreateContextFnOptions, c: Context): ApiContext => {
        // Thrown here, the error answers every call of the batch and none of them runs.
        refuseUnbatchableCalls(opts.info);
        return contextFor(c, opts.info.connectionParams);
      },
      responseMeta: ({ errors }) => ({ headers: retryAfterHeaders(errors) }),
      onError: ({ error, path }) => observeError(error, path),
    }),
  );

  app.route('/openai/v1', openAiRoutes({ deps: options.deps, logger: options.logger, maxBodyBytes }));
  app.route(
    '/',
    createRestApi({
      deps: options.deps,
      logger: options.logger,
      clientIp,
      maxBodyBytes,
      maxSendBodyBytes,
      exposeErrorDetails,
    }),
  );
  app.route('/docs', apiReference('/api/v1/openapi.json'));

  app.notFound((c) => c.json({ error: 'Not found' }, 404));
  return app;
}
