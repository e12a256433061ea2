import { AppError } from '@hearth/core';
import { initTRPC } from '@trpc/server';
import type { ApiContext } from './context';
import { formatError, toTRPCError } from './errors';
import { wireTransformer } from './wire-form';

const t = initTRPC.context<ApiContext>().create({
  // superjson on the wire; a run event is serialised once for all of its subscribers.
  transformer: wireTransformer,
  errorFormatter: ({ error, shape, ctx }) =>
    formatError({ error, shape, exposeErrorDetails: ctx?.exposeErrorDetails ?? false }),
  sse: {
    ping: { enabled: true, intervalMs: 15_000 },
    client: { reconnectAfterInactivityMs: 40_000 },
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Domain services throw AppError; here they become TRPCErrors with the matching HTTP status. */
const mapAppErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof AppError) throw toTRPCError(result.error.cause);
  return result;
});

export const publicProcedure = t.procedure.use(mapAppErrors);

export const authedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const { accessToken } = ctx;
  if (!accessToken) throw toTRPCError(new AppError('UNAUTHENTICATED', 'Log in first: no access token was sent.'));
  const user = await ctx.deps.auth.authenticate(accessToken).catch((error: unknown) => {
    throw error instanceof AppError ? toTRPCError(error) : error;
  });
  return next({ ctx: { ...ctx, accessToken, user } });
});
