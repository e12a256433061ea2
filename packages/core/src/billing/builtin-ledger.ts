import { randomUUID } from 'node:crypto';
import { and, eq, gte, inArray, lt, type SQL, sql } from 'drizzle-orm';
import type { BudgetPeriod } from '../domain/budget';
import { AppError } from '../domain/errors';
import type { Clock } from '../ports/clock';
import type { BudgetView, Grant, Ledger, ReserveRequest, UsageQuery, UsageTotals } from '../ports/ledger';
import { type Database, queryRows } from '../store/database';
import { budgets, reservations, usageRecords } from '../store/schema';
import { BudgetMirror, type MirroredBudget } from './budget-mirror';
import type { ModelPrice } from './model-price';
import { periodEnd, periodStart } from './periods';
import { costMicros, type PriceTable } from './prices';

export interface LedgerOptions {
  db: Database;
  clock: Clock;
  prices: PriceTable;
  /** The operator's limit for every user an admin has set none for (DEFAULT_BUDGET_USD); null: none. */
  defaultLimitMicros: number | null;
  /** The period a new budget starts with (DEFAULT_BUDGET_PERIOD). */
  defaultPeriod: BudgetPeriod;
  /** The highest limit an admin may set for a user (BUDGET_CEILING_USD); null: no ceiling. */
  ceilingMicros: number | null;
  /** After this long an unsettled reservation is taken for orphaned (its process died) and released. */
  reservationTtlMs: number;
  /**
   * No other process writes this store (the embedded PGlite): budgets are then kept in memory and
   * a reservation is decided there, its row written behind it (see BudgetMirror).
   */
  soleWriter?: boolean;
  /** Told of a reservation the store failed to record (sole writer only). */
  onWriteError?: (error: unknown) => void;
}

/** The smallest answer worth starting a step for: below this the step is refused outright. */
const MINIMAL_ANSWER_TOKENS = 16;

/** Our tokenizer and the provider's may differ a little: reserve for a slightly longer prompt. */
const promptAllowance = (counted: number) => Math.ceil(counted * 1.1) + 16;

/** SQL for the start of the period a budget row is in now: calendar periods roll over by themselves. */
const currentStart = (now: string) =>
  sql`case when b.period = 'none' then b.period_start
           else date_trunc(b.period, ${now}::timestamptz at time zone 'UTC') at time zone 'UTC' end`;

/** Lower of two limits, null meaning none. */
const lowest = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));

const usdText = (micros: number) => `$${(micros / 1_000_000).toFixed(2)}`;

interface BudgetRow {
  limit_micros: number | null;
  own_limit: number | null;
  operator_limit: number | null;
  period: BudgetPeriod;
  period_start: Date | string;
  spent: number;
  reserved: number;
}

/** An extension decided in memory for a reservation the crash sweep had already settled. */
class ReservationGone extends Error {}

/** The built-in ledger, in Hearth's store. */
export class BuiltinLedger implements Ledger {
  private readonly knownBudgets = new Set<string>();
  private readonly mirror: BudgetMirror | null;

  constructor(private readonly options: LedgerOptions) {
    this.mirror = options.soleWriter ? new BudgetMirror((userId) => this.loadBudget(userId)) : null;
  }

  async budget(userId: string): Promise<BudgetView> {
    await this.ensureBudget(userId);
    const now = this.options.clock.now().toISOString();
    const read = () =>
      queryRows<BudgetRow>(
        this.options.db,
        sql`select ${this.limitInForce()}::float8 as limit_micros, b.limit_micros::float8 as own_limit,
                   ${this.operatorLimit()}::float8 as operator_limit, b.period, ${currentStart(now)} as period_start,
                   (case when ${currentStart(now)} > b.period_start then 0 else b.spent_micros end)::float8 as spent,
                   b.reserved_micros::float8 as reserved
            from budgets b where b.user_id = ${userId}::uuid`,
      );
    const [row] = await this.inOrder(userId, read);
    if (!row) throw new Error('budget row missing after ensureBudget');
    return this.view(row);
  }

