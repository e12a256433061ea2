import { eq } from 'drizzle-orm';
import type { AccountStatus } from '../admin/account-status';
import { exportUser } from '../admin/user-export';
import { AppError } from '../domain/errors';
import type { ClientInfo } from '../domain/session';
import type { AuthenticatedUser } from '../domain/user';
import type { AgentRuntime } from '../ports/agent-runtime';
import type { AuthProvider } from '../ports/auth-provider';
import type { Clock } from '../ports/clock';
import type { DataRightsOperations } from '../ports/data-rights';
import type { Database } from '../store/database';
import { usageRecords, users } from '../store/schema';

export interface DataRightsOptions {
  db: Database;
  clock: Clock;
  /** The outermost auth provider: the password is checked by logging in, throttled like any login. */
  auth: AuthProvider;
  status: AccountStatus;
  runtime: AgentRuntime;
  /** Cancels the user's active runs (here, or where they run); answers how many. */
  cancelRuns(userId: string): Promise<number>;
  activeRunIds(userId: string): Promise<string[]>;
  /** Removes the user from the billing proxy (BILLING=litellm). */
  deleteBillingUser?: ((userId: string) => Promise<void>) | undefined;
  /** The user's attachments for the export, and the deletion of their bytes where they are stored. */
  attachments?: { exportFor(userId: string): AsyncIterable<unknown>; deleteForUser(userId: string): Promise<void> };
  /** How long to wait for cancelled runs to end (and so settle their bills). */
  runsTimeoutMs?: number;
}

const POLL_MS = 50;

export class DataRightsService implements DataRightsOperations {
  constructor(private readonly options: DataRightsOptions) {}

  exportData(caller: AuthenticatedUser): AsyncIterable<string> {
    const { db, clock, runtime } = this.options;
    const { attachments } = this.options;
    return exportUser(db, caller.id, {
      now: clock.now(),
      agent: runtime,
      ...(attachments ? { attachments: (userId: string) => attachments.exportFor(userId) } : {}),
    });
  }

  async deleteAccount(caller: AuthenticatedUser, password: string, client: ClientInfo): Promise<void> {
    const { auth, status, db, runtime } = this.options;
    if (caller.apiKeyId)
      throw new AppError('FORBIDDEN', 'An API key cannot delete its account: sign in with a password.');
    // Proves the password again; the session it opens goes with the account.
    await auth.login({ email: caller.email, password }, client);
    // From here every session and key of the account is refused (in this process at once), so
    // nothing starts a run or writes a row while the rest goes.
    await status.setDisabled(caller.id, true);
    try {
      await this.endRuns(caller.id);
      await runtime.deleteAgent(caller.id);
      await this.options.deleteBillingUser?.(caller.id);
      // The files' bytes where they are stored (an S3 bucket); their rows go with the user's below.
      await this.options.attachments?.deleteForUser(caller.id);
    } catch (error) {
      // Nothing of the account is gone yet but perhaps upstream copies: the user may sign in and try again.
      await status.setDisabled(caller.id, false);
      throw error;
    }
    await db.transaction(async (tx) => {
      // Accounting keeps what was spent on which model when; not whose, nor in which run.
      await tx.update(usageRecords).set({ runId: null }).where(eq(usageRecords.userId, caller.id));
      await tx.delete(users).where(eq(users.id, caller.id));
    });
  }

  /** Cancels the user's runs and waits for them to end: a step settles its bill as it ends, and needs the user's row. */
  private async endRuns(userId: string): Promise<void> {
    const { cancelRuns, activeRunIds } = this.options;
    if ((await cancelRuns(userId)) === 0) return;
    // Real time, not the clock's: a test's clock may stand still.
    const deadline = performance.now() + (this.options.runsTimeoutMs ?? 10_000);
    while ((await activeRunIds(userId)).length > 0) {
      if (performance.now() > deadline) {
        throw new AppError('RUN_ACTIVE', 'A run of this account did not stop in time. Try again.');
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
}
