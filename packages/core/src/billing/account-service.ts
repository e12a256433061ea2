import type { BudgetPeriod } from '../domain/budget';
import type { AuthenticatedUser } from '../domain/user';
import type { AccountOperations, Budget, Health, UsageTotalsUsd } from '../ports/account';
import type { AgentRuntime } from '../ports/agent-runtime';
import type { BudgetView, Ledger, UsageTotals } from '../ports/ledger';
import type { LlmClient } from '../ports/llm-client';
import type { RunRepository } from '../ports/run-repository';

const usd = (micros: number) => micros / 1_000_000;
const toMicros = (dollars: number) => Math.round(dollars * 1_000_000);

/** Whether the LLM answered recently: probing on every health call would hammer the provider. */
const PROBE_TTL_MS = 30_000;

export function toBudget(view: BudgetView): Budget {
  return {
    limitUsd: view.limitMicros === null ? null : usd(view.limitMicros),
    ceilingUsd: view.ceilingMicros === null ? null : usd(view.ceilingMicros),
    period: view.period,
    spentUsd: usd(view.spentMicros),
    reservedUsd: usd(view.reservedMicros),
    remainingUsd: view.remainingMicros === null ? null : usd(view.remainingMicros),
    periodStart: view.periodStart,
    resetsAt: view.resetsAt,
  };
}

function toTotals({ costMicros, ...counts }: UsageTotals): UsageTotalsUsd {
  return { ...counts, costUsd: usd(costMicros) };
}

export class AccountService implements AccountOperations {
  private probe: { at: number; reachable: Promise<boolean | null> } | null = null;

  constructor(
    private readonly ledger: Ledger,
    private readonly runtime: AgentRuntime,
    private readonly runs: Pick<RunRepository, 'activeRunIds'>,
    /** The model the agents answer with; with Letta, Letta's model handle and Letta's health. */
    private readonly llm: Pick<LlmClient, 'defaultModel' | 'isOffline' | 'probe'>,
  ) {}

  async usage(caller: AuthenticatedUser, query: { from?: Date; to?: Date; groupBy?: 'day' | 'model' }) {
    const { totals, buckets } = await this.ledger.usage(caller.id, query);
    return { totals: toTotals(totals), buckets: buckets.map(({ key, ...rest }) => ({ key, ...toTotals(rest) })) };
  }

  async budget(caller: AuthenticatedUser): Promise<Budget> {
    return toBudget(await this.ledger.budget(caller.id));
  }

  async setBudget(
    caller: AuthenticatedUser,
    change: { limitUsd: number | null; period: BudgetPeriod },
  ): Promise<Budget> {
    const limitMicros = change.limitUsd === null ? null : toMicros(change.limitUsd);
    return toBudget(await this.ledger.setBudget(caller.id, { limitMicros, period: change.period }));
  }

  async health(caller: AuthenticatedUser): Promise<Health> {
    const [budget, agent, activeRunIds, reachable] = await Promise.all([
      this.ledger.budget(caller.id),
      this.runtime.findAgent(caller.id),
      this.runs.activeRunIds(caller.id),
      this.reachable(),
    ]);
    const exceeded = budget.remainingMicros !== null && budget.remainingMicros <= 0;
    return {
      status: exceeded ? 'blocked' : reachable === false ? 'degraded' : 'ok',
      budget: { ...toBudget(budget), exceeded },
      agent: { ready: agent !== null, backend: this.runtime.backend },
      llm: { model: this.llm.defaultModel, reachable, demo: this.llm.isOffline },
      activeRuns: activeRunIds.length,
    };
  }

  private reachable(): Promise<boolean | null> {
    const now = Date.now();
    if (!this.probe || now - this.probe.at > PROBE_TTL_MS) this.probe = { at: now, reachable: this.llm.probe() };
    return this.probe.reachable;
  }
}