  /**
   * The user's own cap: at or below the operator's limit for them, in the operator's period. With no
   * operator limit the user may set any cap and period, or none.
   */
  async setBudget(userId: string, change: { limitMicros: number | null; period: BudgetPeriod }): Promise<BudgetView> {
    return this.writeBudget(userId, change.period, (current) => {
      const operator = current.operatorSet ? current.operatorLimitMicros : this.options.defaultLimitMicros;
      if (operator !== null) {
        const per = current.period === 'none' ? 'in all' : `per ${current.period}`;
        if (change.limitMicros === null || change.limitMicros > operator) {
          throw new AppError(
            'BUDGET_CEILING',
            `Your limit here is set by the operator at ${usdText(operator)} ${per}; you may only lower it.`,
            { fieldErrors: { limitUsd: [`At most ${operator / 1_000_000}.`] } },
          );
        }
        if (change.period !== current.period) {
          throw new AppError(
            'BUDGET_CEILING',
            `Your limit here is set by the operator ${per}; a limit of your own keeps that period.`,
            { fieldErrors: { period: [`Must be ${current.period}.`] } },
          );
        }
      }
      return { limitMicros: change.limitMicros };
    });
  }

  /**
   * The operator's limit and period for one user (an admin's decision, up to BUDGET_CEILING_USD). The
   * user's own cap is cleared: what the operator decides is what is in force, until the user lowers it again.
   */
  async setOperatorBudget(
    userId: string,
    change: { limitMicros: number | null; period: BudgetPeriod },
  ): Promise<BudgetView> {
    const { ceilingMicros } = this.options;
    if (ceilingMicros !== null && (change.limitMicros === null || change.limitMicros > ceilingMicros)) {
      throw new AppError(
        'BUDGET_CEILING',
        `Budgets here are capped at ${usdText(ceilingMicros)} (BUDGET_CEILING_USD); choose a limit at or below it.`,
        { fieldErrors: { limitUsd: [`At most ${ceilingMicros / 1_000_000}.`] } },
      );
    }
    return this.writeBudget(userId, change.period, () => ({
      limitMicros: null,
      operatorLimitMicros: change.limitMicros,
      operatorSet: true,
    }));
  }

  /** Changes a budget row under its lock; `decide` may refuse the change. A new period recounts its spend. */
  private async writeBudget(
    userId: string,
    period: BudgetPeriod,
    decide: (
      current: typeof budgets.$inferSelect,
    ) => Partial<Pick<typeof budgets.$inferInsert, 'limitMicros' | 'operatorLimitMicros' | 'operatorSet'>>,
  ): Promise<BudgetView> {
    await this.ensureBudget(userId);
    const now = this.options.clock.now();
    const start = periodStart(period, now, now);
    const { db } = this.options;
    // Before and after: a reservation decided in between waits for this change to be read back.
    this.mirror?.forget(userId);
    try {
      await db.transaction(async (tx) => {
        const [current] = await tx.select().from(budgets).where(eq(budgets.userId, userId)).for('update');
        if (!current) throw new Error('budget row missing after ensureBudget');
        const patch = decide(current);
        const samePeriod = current.period === period;
        // A new period counts only what was spent inside it, so old spend never blocks the new one.
        const [spent] = samePeriod
          ? [{ total: current.spentMicros }]
          : await tx
              .select({ total: sql<number>`coalesce(sum(${usageRecords.costMicros}), 0)::float8` })
              .from(usageRecords)
              .where(and(eq(usageRecords.userId, userId), gte(usageRecords.createdAt, start)));
        await tx
          .update(budgets)
          .set({
            ...patch,
            period,
            ...(samePeriod ? {} : { periodStart: start, spentMicros: Number(spent?.total ?? 0) }),
            updatedAt: now,
          })
          .where(eq(budgets.userId, userId));
      });
    } finally {
      this.mirror?.forget(userId);
    }
    return this.budget(userId);
  }

  /** SQL: the operator's limit for the budget row `b`. */
  private operatorLimit(): SQL {
    return sql`(case when b.operator_set then b.operator_limit_micros else ${this.options.defaultLimitMicros}::bigint end)`;
  }

  /** SQL: the limit in force for the budget row `b` (least() skips a null: no limit of that kind). */
  private limitInForce(): SQL {
    return sql`least(b.limit_micros, ${this.operatorLimit()})`;
  }

