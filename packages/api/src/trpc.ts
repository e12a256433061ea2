import { AppError } from '@hearth/core';
import { initTRPC } from '@trpc/server';
import type { ApiContext } from './context';
import { formatError, toTRPCError } from './errors';
import { wireTransformer } from './wire-form';

/** The ping keeps proxies from closing an idle stream; the client reconnects after 40 s of silence. */
export const SSE_PING_INTERVAL_MS = 15_000;
export const SSE_RECONNECT_AFTER_INACTIVITY_MS = 40_000;

const t = initTRPC.context<ApiContext>().create({
  // superjson on the wire; a run event is serialised once for all of its subscribers.
  transformer: wireTransformer,
  errorFormatter: ({ error, shape, ctx }) =>
    formatError({ error, shape, exposeErrorDetails: ctx?.exposeErrorDetails ?? false }),
  // chat.events is written by sse/chat-events-route.ts; these hold for any stream tRPC writes itself.
  sse: {
    ping: { enabled: true, intervalMs: SSE_PING_INTERVAL_MS },
    client: { reconnectAfterInactivityMs: SSE_RECONNECT_AFTER_INACTIVITY_MS },
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

/** Operators only: role `admin`; everyone else is FORBIDDEN before any input is read. */
export const adminProcedure = authedProcedure.use(({ ctx, next }) => {
  if (ctx.user.role !== 'admin') {
    throw toTRPCError(new AppError('FORBIDDEN', 'This needs the admin role, which this account does not have.'));
  }
  return next();
});
