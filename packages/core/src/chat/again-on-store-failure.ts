import { setTimeout as sleep } from 'node:timers/promises';
import { isAppError } from '../domain/errors';

/** About 4 s in all: well inside the 10 s a run may go without beating before another process takes it for dead. */
const DELAYS_MS = [200, 1_000, 3_000];

/**
 * An idempotent store write, tried again when the store fails it: a PostgreSQL that just dropped
 * its connections (a failover, `pg_terminate_backend`) answers again within moments. A refusal
 * (an AppError) is an answer, not a failure, and is thrown at once.
 */
export async function againOnStoreFailure<T>(write: () => Promise<T>): Promise<T> {
  for (const delayMs of DELAYS_MS) {
    try {
      return await write();
    } catch (error) {
      if (isAppError(error)) throw error;
      await sleep(delayMs);
    }
  }
  return write();
}