  async reserve(request: ReserveRequest): Promise<Grant> {
    const price = this.options.prices.get(request.model);
    if (!price) {
      throw new AppError('INVALID_INPUT', `The model "${request.model}" has no price, so it cannot be billed.`, {
        fieldErrors: { model: ['No price is configured for this model.'] },
      });
    }
    const plan = reservationPlan(request, price);
    const { desired, minimal, unlimited } = plan;
    const id = randomUUID();
    const now = this.options.clock.now();
    const at = now.toISOString();
    const expires = new Date(now.getTime() + this.options.reservationTtlMs).toISOString();
    const ask = { id, desired, minimal, unlimited };
    const { granted, remaining } = this.mirror
      ? await this.reserveInMirror(this.mirror, request, { ...ask, now, expires })
      : await this.reserveInStore(request, { ...ask, at, expires });
    return grantOf(request, id, plan, granted, remaining);
  }

  async extend(grant: Grant, outputTokens: number): Promise<Grant> {
    const price = this.options.prices.get(grant.model);
    const outputMicrosPerToken = (price?.outputUsdPerToken ?? 0) * 1_000_000;
    const tokens = Math.min(Math.floor(outputTokens), grant.outputCeiling - grant.maxOutputTokens);
    if (!price || outputMicrosPerToken <= 0 || tokens <= 0) return grant;
    const ask = { desired: costMicros(price, 0, tokens), minimal: costMicros(price, 0, 1) };
    const added = this.mirror
      ? await this.extendInMirror(this.mirror, grant, ask)
      : await this.extendInStore(grant, ask);
    if (added <= 0) return grant;
    return {
      ...grant,
      amountMicros: grant.amountMicros + added,
      maxOutputTokens: grant.maxOutputTokens + Math.min(tokens, Math.floor(added / outputMicrosPerToken)),
    };
  }

  /** The sole writer's extension: decided in memory, written behind, like a reservation. */
  private async extendInMirror(
    mirror: BudgetMirror,
    grant: Grant,
    ask: { desired: number; minimal: number },
  ): Promise<number> {
    const now = this.options.clock.now();
    const at = now.toISOString();
    const expires = new Date(now.getTime() + this.options.reservationTtlMs).toISOString();
    const { decision, written } = await mirror.reserve(
      grant.userId,
      { desiredMicros: ask.desired, minimalMicros: ask.minimal, now: () => this.options.clock.now() },
      async ({ amountMicros, periodStart }) => {
        const start = periodStart.toISOString();
        // Only while the reservation is held: one the crash sweep has settled must not leave budget reserved.
        const [row] = await queryRows<{ extended: number }>(
          this.options.db,
          sql`with res as (
                update reservations set amount_micros = amount_micros + ${amountMicros}::bigint,
                       expires_at = ${expires}::timestamptz
                where id = ${grant.id}::uuid
                returning user_id
              ), upd as (
                update budgets b set
                  spent_micros = case when b.period_start < ${start}::timestamptz then 0 else b.spent_micros end,
                  period_start = greatest(b.period_start, ${start}::timestamptz),
                  reserved_micros = b.reserved_micros + ${amountMicros}::bigint,
                  updated_at = ${at}::timestamptz
                from res where b.user_id = res.user_id
                returning b.user_id
              )
              select count(*)::int as extended from upd`,
        );
        if (!row?.extended) throw new ReservationGone();
      },
    );
    if (!decision.granted) return 0;
    written?.catch((error: unknown) => {
      mirror.forget(grant.userId);
      if (!(error instanceof ReservationGone)) this.options.onWriteError?.(error);
    });
    return decision.amountMicros;
  }

