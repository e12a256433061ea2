import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { adminSetBudgetInput, adminUsageInput } from '@hearth/api';
import {
  AccountStatus,
  AdminService,
  type AdminUserSummary,
  DataDirInUseError,
  exportUser,
  grantAdmin,
  isAppError,
  migrateStore,
  openStore,
  type Store,
  type StoreLocation,
  schema,
  systemClock,
} from '@hearth/core';
import { Command, InvalidArgumentError, Option } from 'commander';
import { and, eq, inArray } from 'drizzle-orm';
import type { z } from 'zod';
import { ledgerFor, operatorLimitMicros, pricesFor, storeLocationFor } from './compose';
import { type Config, ConfigError, loadConfig } from './config';
import { loadEnvFile } from './env-file';

// `pnpm hearth` runs in apps/server; INIT_CWD is where the operator typed it, as for `pnpm start`.
const cwd = process.env.INIT_CWD ?? process.cwd();

/** A failure told to the operator in one line, never a stack. */
class CliError extends Error {
  constructor(
    message: string,
    readonly code = 'FAILED',
  ) {
    super(message);
  }
}

// ---- output -----------------------------------------------------------------------------------

let asJson = false;

function print(value: unknown, human: () => string): void {
  process.stdout.write(asJson ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

/** Progress of a long task, on stderr so that stdout stays the result (a pipe, a file, JSON). */
function progress(text: string, done = false): void {
  if (process.stderr.isTTY) process.stderr.write(`\r${text}\u001b[K${done ? '\n' : ''}`);
  else process.stderr.write(`${text}\n`);
}

const money = (usd: number | null) =>
  usd === null ? 'none' : `$${usd.toFixed(usd !== 0 && Math.abs(usd) < 0.01 ? 6 : 2)}`;
const when = (at: Date | null) => (at ? at.toISOString().replace('T', ' ').slice(0, 16) : '-');

/** A plain text table: numbers right-aligned, everything else left-aligned. */
function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  const numeric = headers.map(
    (_, i) => rows.length > 0 && rows.every((row) => typeof row[i] === 'number' || /^\$?[\d.,]+$/.test(String(row[i]))),
  );
  const line = (row: string[]) =>
    row
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((width) => '-'.repeat(width))), ...cells.slice(1).map(line)].join('\n');
}

// ---- the store --------------------------------------------------------------------------------

interface Operator {
  config: Config;
  store: Store;
  admin: AdminService;
}

function lockedMessage(location: StoreLocation, error: Error): string {
  const where = location.kind === 'pglite' ? location.dataDir : 'the data directory';
  const pid = /pid (\d+)/.exec(error.message)?.[1];
  return (
    `the embedded database at ${where} is in use by a running Hearth server${pid ? ` (pid ${pid})` : ''}: ` +
    'PGlite allows one process at a time. Stop the server and run this again, ' +
    'or run Hearth on PostgreSQL (DATABASE_URL), where the CLI and the server work at once.'
  );
}

async function openConfigured(): Promise<{ config: Config; store: Store; location: StoreLocation }> {
  loadEnvFile(cwd);
  const config = loadConfig(process.env, cwd);
  const location = storeLocationFor(config);
  let store: Store;
  try {
    store = await openStore(location);
  } catch (error) {
    if (error instanceof DataDirInUseError) throw new CliError(lockedMessage(location, error), 'STORE_LOCKED');
    throw error;
  }
  try {
    await migrateStore(store, location);
  } catch (error) {
    await store.close();
    throw error;
  }
  return { config, store, location };
}

/** Runs `task` against the configured store (the same settings and .env as the server), then closes it. */
async function withOperator<T>(task: (operator: Operator) => Promise<T>): Promise<T> {
  const { config, store, location } = await openConfigured();
  try {
    const clock = systemClock;
    const soleWriter = location.kind !== 'postgres';
    const { ledger } = ledgerFor(config, { store, clock, prices: pricesFor(config), soleWriter });
    const admin = new AdminService({
      db: store.db,
      clock,
      ledger,
      status: new AccountStatus({ db: store.db, clock, soleWriter }),
      // A run live in a server sharing PostgreSQL is asked to stop there; on the embedded store no
      // server is running (the CLI holds the lock), and the next start ends what a dead one left.
      cancelRuns: async (userId) => {
        const rows = await store.db
          .select({ id: schema.runs.id })
          .from(schema.runs)
          .where(and(eq(schema.runs.userId, userId), inArray(schema.runs.status, ['queued', 'running'])));
        const ids = rows.map((row) => row.id);
        await Promise.all(ids.map((id) => store.runSignals.requestCancel(id)));
        return ids.length;
      },
      defaultLimitMicros: operatorLimitMicros(config),
      defaultPeriod: config.DEFAULT_BUDGET_PERIOD,
      readiness: [{ name: 'store', check: () => store.ping() }],
    });
    return await task({ config, store, admin });
  } finally {
    await store.close();
  }
}

