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
import { formatError } from './errors';
import { labelRefusedBatchesAsJson, MAX_BATCH_SIZE, refuseUnbatchableCalls } from './http/batch-rules';
import { clientAddressResolver, type ProxyTrust } from './http/client-address';
import { corsOrigin } from './http/cors-origins';
import { payloadTooLarge } from './http/payload-too-large';
import { type ReadinessCheck, readinessResponse } from './http/readiness';
import { requestLog } from './http/request-log';
import { subscriptionOpeningErrors } from './http/subscription-errors';
import { appRouter } from './router';

export interface AppOptions {
  deps: ApiDeps;
  logger: ApiLogger;
  readiness: ReadinessCheck[];
  /** Browser origins allowed to call the API; `*` allows any. */
  corsOrigins: string[];
  /** Also allow any http(s) origin on localhost, 127.0.0.1 or [::1], whatever its port. */
  allowLoopbackOrigins?: boolean;
  maxBodyBytes?: number;
  /** The peer address of a request as the HTTP server saw it. */
  remoteAddress: (c: Context) => string;
  /** Behind reverse proxies: which of them may say, in X-Forwarded-For, who the client is. */
  trustProxy?: ProxyTrust;
  exposeErrorDetails?: boolean;
}

const ONE_MIB = 1024 * 1024;

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
  const exposeErrorDetails = options.exposeErrorDetails ?? false;
  const resolveClientAddress = clientAddressResolver(options.trustProxy ?? { hops: 0 });
  const clientIp = (c: Context): string =>
    resolveClientAddress(options.remoteAddress(c), c.req.header('x-forwarded-for'));

  const app = new Hono();
  app.use(requestId());
  app.use(requestLog(options.logger));
  app.use(secureHeaders());
  app.use(
    cors({
      origin: corsOrigin({ origins: options.corsOrigins, allowLoopback: options.allowLoopbackOrigins ?? false }),
      allowHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID', 'trpc-accept', 'x-request-id'],
      exposeHeaders: ['Retry-After', 'X-Request-Id'],
      maxAge: 600,
    }),
  );

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', (c) => readinessResponse(c, options.readiness));

  app.use('/trpc/*', bodyLimit({ maxSize: maxBodyBytes, onError: (c) => payloadTooLarge(c, maxBodyBytes) }));
  // The body a query's error would have: the superjson envelope around the contract's shape.
  const subscriptionErrors = subscriptionOpeningErrors(({ error, path }) => {
    const httpStatus = getHTTPStatusCodeFromError(error);
    const shape = {
      message: error.message,
      code: TRPC_ERROR_CODES_BY_KEY[error.code],
      data: { code: error.code, httpStatus, path },
    };
    const body = { error: superjson.serialize(formatError({ error, shape, exposeErrorDetails })) };
    return new Response(JSON.stringify(body), {
      status: httpStatus,
      headers: { 'content-type': 'application/json', ...retryAfterHeaders([error]) },
    });
  });
  app.use('/trpc/*', subscriptionErrors.middleware);
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
        const requestIdValue = c.get('requestId');
        return {
          deps: options.deps,
          requestId: requestIdValue,
          client: { ip: clientIp(c), userAgent: c.req.header('user-agent') ?? null },
          accessToken: bearerToken(opts.req, opts.info.connectionParams),
          log: options.logger,
          exposeErrorDetails,
        };
      },
      responseMeta: ({ errors }) => ({ headers: retryAfterHeaders(errors) }),
      onError: ({ error, path, type, req }) => {
        subscriptionErrors.record({ error, path, type, req });
        if (error.code !== 'INTERNAL_SERVER_ERROR') return;
        options.logger.error({ path, err: error.cause ?? error }, 'procedure failed');
      },
    }),
  );

  app.notFound((c) => c.json({ error: 'Not found' }, 404));
  return app;
}