  private async extendInStore(grant: Grant, ask: { desired: number; minimal: number }): Promise<number> {
    const now = this.options.clock.now();
    const at = now.toISOString();
    const expires = new Date(now.getTime() + this.options.reservationTtlMs).toISOString();
    // One statement, like a reservation. The reservation row is locked first (the budget row's
    // lookup waits on it), as settling does, and nothing is granted once it is gone.
    const [row] = await queryRows<{ granted: number | null }>(
      this.options.db,
      sql`with held as (
            select user_id from reservations where id = ${grant.id}::uuid for update
          ), cur as (
            select b.user_id, ${this.limitInForce()} as limit_micros, b.reserved_micros, b.period_start, b.spent_micros,
                   ${currentStart(at)} as current_start
            from budgets b where b.user_id = (select user_id from held) for update
          ), g as (
            select user_id, current_start,
                   case when current_start > period_start then 0 else spent_micros end as spent,
                   case when limit_micros is null then ${ask.desired}::bigint
                        else least(${ask.desired}::bigint, limit_micros - reserved_micros
                                   - case when current_start > period_start then 0 else spent_micros end) end as amount
            from cur
          ), upd as (
            update budgets b set spent_micros = g.spent, period_start = g.current_start,
                   reserved_micros = b.reserved_micros + g.amount, updated_at = ${at}::timestamptz
            from g where b.user_id = g.user_id and g.amount >= ${ask.minimal}::bigint
            returning g.amount
          ), res as (
            update reservations r set amount_micros = r.amount_micros + upd.amount, expires_at = ${expires}::timestamptz
            from upd where r.id = ${grant.id}::uuid
            returning upd.amount
          )
          select (select amount::float8 from res) as granted`,
    );
    return Number(row?.granted ?? 0);
  }

  /**
   * The sole writer's reservation: decided in memory at once, then recorded behind the decision in
   * the user's write queue, so the model call does not wait on the database. A process that dies
   * before the row is written leaves that step unbilled; it can never overspend.
   */
  private async reserveInMirror(
    mirror: BudgetMirror,
    request: ReserveRequest,
    r: { id: string; desired: number; minimal: number; unlimited: number; now: Date; expires: string },
  ): Promise<{ granted: number; remaining: number | null }> {
    const at = r.now.toISOString();
    const { decision, written } = await mirror.reserve(
      request.userId,
      {
        desiredMicros: r.desired,
        minimalMicros: r.minimal,
        unlimitedMicros: r.unlimited,
        now: () => this.options.clock.now(),
      },
      ({ amountMicros, periodStart }) => {
        const start = periodStart.toISOString();
        return queryRows(
          this.options.db,
          sql`with upd as (
                update budgets b set
                  spent_micros = case when b.period_start < ${start}::timestamptz then 0 else b.spent_micros end,
                  period_start = greatest(b.period_start, ${start}::timestamptz),
                  reserved_micros = b.reserved_micros + ${amountMicros}::bigint,
                  updated_at = ${at}::timestamptz
                where b.user_id = ${request.userId}::uuid
                returning b.user_id
              )
              insert into reservations (id, user_id, run_id, model, amount_micros, prompt_tokens, created_at, expires_at)
              select ${r.id}::uuid, upd.user_id, ${request.runId}::uuid, ${request.model}, ${amountMicros}::bigint,
                     ${request.promptTokens}, ${at}::timestamptz, ${r.expires}::timestamptz
              from upd`,
        );
      },
    );
    if (!decision.granted) throw budgetExceeded(decision.remainingMicros);
    written?.catch((error: unknown) => {
      // The mirror now holds a reservation the store does not: read the budget back from the store.
      mirror.forget(request.userId);
      this.options.onWriteError?.(error);
    });
    return { granted: decision.amountMicros, remaining: decision.remainingMicros };
  }

  private async reserveInStore(
    request: ReserveRequest,
    r: { id: string; desired: number; minimal: number; unlimited: number; at: string; expires: string },
  ): Promise<{ granted: number; remaining: number | null }> {
    await this.ensureBudget(request.userId);
    const { id, desired, minimal, unlimited, at, expires } = r;
    // One statement: lock the row, roll the period over if due, grant what fits (at most `desired`,
    // at least `minimal`), and record the reservation. Concurrent steps queue on the row lock.
    const [row] = await queryRows<{ granted: number | null; remaining: number | null }>(
      this.options.db,
      sql`with cur as (
            select b.user_id, ${this.limitInForce()} as limit_micros, b.reserved_micros, b.period_start, b.spent_micros,
                   ${currentStart(at)} as current_start
            from budgets b where b.user_id = ${request.userId}::uuid for update
          ), g as (
            select user_id, current_start,
                   case when current_start > period_start then 0 else spent_micros end as spent,
                   case when limit_micros is null then ${unlimited}::bigint
                        else least(${desired}::bigint, limit_micros - reserved_micros
                                   - case when current_start > period_start then 0 else spent_micros end) end as amount,
                   limit_micros - reserved_micros
                     - case when current_start > period_start then 0 else spent_micros end as remaining
            from cur
          ), upd as (
            update budgets b set spent_micros = g.spent, period_start = g.current_start,
                   reserved_micros = b.reserved_micros + g.amount, updated_at = ${at}::timestamptz
            from g where b.user_id = g.user_id and g.amount >= ${minimal}::bigint
            returning g.amount
          ), res as (
            insert into reservations (id, user_id, run_id, model, amount_micros, prompt_tokens, created_at, expires_at)
            select ${id}::uuid, ${request.userId}::uuid, ${request.runId}::uuid, ${request.model}, upd.amount,
                   ${request.promptTokens}, ${at}::timestamptz, ${expires}::timestamptz
            from upd
            returning amount_micros
          )
          select (select amount_micros::float8 from res) as granted, (select remaining::float8 from g) as remaining`,
    );
    if (row?.granted === null || row?.granted === undefined) throw budgetExceeded(Number(row?.remaining ?? 0));
    const granted = Number(row.granted);
    return { granted, remaining: row.remaining === null ? null : Number(row.remaining) - granted };
  }

