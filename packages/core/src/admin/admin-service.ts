import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import { toBudget } from '../billing/account-service';
import type { BudgetPeriod } from '../domain/budget';
import { normalizeEmail } from '../domain/email';
import { AppError } from '../domain/errors';
import type { UserRole } from '../domain/user';
import type {
  AdminHealth,
  AdminOperations,
  AdminUsage,
  AdminUsageQuery,
  AdminUserDetails,
  AdminUserSummary,
} from '../ports/admin';
import type { Clock } from '../ports/clock';
import type { Ledger } from '../ports/ledger';
import { decodeCursor, encodeCursor } from '../store/cursor';
import { type Database, queryRows } from '../store/database';
import type { AccountStatus } from './account-status';

const usd = (micros: number) => micros / 1_000_000;
const usdOrNull = (micros: number | null) => (micros === null ? null : usd(Number(micros)));
const lowest = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));

/** Where the next page of users starts: after this creation time (microseconds, as text) and id. */
const usersCursor = z.strictObject({ at: z.iso.datetime(), id: z.uuid() });

const CHECK_TIMEOUT_MS = 2_000;

export interface AdminServiceOptions {
  db: Database;
  clock: Clock;
  ledger: Ledger;
  status: AccountStatus;
  /** Ends the user's queued and running runs, here or in another process; how many. */
  cancelRuns: (userId: string) => Promise<number>;
  /** The operator's limit for users an admin has set none for (DEFAULT_BUDGET_USD). */
  defaultLimitMicros: number | null;
  defaultPeriod: BudgetPeriod;
  readiness?: ReadonlyArray<{ name: string; check(): Promise<void> }>;
  startedAt?: Date;
}

interface UserRow {
  id: string;
  email: string;
  display_name: string | null;
  role: UserRole;
  disabled_at: Date | string | null;
  created_at: Date | string;
  cursor_at: string;
  own_limit: number | null;
  operator_set: boolean | null;
  operator_limit: number | null;
  period: BudgetPeriod;
  spent: number;
  last_active: Date | string | null;
}

const notFound = () => new AppError('NOT_FOUND', 'That user does not exist.');

