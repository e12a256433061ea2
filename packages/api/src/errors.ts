import { type AppCode, AppError, type AppErrorData } from '@hearth/core';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { z } from 'zod';

const TRPC_CODE_BY_APP_CODE: Record<AppCode, TRPC_ERROR_CODE_KEY> = {
  UNAUTHENTICATED: 'UNAUTHORIZED',
  INVALID_CREDENTIALS: 'UNAUTHORIZED',
  SESSION_REVOKED: 'UNAUTHORIZED',
  EMAIL_TAKEN: 'CONFLICT',
  WEAK_PASSWORD: 'BAD_REQUEST',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  INVALID_INPUT: 'BAD_REQUEST',
  RATE_LIMITED: 'TOO_MANY_REQUESTS',
  RUN_ACTIVE: 'CONFLICT',
  BUDGET_EXCEEDED: 'PAYMENT_REQUIRED',
  BUDGET_CEILING: 'FORBIDDEN',
  MEMORY_LIMIT: 'BAD_REQUEST',
  UPSTREAM_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  UPSTREAM_TIMEOUT: 'GATEWAY_TIMEOUT',
  UPSTREAM_ERROR: 'BAD_GATEWAY',
  INTERNAL: 'INTERNAL_SERVER_ERROR',
};

/** For errors that did not start as an AppError: tRPC's own (bad JSON, unknown procedure, …). */
const APP_CODE_BY_TRPC_CODE: Partial<Record<TRPC_ERROR_CODE_KEY, AppCode>> = {
  PARSE_ERROR: 'INVALID_INPUT',
  BAD_REQUEST: 'INVALID_INPUT',
  PAYLOAD_TOO_LARGE: 'INVALID_INPUT',
  UNPROCESSABLE_CONTENT: 'INVALID_INPUT',
  UNAUTHORIZED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_SUPPORTED: 'INVALID_INPUT',
  TOO_MANY_REQUESTS: 'RATE_LIMITED',
};

/** The HTTP status each appCode is answered with, on tRPC and REST alike. */
export function httpStatusOf(appCode: AppCode): number {
  return getHTTPStatusCodeFromError(new TRPCError({ code: TRPC_CODE_BY_APP_CODE[appCode] }));
}

export function toTRPCError(error: AppError): TRPCError {
  return new TRPCError({ code: TRPC_CODE_BY_APP_CODE[error.appCode], message: error.message, cause: error });
}

/** The appCode a client is told for any error: an AppError's own, INVALID_INPUT for input rules. */
export function appCodeOf(error: TRPCError): AppCode {
  const cause = error.cause;
  if (cause instanceof AppError) return cause.appCode;
  if (cause instanceof z.ZodError) return 'INVALID_INPUT';
  return APP_CODE_BY_TRPC_CODE[error.code] ?? 'INTERNAL';
}

/** The `data` every error carries on the wire (see the API contract). */
export interface HearthErrorData extends AppErrorData {
  appCode: AppCode;
  code: TRPC_ERROR_CODE_KEY;
  httpStatus: number;
  path?: string;
  formErrors?: string[];
  stack?: string;
}

interface ErrorShapeInput {
  error: TRPCError;
  shape: { message: string; code: number; data: { code: TRPC_ERROR_CODE_KEY; httpStatus: number; path?: string } };
  exposeErrorDetails: boolean;
}

const INTERNAL_MESSAGE = 'Something went wrong on our side. It has been logged.';

/**
 * Turns any error into the contract's shape. Only AppError messages and input rule messages are
 * written for clients; anything else may hold SQL or upstream text, so it is replaced.
 */
export function formatError({ error, shape, exposeErrorDetails }: ErrorShapeInput) {
  const base = { code: shape.data.code, httpStatus: shape.data.httpStatus, path: shape.data.path };
  const cause = error.cause;
  let message: string;
  let data: HearthErrorData;
  if (cause instanceof AppError) {
    message = cause.message;
    data = { ...base, ...cause.data, appCode: cause.appCode };
  } else if (cause instanceof z.ZodError) {
    const flat = z.flattenError(cause);
    message = 'Some fields are not valid.';
    data = { ...base, appCode: 'INVALID_INPUT', fieldErrors: flat.fieldErrors, formErrors: flat.formErrors };
  } else {
    const appCode = appCodeOf(error);
    message = appCode === 'INTERNAL' && !exposeErrorDetails ? INTERNAL_MESSAGE : error.message;
    data = { ...base, appCode, ...(appCode === 'INVALID_INPUT' ? { fieldErrors: {} } : {}) };
  }
  if (exposeErrorDetails && error.stack) data.stack = error.stack;
  return { message, code: shape.code, data };
}