  async settle(
    grant: Grant,
    used: { promptTokens: number; completionTokens: number },
  ): Promise<{ costMicros: number }> {
    const price = this.options.prices.get(grant.model);
    const cost = price ? costMicros(price, used.promptTokens, used.completionTokens) : 0;
    const now = this.options.clock.now();
    const at = now.toISOString();
    const settle = () =>
      queryRows<{ released: number | null; billed: number | null }>(
        this.options.db,
        this.settleStatement(grant, used, cost, at),
      );
    const [row] = this.mirror ? await this.mirror.enqueue(grant.userId, settle) : await settle();
    // Already settled (by the crash sweep): nothing more was billed, but this is what the step cost.
    if (row?.released === null || row?.released === undefined)
      return { costMicros: Math.min(cost, grant.amountMicros) };
    const billed = Number(row.billed);
    this.mirror?.settled(grant.userId, Number(row.released), billed, now);
    return { costMicros: billed };
  }

  async release(grant: Grant): Promise<void> {
    const now = this.options.clock.now();
    const release = () =>
      queryRows<{ released: number | null }>(
        this.options.db,
        sql`with rel as (
              delete from reservations where id = ${grant.id}::uuid returning amount_micros
            )
            update budgets b set reserved_micros = greatest(0, b.reserved_micros - rel.amount_micros),
                   updated_at = ${now.toISOString()}::timestamptz
            from rel where b.user_id = ${grant.userId}::uuid
            returning rel.amount_micros::float8 as released`,
      );
    if (!this.mirror) {
      await release();
      return;
    }
    const mirror = this.mirror;
    const [row] = await mirror.enqueue(grant.userId, release);
    if (row?.released !== null && row?.released !== undefined)
      mirror.settled(grant.userId, Number(row.released), 0, now);
  }

  private settleStatement(
    grant: Grant,
    used: { promptTokens: number; completionTokens: number },
    cost: number,
    at: string,
  ) {
    // One statement: drop the reservation, move its amount from reserved to the real cost in spent
    // (never more than the amount: what was not granted is not billed), and record the step. Only
    // the call that deletes the reservation bills it, so a step and the crash sweep never both charge.
    return sql`with rel as (
            delete from reservations where id = ${grant.id}::uuid returning amount_micros
          ), cur as (
            select b.user_id, b.period_start, b.spent_micros, ${currentStart(at)} as current_start
            from budgets b where b.user_id = ${grant.userId}::uuid for update
          ), upd as (
            update budgets b set
              spent_micros = (case when cur.current_start > cur.period_start then 0 else cur.spent_micros end)
                             + least(${cost}::bigint, rel.amount_micros),
              period_start = cur.current_start,
              reserved_micros = greatest(0, b.reserved_micros - rel.amount_micros),
              updated_at = ${at}::timestamptz
            from cur, rel where b.user_id = cur.user_id
            returning b.user_id
          ), rec as (
            insert into usage_records (id, user_id, run_id, model, prompt_tokens, completion_tokens, cost_micros, created_at)
            select ${randomUUID()}::uuid, ${grant.userId}::uuid, ${grant.runId}::uuid, ${grant.model},
                   ${used.promptTokens}, ${used.completionTokens}, least(${cost}::bigint, rel.amount_micros),
                   ${at}::timestamptz
            from upd, rel
          )
          select (select amount_micros::float8 from rel) as released,
                 (select least(${cost}::bigint, amount_micros)::float8 from rel) as billed`;
  }

