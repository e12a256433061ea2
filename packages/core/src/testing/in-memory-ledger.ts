import { randomUUID } from 'node:crypto';
import { budgetExceeded, grantOf, reservationPlan } from '../billing/builtin-ledger';
import type { ModelPrice } from '../billing/model-price';
import { periodEnd, periodStart } from '../billing/periods';
import { costMicros, type PriceTable } from '../billing/prices';
import type { BudgetPeriod } from '../domain/budget';
import { AppError } from '../domain/errors';
import { type Clock, systemClock } from '../ports/clock';
import type { BudgetView, Grant, Ledger, ReserveRequest, UsageQuery, UsageTotals } from '../ports/ledger';

export interface InMemoryLedgerOptions {
  /** Prices by model (a PriceTable), or one price every model costs. */
  prices: Pick<PriceTable, 'get'> | ModelPrice;
  clock?: Clock;
  /** The operator's limit for a user no admin has set one for (DEFAULT_BUDGET_USD); default: none. */
  defaultLimitMicros?: number | null;
  /** Default `month`. */
  defaultPeriod?: BudgetPeriod;
  /** The highest limit an admin may set (BUDGET_CEILING_USD); default: none. */
  ceilingMicros?: number | null;
  /** After this long an unsettled reservation counts as orphaned (releaseExpired); default 60 s. */
  reservationTtlMs?: number;
}

interface Budget {
  ownLimitMicros: number | null;
  operatorLimitMicros: number | null;
  operatorSet: boolean;
  period: BudgetPeriod;
  periodStart: Date;
  spentMicros: number;
  reservedMicros: number;
}

interface Reservation {
  userId: string;
  runId: string | null;
  model: string;
  amountMicros: number;
  promptTokens: number;
  receivedTokens: number;
  expiresAt: number;
}

interface UsageRecord {
  userId: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
  costMicros: number;
  createdAt: Date;
}

const lowest = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
const usdText = (micros: number) => `$${(micros / 1_000_000).toFixed(2)}`;

/**
 * The built-in ledger's arithmetic without a database, for unit tests: the same grants (first
 * slices, output ceilings, whole steps), extensions, settlements capped at the grant, releases and
 * BUDGET_EXCEEDED / BUDGET_CEILING errors, on the same figures in micro-dollars. Each change is
 * decided and applied in one synchronous step, which is what the ledger's row lock gives.
 */
export class InMemoryLedger implements Ledger {
  private readonly budgets = new Map<string, Budget>();
  private readonly reservations = new Map<string, Reservation>();
  private readonly records: UsageRecord[] = [];
  private readonly clock: Clock;

