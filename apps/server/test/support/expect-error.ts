import { type AppCode, type HearthError, type HearthErrorData, isHearthError } from '@hearth/sdk';
import { expect } from 'vitest';

/** Awaits a call that must fail with `appCode` and returns the error for closer checks. */
export async function expectHearthError(call: Promise<unknown>, appCode: AppCode): Promise<HearthError> {
  const error = await call.then(
    () => {
      throw new Error(`expected ${appCode}, but the call succeeded`);
    },
    (e: unknown) => e,
  );
  if (!isHearthError(error)) throw error;
  expect(error.data.appCode).toBe(appCode);
  expect(error.data.stack).toBeUndefined();
  return error;
}

/** A tRPC error response read with plain fetch: the superjson envelope around the contract's shape. */
export interface TrpcErrorBody {
  error: { json: { message: string; data: HearthErrorData } };
}