/** Input checked by the API's own rules, so the CLI accepts exactly what `admin.*` does. */
function checked<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new CliError(`${String(issue?.path.join('.') || 'input')}: ${issue?.message ?? 'not valid'}`, 'INVALID_INPUT');
}

const date = (value: string): Date => {
  const parsed = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(parsed.getTime())) throw new InvalidArgumentError('expected a date: YYYY-MM-DD or an ISO time');
  return parsed;
};

const positive = (value: string): number => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 100) throw new InvalidArgumentError('expected 1 to 100');
  return parsed;
};

const summaryRow = (user: AdminUserSummary) => [
  user.email,
  user.role,
  user.status,
  money(user.budget.spentUsd),
  money(user.budget.limitUsd),
  user.budget.period,
  when(user.lastActiveAt),
];
const SUMMARY_HEADERS = ['email', 'role', 'status', 'spent', 'limit', 'period', 'last active'];

// ---- the commands -----------------------------------------------------------------------------

export function cliProgram(): Command {
  const program = new Command('hearth')
    .description(
      'Operate a Hearth server: users, budgets, usage, exports. Works on the configured store (DATABASE_URL or the PGlite data dir, with the same .env as the server).',
    )
    .option('--json', 'print the result as JSON, for scripts')
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError()
    .hook('preAction', (command) => {
      asJson = Boolean(command.optsWithGlobals().json);
    });

  program
    .command('migrate')
    .description('apply pending database migrations (the server does this at start, too)')
    .action(async () => {
      progress('applying migrations…');
      const { store, location } = await openConfigured();
      await store.close();
      progress('migrations applied', true);
      print({ migrated: true, store: location.kind }, () => `hearth: migrations applied (${location.kind})`);
    });

  const admin = program.command('admin').description('who may use the admin API');
  admin
    .command('grant')
    .description('give an account the admin role (it must have registered first)')
    .argument('<email>', "the account's email")
    .action((email: string) =>
      withOperator(async ({ store }) => {
        const granted = await grantAdmin(store.db, email, new Date());
        if (!granted) throw new CliError(`no account has the email ${email}; register it first`, 'NOT_FOUND');
        print({ userId: granted.id, email, role: 'admin' }, () => `${email} is now an admin`);
      }),
    );

  const users = program.command('users').description('list, show, disable and enable accounts');
  users
    .command('list')
    .description('every account with its spend this period, limit, status and last activity (newest first)')
    .option('-q, --query <text>', 'only emails or names containing this')
    .option('-n, --limit <count>', 'accounts per page', positive, 50)
    .option('--all', 'every page, not just the first')
    .action((options: { query?: string; limit: number; all?: boolean }) =>
      withOperator(async ({ admin }) => {
        const items: AdminUserSummary[] = [];
        let cursor: string | undefined;
        let nextCursor: string | null = null;
        do {
          const page = await admin.users({ query: options.query, cursor, limit: options.limit });
          items.push(...page.items);
          nextCursor = page.nextCursor;
          cursor = nextCursor ?? undefined;
          if (options.all && nextCursor) progress(`read ${items.length} accounts…`);
        } while (options.all && cursor);
        print({ items, nextCursor }, () =>
          items.length === 0
            ? 'no accounts'
            : `${table(SUMMARY_HEADERS, items.map(summaryRow))}${nextCursor ? '\n(more: --all)' : ''}`,
        );
      }),
    );
  users
    .command('show')
    .description("one account's details: budget, counts, status")
    .argument('<email>', "the account's email")
    .action((email: string) =>
      withOperator(async ({ admin }) => {
        const user = await admin.user(await admin.userIdByEmail(email));
        print(user, () =>
          [
            `${user.email} (${user.role}, ${user.status}${user.disabledAt ? ` since ${when(user.disabledAt)}` : ''})`,
            `  id            ${user.id}`,
            `  created       ${when(user.createdAt)}; last active ${when(user.lastActiveAt)}`,
            `  budget        ${money(user.budget.spentUsd)} spent of ${money(user.budget.limitUsd)} per ${user.budget.period}` +
              ` (operator: ${money(user.budget.ceilingUsd)}${user.budget.operatorSet ? ', set by an admin' : ', the default'}` +
              `; own cap: ${money(user.budget.ownLimitUsd)})`,
            `  counts        ${user.counts.conversations} conversations, ${user.counts.messages} messages, ` +
              `${user.counts.activeRuns} active runs, ${user.counts.liveSessions} sessions, ${user.counts.apiKeys} API keys`,
          ].join('\n'),
        );
      }),
    );
  for (const [name, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    users
      .command(name)
      .description(
        disabled
          ? 'lock an account: its sessions, refresh tokens and API keys are refused, its runs cancelled'
          : 'unlock a disabled account',
      )
      .argument('<email>', "the account's email")
      .action((email: string) =>
        withOperator(async ({ admin }) => {
          const userId = await admin.userIdByEmail(email);
          const result = disabled ? await admin.disableUser(userId) : await admin.enableUser(userId);
          print({ email, ...result }, () =>
            disabled
              ? `${email} is disabled${'cancelledRuns' in result && result.cancelledRuns > 0 ? `; ${result.cancelledRuns} run(s) cancelled` : ''}`
              : `${email} is enabled`,
          );
        }),
      );
  }

  program
    .command('budget')
    .description("users' budgets")
    .command('set')
    .description("set the operator's limit for one account; the user may then only lower theirs")
    .argument('<email>', "the account's email")
    .argument('<usd>', 'the limit in USD, or "none" for no limit')
    .addArgument(
      new Command().createArgument('<period>', 'the period it resets with').choices(['day', 'week', 'month', 'none']),
    )
    .action((email: string, usd: string, period: string) =>
      withOperator(async ({ admin }) => {
        const limitUsd = usd === 'none' ? null : Number(usd);
        if (limitUsd !== null && !Number.isFinite(limitUsd))
          throw new CliError('usd: expected a number or "none"', 'INVALID_INPUT');
        const input = checked(adminSetBudgetInput, { userId: await admin.userIdByEmail(email), limitUsd, period });
        const budget = await admin.setBudget(input);
        print(
          { email, ...budget },
          () => `${email}: ${money(budget.limitUsd)} per ${budget.period} (${money(budget.spentUsd)} spent)`,
        );
      }),
    );

  program
    .command('usage')
    .description('spend across all users')
    .command('report')
    .description('usage between two times, grouped by user, model or day (UTC)')
    .option('--from <date>', 'from this time on (YYYY-MM-DD is midnight UTC)', date)
    .option('--to <date>', 'before this time', date)
    .addOption(new Option('--by <group>', 'group by').choices(['user', 'model', 'day']).default('user'))
    .action((options: { from?: Date; to?: Date; by: string }) =>
      withOperator(async ({ admin }) => {
        const query = checked(adminUsageInput, { from: options.from, to: options.to, groupBy: options.by });
        const usage = await admin.usage(query);
        const row = (label: string, totals: (typeof usage)['totals']) => [
          label,
          totals.requests,
          totals.promptTokens,
          totals.completionTokens,
          money(totals.costUsd),
        ];
        print(usage, () =>
          table(
            [query.groupBy, 'requests', 'prompt tokens', 'output tokens', 'cost'],
            [...usage.buckets.map((bucket) => row(bucket.email ?? bucket.key, bucket)), row('total', usage.totals)],
          ),
        );
      }),
    );

  program
    .command('export')
    .description("one account's data as JSON (profile, conversations with messages, memory, usage), streamed")
    .argument('<email>', "the account's email")
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .action((email: string, options: { output?: string }) =>
      withOperator(async ({ admin, store }) => {
        const userId = await admin.userIdByEmail(email);
        const out: NodeJS.WritableStream = options.output ? createWriteStream(options.output) : process.stdout;
        const chunks = exportUser(store.db, userId, {
          now: new Date(),
          onProgress: (p) =>
            progress(`exported ${p.conversations}/${p.conversationsTotal} conversations, ${p.messages} messages`),
        });
        for await (const chunk of chunks) {
          // Backpressure: a slow reader (a pipe) holds the export, which then never sits in memory.
          if (!out.write(chunk)) await once(out, 'drain');
        }
        if (out !== process.stdout) {
          out.end();
          await finished(out);
        }
        progress(`exported ${email}`, true);
      }),
    );

  return program;
}

function failure(error: unknown): { code: string; message: string } {
  if (error instanceof CliError) return { code: error.code, message: error.message };
  if (error instanceof ConfigError) return { code: 'CONFIG', message: error.message };
  if (isAppError(error)) return { code: error.appCode, message: error.message };
  // A failed statement's text is SQL with its values: tell its cause's first line only.
  const cause = error instanceof Error && error.name === 'DrizzleQueryError' && error.cause ? error.cause : error;
  const message = cause instanceof Error ? cause.message : String(cause);
  return { code: 'FAILED', message: message.split('\n')[0] ?? 'failed' };
}

cliProgram()
  .parseAsync(process.argv)
  .then(
    () => process.exit(0),
    (error: unknown) => {
      const { code, message } = failure(error);
      process.stderr.write(asJson ? `${JSON.stringify({ error: { code, message } })}\n` : `hearth: ${message}\n`);
      process.exit(1);
    },
  );
