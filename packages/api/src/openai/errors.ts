import { type AppCode, AppError } from '@hearth/core';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';

/** An error as OpenAI's API writes it, which OpenAI's clients parse into their typed errors. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

interface Mapped {
  status: ContentfulStatusCode;
  type: string;
  code: string;
  /** Whether OpenAI's clients should try again on their own (their `x-should-retry` header). */
  retry: boolean;
}

const BY_APP_CODE: Record<AppCode, Mapped> = {
  UNAUTHENTICATED: { status: 401, type: 'invalid_request_error', code: 'invalid_api_key', retry: false },
  INVALID_CREDENTIALS: { status: 401, type: 'invalid_request_error', code: 'invalid_api_key', retry: false },
  SESSION_REVOKED: { status: 401, type: 'invalid_request_error', code: 'invalid_api_key', retry: false },
  FORBIDDEN: { status: 403, type: 'invalid_request_error', code: 'forbidden', retry: false },
  BUDGET_CEILING: { status: 403, type: 'invalid_request_error', code: 'forbidden', retry: false },
  NOT_FOUND: { status: 404, type: 'invalid_request_error', code: 'not_found', retry: false },
  INVALID_INPUT: { status: 400, type: 'invalid_request_error', code: 'invalid_request', retry: false },
  WEAK_PASSWORD: { status: 400, type: 'invalid_request_error', code: 'invalid_request', retry: false },
  EMAIL_TAKEN: { status: 400, type: 'invalid_request_error', code: 'invalid_request', retry: false },
  MEMORY_LIMIT: { status: 400, type: 'invalid_request_error', code: 'invalid_request', retry: false },
  // Spending more will not help until the budget resets or is raised: no client should retry on its own.
  BUDGET_EXCEEDED: { status: 429, type: 'insufficient_quota', code: 'budget_exceeded', retry: false },
  RATE_LIMITED: { status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded', retry: true },
  RUN_ACTIVE: { status: 429, type: 'rate_limit_error', code: 'run_active', retry: false },
  UPSTREAM_ERROR: { status: 502, type: 'api_error', code: 'upstream_error', retry: true },
  UPSTREAM_UNAVAILABLE: { status: 502, type: 'api_error', code: 'upstream_unavailable', retry: true },
  UPSTREAM_TIMEOUT: { status: 504, type: 'api_error', code: 'upstream_timeout', retry: true },
  INTERNAL: { status: 500, type: 'server_error', code: 'internal_error', retry: true },
};

const INTERNAL_MESSAGE = 'Something went wrong on our side. It has been logged.';

export function openAiError(
  status: ContentfulStatusCode,
  message: string,
  code: string,
  type = 'invalid_request_error',
  param: string | null = null,
): { status: ContentfulStatusCode; body: OpenAiErrorBody; headers: Record<string, string> } {
  return { status, body: { error: { message, type, param, code } }, headers: {} };
}

/** Any failure as OpenAI's shape, status and retry headers; only AppError and input rule messages are shown. */
export function toOpenAiError(error: unknown) {
  if (error instanceof z.ZodError) {
    const issue = error.issues[0];
    const param = issue?.path.length ? issue.path.join('.') : null;
    const message = issue ? `${param ? `${param}: ` : ''}${issue.message}` : 'The request is not valid.';
    return withHeaders(openAiError(400, message, 'invalid_request', 'invalid_request_error', param), false);
  }
  if (!(error instanceof AppError)) {
    return withHeaders(openAiError(500, INTERNAL_MESSAGE, 'internal_error', 'server_error'), true);
  }
  const mapped = BY_APP_CODE[error.appCode];
  const param = Object.keys(error.data.fieldErrors ?? {})[0] ?? null;
  const code = error.appCode === 'NOT_FOUND' && param === 'model' ? 'model_not_found' : mapped.code;
  const retry = mapped.retry && error.data.retryable !== false;
  const answer = withHeaders(openAiError(mapped.status, error.message, code, mapped.type, param), retry);
  if (error.data.retryAfterSeconds !== undefined) answer.headers['Retry-After'] = String(error.data.retryAfterSeconds);
  return answer;
}

function withHeaders(answer: ReturnType<typeof openAiError>, retry: boolean) {
  answer.headers['x-should-retry'] = String(retry);
  return answer;
}

export function sendOpenAiError(c: Context, answer: ReturnType<typeof openAiError>): Response {
  return c.json(answer.body, answer.status, answer.headers);
}
