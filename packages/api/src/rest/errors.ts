import { APP_CODES, type AppCode, AppError } from '@hearth/core';
import { z } from '@hono/zod-openapi';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import { HTTPException } from 'hono/http-exception';
import { formatError, httpStatusOf, toTRPCError } from '../errors';

export const errorBody = z
  .object({
    error: z.object({
      code: z.enum(APP_CODES),
      message: z.string(),
      fieldErrors: z.record(z.string(), z.array(z.string())).optional(),
      formErrors: z.array(z.string()).optional(),
      retryAfterSeconds: z.number().optional(),
      remainingUsd: z.number().optional(),
      retryable: z.boolean().optional(),
    }),
  })
  .openapi('Error');

export type ErrorBody = z.infer<typeof errorBody>;

export interface RestError {
  status: number;
  body: ErrorBody;
  /** Not an error the client caused or can act on: it is logged. */
  internal: boolean;
}

/**
 * Any error as REST answers it. The error goes through the same formatter as tRPC's (the same
 * appCodes, statuses and redaction of unexpected errors); only the envelope differs.
 */
export function toRestError(error: unknown, exposeErrorDetails: boolean): RestError {
  let trpcError: TRPCError;
  if (error instanceof AppError) trpcError = toTRPCError(error);
  else if (error instanceof z.ZodError) trpcError = new TRPCError({ code: 'BAD_REQUEST', cause: error });
  // Hono's own refusals before a handler runs: a body that is not JSON, or of another media type.
  else if (error instanceof HTTPException && error.status < 500)
    trpcError = new TRPCError({ code: 'BAD_REQUEST', message: error.message });
  else trpcError = new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: error });

  const status = getHTTPStatusCodeFromError(trpcError);
  const shape = {
    message: trpcError.message,
    code: TRPC_ERROR_CODES_BY_KEY[trpcError.code],
    data: { code: trpcError.code, httpStatus: status },
  };
  const { message, data } = formatError({ error: trpcError, shape, exposeErrorDetails });
  const { appCode, fieldErrors, formErrors, retryAfterSeconds, remainingUsd, retryable } = data;
  return {
    status,
    internal: appCode === 'INTERNAL',
    body: {
      error: {
        code: appCode,
        message,
        ...(fieldErrors ? { fieldErrors } : {}),
        ...(formErrors?.length ? { formErrors } : {}),
        ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
        ...(remainingUsd !== undefined ? { remainingUsd } : {}),
        ...(retryable !== undefined ? { retryable } : {}),
      },
    },
  };
}

interface ErrorResponse {
  description: string;
  content: { 'application/json': { schema: typeof errorBody } };
  headers?: Record<string, { description: string; schema: { type: 'integer' } }>;
}

/**
 * The error responses of a route for the OpenAPI document: one per status, naming the appCodes it
 * carries. INTERNAL is on every route; `body` adds the 413 of the body limit.
 */
const AUTHENTICATION_CODES = new Set<AppCode>(['UNAUTHENTICATED', 'INVALID_CREDENTIALS', 'SESSION_REVOKED']);

export function errorResponses(codes: AppCode[], options: { body?: boolean } = {}): Record<number, ErrorResponse> {
  const byStatus = new Map<number, string[]>();
  // Wherever a caller proves who they are, an account the operator disabled answers FORBIDDEN.
  const authenticates = codes.some((code) => AUTHENTICATION_CODES.has(code));
  for (const code of [
    ...new Set<AppCode>([...codes, ...(authenticates ? (['FORBIDDEN'] as const) : []), 'INTERNAL']),
  ]) {
    const status = httpStatusOf(code);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  if (options.body) byStatus.set(413, ['INVALID_INPUT (the request body is over the size limit)']);
  const responses: Record<number, ErrorResponse> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[status] = {
      description: list.join(', '),
      content: { 'application/json': { schema: errorBody } },
      ...(status === 429
        ? { headers: { 'Retry-After': { description: 'Seconds to wait.', schema: { type: 'integer' } } } }
        : {}),
    };
  }
  return responses;
}