  async usage(userId: string, query: UsageQuery) {
    const { db } = this.options;
    const where = and(
      eq(usageRecords.userId, userId),
      query.from ? gte(usageRecords.createdAt, query.from) : undefined,
      query.to ? lt(usageRecords.createdAt, query.to) : undefined,
    );
    const totals = {
      requests: sql<number>`count(*)::float8`,
      promptTokens: sql<number>`coalesce(sum(${usageRecords.promptTokens}), 0)::float8`,
      completionTokens: sql<number>`coalesce(sum(${usageRecords.completionTokens}), 0)::float8`,
      costMicros: sql<number>`coalesce(sum(${usageRecords.costMicros}), 0)::float8`,
    };
    const [total] = await db.select(totals).from(usageRecords).where(where);
    const key =
      query.groupBy === 'model'
        ? sql<string>`${usageRecords.model}`
        : sql<string>`to_char(${usageRecords.createdAt} at time zone 'UTC', 'YYYY-MM-DD')`;
    const buckets = query.groupBy
      ? await db
          .select({ key, ...totals })
          .from(usageRecords)
          .where(where)
          .groupBy(key)
          .orderBy(key)
      : [];
    return { totals: numbers(total), buckets: buckets.map((bucket) => ({ key: bucket.key, ...numbers(bucket) })) };
  }

  async progress(grant: Grant, receivedTokens: number): Promise<void> {
    const now = this.options.clock.now();
    await this.inOrder(grant.userId, () =>
      this.options.db
        .update(reservations)
        .set({ receivedTokens, expiresAt: new Date(now.getTime() + this.options.reservationTtlMs) })
        .where(eq(reservations.id, grant.id)),
    );
  }

  async releaseExpired(all = false): Promise<number> {
    const now = this.options.clock.now();
    return this.releaseWhere(all ? undefined : lt(reservations.expiresAt, now));
  }

  async releaseRuns(runIds: readonly string[]): Promise<number> {
    return runIds.length === 0 ? 0 : this.releaseWhere(inArray(reservations.runId, [...runIds]));
  }

  private async releaseWhere(condition: SQL | undefined): Promise<number> {
    const expired = await this.options.db.select().from(reservations).where(condition);
    for (const row of expired) {
      const grant: Grant = { ...row, maxOutputTokens: 0, outputCeiling: 0, steps: 0 };
      await this.settle(grant, { promptTokens: row.promptTokens, completionTokens: row.receivedTokens });
    }
    return expired.length;
  }

  /**
   * Runs a statement on the user's budget or reservations after the reservations still being
   * written behind their decision (sole writer), so it sees, and follows, every grant made before it.
   */
  private inOrder<T>(userId: string, statement: () => Promise<T>): Promise<T> {
    return this.mirror ? this.mirror.enqueue(userId, statement) : statement();
  }

  private async loadBudget(userId: string): Promise<MirroredBudget> {
    await this.ensureBudget(userId);
    const [row] = await this.options.db.select().from(budgets).where(eq(budgets.userId, userId));
    if (!row) throw new Error('budget row missing after ensureBudget');
    return {
      limitMicros: lowest(row.limitMicros, row.operatorSet ? row.operatorLimitMicros : this.options.defaultLimitMicros),
      period: row.period,
      periodStart: row.periodStart,
      spentMicros: row.spentMicros,
      reservedMicros: row.reservedMicros,
    };
  }

  private async ensureBudget(userId: string): Promise<void> {
    if (this.knownBudgets.has(userId)) return;
    const now = this.options.clock.now();
    const { defaultPeriod } = this.options;
    // No cap of the user's own: the operator's limit (DEFAULT_BUDGET_USD) is what bounds a new budget.
    await this.options.db
      .insert(budgets)
      .values({
        userId,
        limitMicros: null,
        period: defaultPeriod,
        periodStart: periodStart(defaultPeriod, now, now),
        updatedAt: now,
      })
      .onConflictDoNothing();
    this.knownBudgets.add(userId);
  }

