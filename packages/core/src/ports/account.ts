import type { BudgetPeriod } from '../domain/budget';
import type { AuthenticatedUser } from '../domain/user';

export interface Budget {
  limitUsd: number | null;
  ceilingUsd: number | null;
  period: BudgetPeriod;
  spentUsd: number;
  reservedUsd: number;
  remainingUsd: number | null;
  periodStart: Date;
  resetsAt: Date | null;
}

export interface UsageTotalsUsd {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export interface Health {
  status: 'ok' | 'degraded' | 'blocked';
  budget: Budget & { exceeded: boolean };
  agent: { ready: boolean; backend: 'builtin' | 'letta' };
  llm: { model: string; reachable: boolean | null; demo: boolean };
  activeRuns: number;
}

/** Usage, budget and health, as the API serves them (USD numbers with at most 6 decimals). */
export interface AccountOperations {
  usage(
    caller: AuthenticatedUser,
    query: { from?: Date | undefined; to?: Date | undefined; groupBy?: 'day' | 'model' | undefined },
  ): Promise<{ totals: UsageTotalsUsd; buckets: Array<UsageTotalsUsd & { key: string }> }>;
  budget(caller: AuthenticatedUser): Promise<Budget>;
  setBudget(caller: AuthenticatedUser, change: { limitUsd: number | null; period: BudgetPeriod }): Promise<Budget>;
  health(caller: AuthenticatedUser): Promise<Health>;
}
