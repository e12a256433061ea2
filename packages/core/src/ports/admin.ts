import type { BudgetPeriod } from '../domain/budget';
import type { UserRole } from '../domain/user';
import type { Budget, UsageTotalsUsd } from './account';

export type UserStatus = 'active' | 'disabled';

/** One user in the operator's list: spend is the current period's, as Hearth's ledger counts it. */
export interface AdminUserSummary {
  id: string;
  email: string;
  displayName: string | null;
  role: UserRole;
  status: UserStatus;
  createdAt: Date;
  /** The latest of their last run, login or refresh, and API key use; null if never. */
  lastActiveAt: Date | null;
  budget: {
    /** The limit in force: the lower of the operator's limit and the user's own cap. */
    limitUsd: number | null;
    /** The operator's limit for this user (DEFAULT_BUDGET_USD unless an admin set one). */
    operatorLimitUsd: number | null;
    /** Whether an admin set the operator's limit for this user (else it follows DEFAULT_BUDGET_USD). */
    operatorSet: boolean;
    /** The user's own cap, if they lowered theirs. */
    ownLimitUsd: number | null;
    period: BudgetPeriod;
    spentUsd: number;
  };
}

export interface AdminUserDetails extends Omit<AdminUserSummary, 'budget'> {
  disabledAt: Date | null;
  budget: Budget & { operatorSet: boolean; ownLimitUsd: number | null };
  counts: { conversations: number; messages: number; activeRuns: number; liveSessions: number; apiKeys: number };
}

export interface AdminUsageQuery {
  from?: Date | undefined;
  to?: Date | undefined;
  groupBy: 'user' | 'model' | 'day';
}

export interface AdminUsage {
  totals: UsageTotalsUsd;
  /** `key`: a user id, a model, or a UTC day (YYYY-MM-DD); `email` with groupBy user. */
  buckets: Array<UsageTotalsUsd & { key: string; email?: string | undefined }>;
}

export interface AdminHealth {
  status: 'ok' | 'degraded';
  checks: Array<{ name: string; ok: boolean; latencyMs: number }>;
  users: { total: number; admins: number; disabled: number };
  activeRuns: number;
  /** Reservations held right now, and the money they hold. */
  reservations: { count: number; amountUsd: number };
  uptimeSeconds: number;
}

/**
 * What an operator may do to any account. Only the API's admin procedures (role `admin`) and the
 * CLI reach it: it trusts its caller, and never names a user's messages or secrets.
 */
export interface AdminOperations {
  users(input: {
    query?: string | undefined;
    cursor?: string | undefined;
    limit: number;
  }): Promise<{ items: AdminUserSummary[]; nextCursor: string | null }>;
  user(userId: string): Promise<AdminUserDetails>;
  setBudget(input: { userId: string; limitUsd: number | null; period: BudgetPeriod }): Promise<Budget>;
  /** `by`: the admin doing it, who may not lock themselves out. */
  disableUser(userId: string, by?: string): Promise<{ userId: string; status: UserStatus; cancelledRuns: number }>;
  enableUser(userId: string): Promise<{ userId: string; status: UserStatus }>;
  usage(query: AdminUsageQuery): Promise<AdminUsage>;
  health(): Promise<AdminHealth>;
}