/** `%`, `_` and `\` in a search are literal characters, not patterns. */
const likePattern = (query: string) => `%${query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** The operator's view of every account: its budget, spend, activity and status. */
export class AdminService implements AdminOperations {
  private readonly startedAt: Date;

  constructor(private readonly options: AdminServiceOptions) {
    this.startedAt = options.startedAt ?? options.clock.now();
  }

  async users(input: { query?: string | undefined; cursor?: string | undefined; limit: number }) {
    const after = input.cursor ? decodeCursor(usersCursor, input.cursor) : null;
    const query = input.query?.trim();
    const where: SQL[] = [sql`true`];
    if (query) where.push(sql`(u.email ilike ${likePattern(query)} or u.display_name ilike ${likePattern(query)})`);
    if (after) where.push(sql`(u.created_at, u.id) < (${after.at}::timestamptz, ${after.id}::uuid)`);
    const rows = await this.selectUsers(sql.join(where, sql` and `), input.limit + 1);
    const page = rows.slice(0, input.limit);
    const last = page.at(-1);
    return {
      items: page.map((row) => this.summary(row)),
      nextCursor: rows.length > input.limit && last ? encodeCursor({ at: last.cursor_at, id: last.id }) : null,
    };
  }

  async user(userId: string): Promise<AdminUserDetails> {
    const [row] = await this.selectUsers(sql`u.id = ${userId}::uuid`, 1);
    if (!row) throw notFound();
    const now = this.options.clock.now().toISOString();
    const [budget, counts] = await Promise.all([
      this.options.ledger.budget(userId),
      queryRows<Record<keyof AdminUserDetails['counts'], number>>(
        this.options.db,
        sql`select
              (select count(*) from conversations where user_id = ${userId}::uuid)::int as "conversations",
              (select count(*) from messages where user_id = ${userId}::uuid)::int as "messages",
              (select count(*) from runs where user_id = ${userId}::uuid and status in ('queued', 'running'))::int as "activeRuns",
              (select count(*) from sessions where user_id = ${userId}::uuid and revoked_at is null
                 and expires_at > ${now}::timestamptz)::int as "liveSessions",
              (select count(*) from api_keys where user_id = ${userId}::uuid and revoked_at is null
                 and (expires_at is null or expires_at > ${now}::timestamptz))::int as "apiKeys"`,
      ),
    ]);
    const summary = this.summary(row);
    return {
      ...summary,
      disabledAt: row.disabled_at === null ? null : new Date(row.disabled_at),
      budget: {
        ...toBudget(budget),
        operatorSet: Boolean(row.operator_set),
        ownLimitUsd: usdOrNull(budget.ownLimitMicros),
      },
      counts: counts[0] ?? { conversations: 0, messages: 0, activeRuns: 0, liveSessions: 0, apiKeys: 0 },
    };
  }

  async setBudget(input: { userId: string; limitUsd: number | null; period: BudgetPeriod }) {
    await this.mustExist(input.userId);
    const limitMicros = input.limitUsd === null ? null : Math.round(input.limitUsd * 1_000_000);
    return toBudget(await this.options.ledger.setOperatorBudget(input.userId, { limitMicros, period: input.period }));
  }

  async disableUser(userId: string, by?: string) {
    if (by === userId) {
      throw new AppError('FORBIDDEN', 'You cannot disable your own account; another admin can.');
    }
    if (!(await this.options.status.setDisabled(userId, true))) throw notFound();
    // Refused from now on; what is still answering is stopped (and billed for what it used).
    const cancelledRuns = await this.options.cancelRuns(userId);
    return { userId, status: 'disabled' as const, cancelledRuns };
  }

  async enableUser(userId: string) {
    if (!(await this.options.status.setDisabled(userId, false))) throw notFound();
    return { userId, status: 'active' as const };
  }

  async usage(query: AdminUsageQuery): Promise<AdminUsage> {
    const parts: SQL[] = [sql`true`];
    if (query.from) parts.push(sql`ur.created_at >= ${query.from.toISOString()}::timestamptz`);
    if (query.to) parts.push(sql`ur.created_at < ${query.to.toISOString()}::timestamptz`);
    const where = sql.join(parts, sql` and `);
    const sums = sql`count(*)::float8 as requests, coalesce(sum(ur.prompt_tokens), 0)::float8 as prompt,
                     coalesce(sum(ur.completion_tokens), 0)::float8 as completion,
                     coalesce(sum(ur.cost_micros), 0)::float8 as cost`;
    type Sums = { requests: number; prompt: number; completion: number; cost: number };
    const totalsOf = (row: Sums | undefined) => ({
      requests: Number(row?.requests ?? 0),
      promptTokens: Number(row?.prompt ?? 0),
      completionTokens: Number(row?.completion ?? 0),
      costUsd: usd(Number(row?.cost ?? 0)),
    });
    const { db } = this.options;
    const [total] = await queryRows<Sums>(db, sql`select ${sums} from usage_records ur where ${where}`);
    const buckets =
      query.groupBy === 'user'
        ? // Deleted accounts' spend stays, under no user: one bucket `deleted`, so the buckets add up to the totals.
          await queryRows<Sums & { key: string; email?: string | null }>(
            db,
            sql`select coalesce(ur.user_id::text, 'deleted') as key, u.email, ${sums}
                from usage_records ur left join users u on u.id = ur.user_id
                where ${where} group by ur.user_id, u.email order by ur.user_id is null, cost desc, u.email`,
          )
        : await queryRows<Sums & { key: string; email?: string | null }>(
            db,
            query.groupBy === 'model'
              ? sql`select ur.model as key, ${sums} from usage_records ur where ${where} group by ur.model order by ur.model`
              : sql`select to_char(ur.created_at at time zone 'UTC', 'YYYY-MM-DD') as key, ${sums}
                    from usage_records ur where ${where} group by 1 order by 1`,
          );
    return {
      totals: totalsOf(total),
      buckets: buckets.map((bucket) => ({
        key: bucket.key,
        ...(bucket.email === undefined || bucket.email === null ? {} : { email: bucket.email }),
        ...totalsOf(bucket),
      })),
    };
  }

  async health(): Promise<AdminHealth> {
    const checks = await Promise.all(
      (this.options.readiness ?? []).map(async ({ name, check }) => {
        const started = performance.now();
        let timer: NodeJS.Timeout | undefined;
        const ok = await Promise.race([
          check().then(
            () => true,
            () => false,
          ),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
          }),
        ]);
        clearTimeout(timer);
        return { name, ok, latencyMs: Math.round(performance.now() - started) };
      }),
    );
    const [row] = await queryRows<{
      total: number;
      admins: number;
      disabled: number;
      active_runs: number;
      reservations: number;
      reserved: number;
    }>(
      this.options.db,
      sql`select (select count(*) from users)::int as total,
                 (select count(*) from users where role = 'admin')::int as admins,
                 (select count(*) from users where disabled_at is not null)::int as disabled,
                 (select count(*) from runs where status in ('queued', 'running'))::int as active_runs,
                 (select count(*) from reservations)::int as reservations,
                 (select coalesce(sum(amount_micros), 0) from reservations)::float8 as reserved`,
    );
    return {
      status: checks.every((check) => check.ok) ? 'ok' : 'degraded',
      checks,
      users: { total: Number(row?.total ?? 0), admins: Number(row?.admins ?? 0), disabled: Number(row?.disabled ?? 0) },
      activeRuns: Number(row?.active_runs ?? 0),
      reservations: { count: Number(row?.reservations ?? 0), amountUsd: usd(Number(row?.reserved ?? 0)) },
      uptimeSeconds: Math.round((this.options.clock.now().getTime() - this.startedAt.getTime()) / 1000),
    };
  }

  /** The user's id, for the CLI, which names users by email. */
  async userIdByEmail(email: string): Promise<string> {
    const [row] = await queryRows<{ id: string }>(
      this.options.db,
      sql`select id from users where email = ${normalizeEmail(email)}`,
    );
    if (!row) throw new AppError('NOT_FOUND', `No account has the email ${email.trim()}.`);
    return row.id;
  }

  private async mustExist(userId: string): Promise<void> {
    const [row] = await queryRows<{ id: string }>(
      this.options.db,
      sql`select id from users where id = ${userId}::uuid`,
    );
    if (!row) throw notFound();
  }

  private selectUsers(where: SQL, limit: number): Promise<UserRow[]> {
    const now = this.options.clock.now().toISOString();
    const currentStart = sql`case when b.period = 'none' then b.period_start
             else date_trunc(b.period, ${now}::timestamptz at time zone 'UTC') at time zone 'UTC' end`;
    return queryRows<UserRow>(
      this.options.db,
      sql`select u.id, u.email, u.display_name, u.role, u.disabled_at, u.created_at,
                 to_char(u.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_at,
                 b.limit_micros::float8 as own_limit, b.operator_set, b.operator_limit_micros::float8 as operator_limit,
                 coalesce(b.period, ${this.options.defaultPeriod}) as period,
                 (case when b.user_id is null or ${currentStart} > b.period_start then 0 else b.spent_micros end)::float8 as spent,
                 greatest(
                   (select max(r.created_at) from runs r where r.user_id = u.id),
                   (select max(coalesce(s.refreshed_at, s.created_at)) from sessions s where s.user_id = u.id),
                   (select max(k.last_used_at) from api_keys k where k.user_id = u.id)
                 ) as last_active
          from users u left join budgets b on b.user_id = u.id
          where ${where}
          order by u.created_at desc, u.id desc
          limit ${limit}`,
    );
  }

  private summary(row: UserRow): AdminUserSummary {
    const operatorLimit = row.operator_set ? row.operator_limit : this.options.defaultLimitMicros;
    const own = row.own_limit === null ? null : Number(row.own_limit);
    return {
      id: row.id,
      email: row.email,
      displayName: row.display_name,
      role: row.role,
      status: row.disabled_at === null ? 'active' : 'disabled',
      createdAt: new Date(row.created_at),
      lastActiveAt: row.last_active === null ? null : new Date(row.last_active),
      budget: {
        limitUsd: usdOrNull(lowest(own, operatorLimit === null ? null : Number(operatorLimit))),
        operatorLimitUsd: usdOrNull(operatorLimit),
        operatorSet: Boolean(row.operator_set),
        ownLimitUsd: usdOrNull(own),
        period: row.period,
        spentUsd: usd(Number(row.spent)),
      },
    };
  }
}
