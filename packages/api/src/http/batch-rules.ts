import { AppError } from '@hearth/core';
import type { FetchCreateContextFnOptions } from '@trpc/server/adapters/fetch';
import type { MiddlewareHandler } from 'hono';
import { toTRPCError } from '../errors';

/** The most calls one batched request may carry; larger batches are refused whole, before any runs. */
export const MAX_BATCH_SIZE = 10;

/**
 * Each of these is limited per request (throttles, argon2 work): batched, one request would do the
 * work of many, and answer for many emails at once.
 */
const ONE_PER_REQUEST = new Set(['auth.register', 'auth.login', 'auth.refresh']);

/** Refuses a batch holding more than one auth mutation; nothing in it runs. */
export function refuseUnbatchableCalls(info: FetchCreateContextFnOptions['info']): void {
  if (!info.isBatchCall) return;
  const authCalls = info.calls.filter((call) => ONE_PER_REQUEST.has(call.path)).length;
  if (authCalls <= 1) return;
  throw toTRPCError(
    new AppError(
      'INVALID_INPUT',
      `auth.register, auth.login and auth.refresh are sent one per request; this batch has ${authCalls} of them.`,
      { fieldErrors: {} },
    ),
  );
}

/**
 * tRPC answers a request it refuses before reading its calls (a batch over `maxBatchSize`) with its
 * JSON error body labelled `text/plain`; labelled as what it is, clients parse it as any other error.
 */
export const labelRefusedBatchesAsJson: MiddlewareHandler = async (c, next) => {
  await next();
  if (c.res.status >= 400 && c.res.headers.get('content-type')?.startsWith('text/plain')) {
    c.res.headers.set('content-type', 'application/json');
  }
};
