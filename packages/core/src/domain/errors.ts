/** Stable error codes the API contract promises to clients. */
export const APP_CODES = [
  'UNAUTHENTICATED',
  'INVALID_CREDENTIALS',
  'EMAIL_TAKEN',
  'WEAK_PASSWORD',
  'SESSION_REVOKED',
  'FORBIDDEN',
  'NOT_FOUND',
  'INVALID_INPUT',
  'RATE_LIMITED',
  'RUN_ACTIVE',
  'BUDGET_EXCEEDED',
  'BUDGET_CEILING',
  'MEMORY_LIMIT',
  'UPSTREAM_UNAVAILABLE',
  'UPSTREAM_TIMEOUT',
  'UPSTREAM_ERROR',
  'INTERNAL',
] as const;

export type AppCode = (typeof APP_CODES)[number];

/** Extra, code-specific facts a client may act on (never secrets or upstream bodies). */
export interface AppErrorData {
  fieldErrors?: Record<string, string[]>;
  retryAfterSeconds?: number;
  remainingUsd?: number;
  /** For upstream failures: whether trying again later may succeed. */
  retryable?: boolean;
}

/**
 * A failure the domain expects and the client may handle. Its message is shown to clients as is,
 * so it must never carry SQL, stacks, secrets or upstream bodies.
 */
export class AppError extends Error {
  override readonly name = 'AppError';

  constructor(
    readonly appCode: AppCode,
    message: string,
    readonly data: AppErrorData = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isAppError(error: unknown, appCode?: AppCode): error is AppError {
  return error instanceof AppError && (appCode === undefined || error.appCode === appCode);
}

/** A send refused because the conversation already has a run answering. */
export const runActiveError = () =>
  new AppError('RUN_ACTIVE', 'The agent is still answering in this conversation. Wait or cancel it.');
