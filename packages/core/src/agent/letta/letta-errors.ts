import { APIConnectionError, APIConnectionTimeoutError, APIError } from '@letta-ai/letta-client';
import { AppError } from '../../domain/errors';

/**
 * Turns what Letta reports, mid-stream (`event: error` with an `error_message`, or a failing
 * `stop_reason`) or as an HTTP failure, into the contract's codes. Letta's own text never reaches
 * the client: it may carry provider details.
 */
export function lettaErrorType(errorType: string): AppError {
  const type = errorType.toLowerCase();
  if (type.includes('budget')) {
    return new AppError('BUDGET_EXCEEDED', 'Your budget does not cover another answer.', { retryable: false });
  }
  if (type.includes('timeout')) {
    return new AppError('UPSTREAM_TIMEOUT', 'The agent backend took too long to answer.', { retryable: true });
  }
  if (/rate_limit|overload|unavailable|connection/.test(type)) {
    return new AppError('UPSTREAM_UNAVAILABLE', 'The agent backend is busy or unreachable. Try again.', {
      retryable: true,
    });
  }
  if (type.includes('credit')) {
    return new AppError('UPSTREAM_ERROR', 'The agent backend refused to run: its account is out of credits.', {
      retryable: false,
    });
  }
  return new AppError('UPSTREAM_ERROR', 'The agent backend failed while answering.', { retryable: true });
}

/** An error thrown by the Letta client (or by fetch under it), as an AppError; abort errors are left alone. */
export function lettaFailure(error: unknown): unknown {
  if (error instanceof AppError || isAbort(error)) return error;
  if (error instanceof APIConnectionTimeoutError) {
    return new AppError('UPSTREAM_TIMEOUT', 'The agent backend took too long to answer.', { retryable: true });
  }
  if (error instanceof APIConnectionError) {
    return new AppError('UPSTREAM_UNAVAILABLE', 'The agent backend could not be reached.', { retryable: true });
  }
  if (error instanceof APIError) {
    // An SSE `event: error` arrives as an APIError without a status, its body the error_message.
    const body = error.error as { message_type?: unknown; error_type?: unknown } | undefined;
    if (error.status === undefined && body?.message_type === 'error_message') {
      return lettaErrorType(typeof body.error_type === 'string' ? body.error_type : '');
    }
    if (error.status === 429 || error.status === 503) {
      return new AppError('UPSTREAM_UNAVAILABLE', 'The agent backend is busy. Try again.', { retryable: true });
    }
    if (error.status === 401 || error.status === 403) {
      return new AppError('UPSTREAM_ERROR', 'The agent backend refused Hearth’s credentials.', { retryable: false });
    }
    return new AppError('UPSTREAM_ERROR', 'The agent backend failed while answering.', {
      retryable: error.status === undefined || error.status >= 500,
    });
  }
  // fetch's own failure mid-body ("terminated", a reset socket): the stream was cut off.
  if (error instanceof TypeError) {
    return new AppError('UPSTREAM_UNAVAILABLE', 'The connection to the agent backend dropped.', { retryable: true });
  }
  return error;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}