  private view(row: BudgetRow): BudgetView {
    const limit = row.limit_micros === null ? null : Number(row.limit_micros);
    const spent = Number(row.spent);
    const reserved = Number(row.reserved);
    return {
      limitMicros: limit,
      ceilingMicros: row.operator_limit === null ? null : Number(row.operator_limit),
      ownLimitMicros: row.own_limit === null ? null : Number(row.own_limit),
      period: row.period,
      spentMicros: spent,
      reservedMicros: reserved,
      remainingMicros: limit === null ? null : Math.max(0, limit - spent - reserved),
      periodStart: new Date(row.period_start),
      resetsAt: periodEnd(row.period, this.options.clock.now()),
    };
  }
}

/** What a step asks the budget for: its whole cost, the least worth granting, and the grant without a limit. */
export interface ReservationPlan {
  price: ModelPrice;
  promptTokens: number;
  maxOutput: number;
  outputMicrosPerToken: number;
  /** One whole step: the prompt and every output token the step may write. */
  step: number;
  desired: number;
  minimal: number;
  unlimited: number;
}

/** The amounts a reservation asks for; the arithmetic every ledger shares (the in-memory one of the tests too). */
export function reservationPlan(request: ReserveRequest, price: ModelPrice): ReservationPlan {
  const promptTokens = promptAllowance(request.promptTokens);
  const maxOutput = Math.min(request.maxOutputTokens, price.maxOutputTokens);
  const outputMicrosPerToken = price.outputUsdPerToken * 1_000_000;
  const minimalOutput = Math.min(MINIMAL_ANSWER_TOKENS, maxOutput);
  const sliced = !request.steps && request.firstSliceTokens !== undefined && outputMicrosPerToken > 0;
  const firstOutput = sliced
    ? Math.max(minimalOutput, Math.min(request.firstSliceTokens ?? maxOutput, maxOutput))
    : maxOutput;
  const step = costMicros(price, promptTokens, maxOutput);
  const desired = request.steps ? step * request.steps : costMicros(price, promptTokens, firstOutput);
  // A multi-step call cannot be capped mid-way, so it needs at least one whole step.
  const minimal = request.steps ? step : costMicros(price, promptTokens, minimalOutput);
  // Without a limit nothing is ever refused: the whole cap at once spares the step its extensions.
  const unlimited = request.steps ? desired : step;
  return { price, promptTokens, maxOutput, outputMicrosPerToken, step, desired, minimal, unlimited };
}

/** The grant for `granted` micro-dollars, `remaining` being what the budget has left after it (null: no limit). */
export function grantOf(
  request: ReserveRequest,
  id: string,
  plan: ReservationPlan,
  granted: number,
  remaining: number | null,
): Grant {
  const { price, promptTokens, maxOutput, outputMicrosPerToken, step } = plan;
  const affordable =
    outputMicrosPerToken > 0
      ? Math.floor((granted - costMicros(price, promptTokens, 0)) / outputMicrosPerToken)
      : maxOutput;
  const paid = Math.max(1, Math.min(maxOutput, affordable));
  // What the rest of the budget could add, were every extension granted: never worth asking past it.
  const ceiling =
    request.steps || remaining === null || outputMicrosPerToken <= 0
      ? paid
      : Math.min(maxOutput, paid + Math.floor(Math.max(0, remaining) / outputMicrosPerToken));
  return {
    id,
    userId: request.userId,
    runId: request.runId,
    model: request.model,
    amountMicros: granted,
    maxOutputTokens: paid,
    outputCeiling: ceiling,
    steps: step > 0 ? Math.max(1, Math.floor(granted / step)) : (request.steps ?? 1),
  };
}

export function budgetExceeded(remainingMicros: number): AppError {
  const remainingUsd = Math.max(0, remainingMicros) / 1_000_000;
  return new AppError(
    'BUDGET_EXCEEDED',
    `Your budget has $${remainingUsd.toFixed(6)} left, not enough for an answer. It resets with the next period.`,
    { remainingUsd },
  );
}

function numbers(row: Record<string, unknown> | undefined): UsageTotals {
  return {
    requests: Number(row?.requests ?? 0),
    promptTokens: Number(row?.promptTokens ?? 0),
    completionTokens: Number(row?.completionTokens ?? 0),
    costMicros: Number(row?.costMicros ?? 0),
  };
}
