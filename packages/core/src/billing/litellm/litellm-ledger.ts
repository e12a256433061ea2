import { eq } from 'drizzle-orm';
import type { BudgetPeriod } from '../../domain/budget';
import type { Clock } from '../../ports/clock';
import type { BudgetView, Grant, Ledger, ReserveRequest, UsageQuery, UsageTotals } from '../../ports/ledger';
import type { Database } from '../../store/database';
import { litellmKeys, users } from '../../store/schema';
import type { LiteLlmAdmin, LiteLlmSpendLog } from './litellm-admin';

const utcDay = (at: Date) => at.toISOString().slice(0, 10);

const usd = (micros: number | null) => (micros === null ? null : micros / 1_000_000);

/**
 * BILLING=litellm: every user is provisioned on the LiteLLM proxy with their budget and a virtual
 * key of their own, and budget changes are pushed to it. Hearth's own reservation stays in front
 * (the proxy checks spend before a call and adds cost after it, so on its own concurrent calls
 * overspend); the proxy's budget_exceeded is mapped to BUDGET_EXCEEDED by the LLM client.
 */
export class LiteLlmLedger implements Ledger {
  private readonly keys = new Map<string, string>();
  private readonly pending = new Map<string, Promise<string>>();

  constructor(
    private readonly inner: Ledger,
    private readonly admin: LiteLlmAdmin,
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /** The user's virtual key, provisioning the user on the proxy the first time. Never leaves the server. */
  keyFor(userId: string): Promise<string> {
    const known = this.keys.get(userId);
    if (known) return Promise.resolve(known);
    let pending = this.pending.get(userId);
    if (!pending) {
      pending = this.provision(userId).finally(() => this.pending.delete(userId));
      this.pending.set(userId, pending);
    }
    return pending;
  }

  /**
   * Hearth's view, with the proxy's own spend (`/user/info`) where it is higher: that is what the
   * proxy enforces. A proxy that does not answer leaves Hearth's view as it is.
   */
  async budget(userId: string): Promise<BudgetView> {
    const view = await this.inner.budget(userId);
    if (!this.keys.has(userId) && !(await this.isProvisioned(userId))) return view;
    const info = await this.admin.userInfo(userId).catch(() => null);
    const proxySpent = Math.round((info?.user_info.spend ?? 0) * 1_000_000);
    if (proxySpent <= view.spentMicros) return view;
    const remaining =
      view.limitMicros === null ? null : Math.max(0, view.limitMicros - proxySpent - view.reservedMicros);
    return { ...view, spentMicros: proxySpent, remainingMicros: remaining };
  }

  private async isProvisioned(userId: string): Promise<boolean> {
    const [stored] = await this.db.select().from(litellmKeys).where(eq(litellmKeys.userId, userId));
    if (stored) this.keys.set(userId, stored.key);
    return Boolean(stored);
  }

  async setBudget(userId: string, change: { limitMicros: number | null; period: BudgetPeriod }): Promise<BudgetView> {
    return this.push(userId, await this.inner.setBudget(userId, change));
  }

  async setOperatorBudget(
    userId: string,
    change: { limitMicros: number | null; period: BudgetPeriod },
  ): Promise<BudgetView> {
    return this.push(userId, await this.inner.setOperatorBudget(userId, change));
  }

  /** The proxy enforces the limit in force (the lower of the user's cap and the operator's limit). */
  private async push(userId: string, view: BudgetView): Promise<BudgetView> {
    await this.keyFor(userId);
    await this.admin.updateBudget(userId, usd(view.limitMicros), view.period);
    return view;
  }

  async reserve(request: ReserveRequest): Promise<Grant> {
    return this.inner.reserve(request);
  }

  extend(grant: Grant, outputTokens: number): Promise<Grant> {
    return this.inner.extend(grant, outputTokens);
  }

  settle(grant: Grant, used: { promptTokens: number; completionTokens: number }) {
    return this.inner.settle(grant, used);
  }

  release(grant: Grant) {
    return this.inner.release(grant);
  }

  /**
   * What the proxy logged and billed (`/spend/logs`): that is the money the user's key spent. A
   * proxy that does not answer leaves Hearth's own records, which count the same calls at Hearth's prices.
   */
  async usage(userId: string, query: UsageQuery) {
    if (!this.keys.has(userId) && !(await this.isProvisioned(userId))) return this.inner.usage(userId, query);
    const to = query.to ?? this.clock.now();
    const from = query.from ?? new Date(0);
    const logs = await this.admin.spendLogs(userId, utcDay(from), utcDay(to)).catch(() => null);
    if (!logs) return this.inner.usage(userId, query);
    const inRange = logs.filter((log) => {
      const at = Date.parse(log.startTime);
      return at >= from.getTime() && at < to.getTime();
    });
    return summarise(inRange, query.groupBy);
  }

  progress(grant: Grant, receivedTokens: number) {
    return this.inner.progress(grant, receivedTokens);
  }

  releaseExpired(all?: boolean) {
    return this.inner.releaseExpired(all);
  }

  /** For a deleted account: its key and user on the proxy go (the row here goes with the user's row). */
  async deleteUser(userId: string): Promise<void> {
    const [stored] = await this.db.select().from(litellmKeys).where(eq(litellmKeys.userId, userId));
    this.keys.delete(userId);
    // Never provisioned: the proxy has nothing of this user.
    if (stored) await this.admin.deleteUser(userId, stored.key);
  }

  releaseRuns(runIds: readonly string[]) {
    return this.inner.releaseRuns(runIds);
  }

  private async provision(userId: string): Promise<string> {
    const [stored] = await this.db.select().from(litellmKeys).where(eq(litellmKeys.userId, userId));
    if (stored) {
      this.keys.set(userId, stored.key);
      return stored.key;
    }
    const [user] = await this.db.select({ email: users.email }).from(users).where(eq(users.id, userId));
    const budget = await this.inner.budget(userId);
    // A user the proxy already knows (from an earlier install) gets a fresh key of its own.
    const key =
      (await this.admin.createUser({
        userId,
        email: user?.email ?? '',
        maxBudgetUsd: usd(budget.limitMicros),
        period: budget.period,
      })) ?? (await this.admin.generateKey(userId));
    await this.db.insert(litellmKeys).values({ userId, key, createdAt: this.clock.now() }).onConflictDoNothing();
    const [saved] = await this.db.select().from(litellmKeys).where(eq(litellmKeys.userId, userId));
    const kept = saved?.key ?? key;
    this.keys.set(userId, kept);
    return kept;
  }
}

function summarise(logs: LiteLlmSpendLog[], groupBy: UsageQuery['groupBy']) {
  const empty = (): UsageTotals => ({ requests: 0, promptTokens: 0, completionTokens: 0, costMicros: 0 });
  const add = (into: UsageTotals, log: LiteLlmSpendLog) => {
    into.requests += 1;
    into.promptTokens += log.prompt_tokens ?? 0;
    into.completionTokens += log.completion_tokens ?? 0;
    into.costMicros += Math.round(log.spend * 1_000_000);
  };
  const totals = empty();
  const buckets = new Map<string, UsageTotals>();
  for (const log of logs) {
    add(totals, log);
    if (!groupBy) continue;
    const key = groupBy === 'model' ? (log.model ?? 'unknown') : utcDay(new Date(log.startTime));
    let bucket = buckets.get(key);
    if (!bucket) {
      bucket = empty();
      buckets.set(key, bucket);
    }
    add(bucket, log);
  }
  return {
    totals,
    buckets: [...buckets].sort(([a], [b]) => a.localeCompare(b)).map(([key, bucket]) => ({ key, ...bucket })),
  };
}