  constructor(private readonly options: InMemoryLedgerOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** Reservations not yet settled or released: a step that ended without either shows here. */
  get openReservations(): number {
    return this.reservations.size;
  }

  async budget(userId: string): Promise<BudgetView> {
    return this.view(this.current(userId));
  }

  async setBudget(userId: string, change: { limitMicros: number | null; period: BudgetPeriod }): Promise<BudgetView> {
    const budget = this.current(userId);
    const operator = budget.operatorSet ? budget.operatorLimitMicros : this.defaultLimit;
    if (operator !== null) {
      const per = budget.period === 'none' ? 'in all' : `per ${budget.period}`;
      if (change.limitMicros === null || change.limitMicros > operator) {
        throw new AppError(
          'BUDGET_CEILING',
          `Your limit here is set by the operator at ${usdText(operator)} ${per}; you may only lower it.`,
          { fieldErrors: { limitUsd: [`At most ${operator / 1_000_000}.`] } },
        );
      }
      if (change.period !== budget.period) {
        throw new AppError(
          'BUDGET_CEILING',
          `Your limit here is set by the operator ${per}; a limit of your own keeps that period.`,
          { fieldErrors: { period: [`Must be ${budget.period}.`] } },
        );
      }
    }
    budget.ownLimitMicros = change.limitMicros;
    this.changePeriod(userId, budget, change.period);
    return this.view(budget);
  }

  async setOperatorBudget(
    userId: string,
    change: { limitMicros: number | null; period: BudgetPeriod },
  ): Promise<BudgetView> {
    const ceiling = this.options.ceilingMicros ?? null;
    if (ceiling !== null && (change.limitMicros === null || change.limitMicros > ceiling)) {
      throw new AppError(
        'BUDGET_CEILING',
        `Budgets here are capped at ${usdText(ceiling)} (BUDGET_CEILING_USD); choose a limit at or below it.`,
        { fieldErrors: { limitUsd: [`At most ${ceiling / 1_000_000}.`] } },
      );
    }
    const budget = this.current(userId);
    budget.ownLimitMicros = null;
    budget.operatorLimitMicros = change.limitMicros;
    budget.operatorSet = true;
    this.changePeriod(userId, budget, change.period);
    return this.view(budget);
  }

  async reserve(request: ReserveRequest): Promise<Grant> {
    const price = this.price(request.model);
    if (!price) {
      throw new AppError('INVALID_INPUT', `The model "${request.model}" has no price, so it cannot be billed.`, {
        fieldErrors: { model: ['No price is configured for this model.'] },
      });
    }
    const plan = reservationPlan(request, price);
    const { desired, minimal, unlimited } = plan;

    const budget = this.current(request.userId);
    const limit = this.limitOf(budget);
    const remaining = limit === null ? null : limit - budget.reservedMicros - budget.spentMicros;
    const granted = remaining === null ? unlimited : Math.min(desired, remaining);
    if (granted < minimal) throw budgetExceeded(remaining ?? 0);
    budget.reservedMicros += granted;
    const id = randomUUID();
    this.reservations.set(id, {
      userId: request.userId,
      runId: request.runId,
      model: request.model,
      amountMicros: granted,
      promptTokens: request.promptTokens,
      receivedTokens: 0,
      expiresAt: this.clock.now().getTime() + this.ttl,
    });

    return grantOf(request, id, plan, granted, remaining === null ? null : remaining - granted);
  }

  async extend(grant: Grant, outputTokens: number): Promise<Grant> {
    const price = this.price(grant.model);
    const outputMicrosPerToken = (price?.outputUsdPerToken ?? 0) * 1_000_000;
    const tokens = Math.min(Math.floor(outputTokens), grant.outputCeiling - grant.maxOutputTokens);
    if (!price || outputMicrosPerToken <= 0 || tokens <= 0) return grant;
    const reservation = this.reservations.get(grant.id);
    // Settled already (or swept as orphaned): nothing more may be set aside for it.
    if (!reservation) return grant;
    const desired = costMicros(price, 0, tokens);
    const minimal = costMicros(price, 0, 1);
    const budget = this.current(grant.userId);
    const limit = this.limitOf(budget);
    const added = limit === null ? desired : Math.min(desired, limit - budget.reservedMicros - budget.spentMicros);
    if (added < minimal) return grant;
    budget.reservedMicros += added;
    reservation.amountMicros += added;
    reservation.expiresAt = this.clock.now().getTime() + this.ttl;
    return {
      ...grant,
      amountMicros: grant.amountMicros + added,
      maxOutputTokens: grant.maxOutputTokens + Math.min(tokens, Math.floor(added / outputMicrosPerToken)),
    };
  }

  async settle(
    grant: Grant,
    used: { promptTokens: number; completionTokens: number },
  ): Promise<{ costMicros: number }> {
    const price = this.price(grant.model);
    const cost = price ? costMicros(price, used.promptTokens, used.completionTokens) : 0;
    const reservation = this.reservations.get(grant.id);
    // Already settled (by the crash sweep): nothing more is billed, but this is what the step cost.
    if (!reservation) return { costMicros: Math.min(cost, grant.amountMicros) };
    this.reservations.delete(grant.id);
    const budget = this.current(reservation.userId);
    const billed = Math.min(cost, reservation.amountMicros);
    budget.spentMicros += billed;
    budget.reservedMicros = Math.max(0, budget.reservedMicros - reservation.amountMicros);
    this.records.push({
      userId: reservation.userId,
      model: reservation.model,
      promptTokens: used.promptTokens,
      completionTokens: used.completionTokens,
      costMicros: billed,
      createdAt: this.clock.now(),
    });
    return { costMicros: billed };
  }

  async release(grant: Grant): Promise<void> {
    const reservation = this.reservations.get(grant.id);
    if (!reservation) return;
    this.reservations.delete(grant.id);
    const budget = this.current(reservation.userId);
    budget.reservedMicros = Math.max(0, budget.reservedMicros - reservation.amountMicros);
  }

  async usage(
    userId: string,
    query: UsageQuery,
  ): Promise<{ totals: UsageTotals; buckets: Array<UsageTotals & { key: string }> }> {
    const records = this.records.filter(
      (r) => r.userId === userId && (!query.from || r.createdAt >= query.from) && (!query.to || r.createdAt < query.to),
    );
    const sum = (rows: UsageRecord[]): UsageTotals => ({
      requests: rows.length,
      promptTokens: rows.reduce((n, r) => n + r.promptTokens, 0),
      completionTokens: rows.reduce((n, r) => n + r.completionTokens, 0),
      costMicros: rows.reduce((n, r) => n + r.costMicros, 0),
    });
    const groups = new Map<string, UsageRecord[]>();
    if (query.groupBy) {
      for (const record of records) {
        const key = query.groupBy === 'model' ? record.model : record.createdAt.toISOString().slice(0, 10);
        groups.set(key, [...(groups.get(key) ?? []), record]);
      }
    }
    const buckets = [...groups.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, rows]) => ({ key, ...sum(rows) }));
    return { totals: sum(records), buckets };
  }

  async progress(grant: Grant, receivedTokens: number): Promise<void> {
    const reservation = this.reservations.get(grant.id);
    if (!reservation) return;
    reservation.receivedTokens = receivedTokens;
    reservation.expiresAt = this.clock.now().getTime() + this.ttl;
  }

  async releaseExpired(all = false): Promise<number> {
    const now = this.clock.now().getTime();
    return this.settleOrphans((r) => all || r.expiresAt < now);
  }

  async releaseRuns(runIds: readonly string[]): Promise<number> {
    return this.settleOrphans((r) => r.runId !== null && runIds.includes(r.runId));
  }

  /** Bills orphaned reservations as the built-in ledger does: for the prompt and the tokens last reported. */
  private async settleOrphans(match: (reservation: Reservation) => boolean): Promise<number> {
    const orphans = [...this.reservations.entries()].filter(([, r]) => match(r));
    for (const [id, r] of orphans) {
      const grant: Grant = {
        id,
        userId: r.userId,
        runId: r.runId,
        model: r.model,
        amountMicros: r.amountMicros,
        maxOutputTokens: 0,
        outputCeiling: 0,
        steps: 0,
      };
      await this.settle(grant, { promptTokens: r.promptTokens, completionTokens: r.receivedTokens });
    }
    return orphans.length;
  }

  private get ttl(): number {
    return this.options.reservationTtlMs ?? 60_000;
  }

  private get defaultLimit(): number | null {
    return this.options.defaultLimitMicros ?? null;
  }

  private price(model: string): ModelPrice | undefined {
    const { prices } = this.options;
    return 'get' in prices ? prices.get(model) : prices;
  }

  private limitOf(budget: Budget): number | null {
    return lowest(budget.ownLimitMicros, budget.operatorSet ? budget.operatorLimitMicros : this.defaultLimit);
  }

  /** The user's budget, created on first use and rolled into the current period (spend back to 0) when one has begun. */
  private current(userId: string): Budget {
    const now = this.clock.now();
    let budget = this.budgets.get(userId);
    if (!budget) {
      const period = this.options.defaultPeriod ?? 'month';
      budget = {
        ownLimitMicros: null,
        operatorLimitMicros: null,
        operatorSet: false,
        period,
        periodStart: periodStart(period, now, now),
        spentMicros: 0,
        reservedMicros: 0,
      };
      this.budgets.set(userId, budget);
    }
    const start = periodStart(budget.period, now, budget.periodStart);
    if (start > budget.periodStart) {
      budget.periodStart = start;
      budget.spentMicros = 0;
    }
    return budget;
  }

  /** A new period counts only what was spent inside it, so old spend never blocks the new one. */
  private changePeriod(userId: string, budget: Budget, period: BudgetPeriod): void {
    if (budget.period === period) return;
    const now = this.clock.now();
    const start = periodStart(period, now, now);
    budget.period = period;
    budget.periodStart = start;
    budget.spentMicros = this.records
      .filter((r) => r.userId === userId && r.createdAt >= start)
      .reduce((n, r) => n + r.costMicros, 0);
  }

  private view(budget: Budget): BudgetView {
    const limit = this.limitOf(budget);
    const operator = budget.operatorSet ? budget.operatorLimitMicros : this.defaultLimit;
    return {
      limitMicros: limit,
      ceilingMicros: operator,
      ownLimitMicros: budget.ownLimitMicros,
      period: budget.period,
      spentMicros: budget.spentMicros,
      reservedMicros: budget.reservedMicros,
      remainingMicros: limit === null ? null : Math.max(0, limit - budget.spentMicros - budget.reservedMicros),
      periodStart: new Date(budget.periodStart),
      resetsAt: periodEnd(budget.period, this.clock.now()),
    };
  }
}
