import { TRPCClientError } from '@trpc/client';
import type { AppCode, AppRouter, HearthErrorData } from './types';

/** An error from the Hearth API, with the contract's `data` (appCode, fieldErrors, …). */
export type HearthError = TRPCClientError<AppRouter> & { data: HearthErrorData };

/**
 * Whether `error` came from the Hearth API, optionally with a given appCode:
 * `if (isHearthError(err, 'RATE_LIMITED')) wait(err.data.retryAfterSeconds)`.
 */
export function isHearthError(error: unknown, appCode?: AppCode): error is HearthError {
  if (!(error instanceof TRPCClientError)) return false;
  const data = (error as TRPCClientError<AppRouter>).data as Partial<HearthErrorData> | undefined;
  if (typeof data?.appCode !== 'string') return false;
  return appCode === undefined || data.appCode === appCode;
}
