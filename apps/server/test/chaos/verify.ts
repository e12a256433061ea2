import type postgres from 'postgres';
import type { Subscription, UserReport } from './users';

/** What the store says (failOrphanedRuns) of a run whose process died under it. */
const SERVER_STOPPED = 'The server stopped while this run was in progress.';

const TERMINAL_TYPE: Record<string, string> = {
  completed: 'run.completed',
  failed: 'run.failed',
  cancelled: 'run.cancelled',
};

export interface Invariant {
  name: string;
  ok: boolean;
  detail: string;
}

export interface Verdict {
  figures: {
    users: number;
    usersWithOwnLimit: number;
    acceptedMessages: number;
    storedMessages: number;
    missingMessages: number;
    runs: Record<string, number>;
    /** Failed runs by what the store says failed them (budget refusals as one, their amounts differ). */
    failedBy: Record<string, number>;
    nonTerminalRuns: number;
    reservationsLeft: number;
    reservedMicrosLeft: number;
    usersAtLimit: number;
    usersOverLimit: number;
    highestSpendShareOfLimit: number;
    subscribers: number;
    subscribersStayed: number;
    subscribersGaveUp: number;
    exactlyOnce: number;
    /** Saw more than the store kept: text streamed by an instance that was killed before saving it. */
    textLostWithInstance: number;
    duplicateEventIds: number;
    wrongText: number;
    wrongTerminal: number;
    /** Saw no text delta though the run stored text: only the terminal event reached them. */
    onlyTerminal: number;
    resubscribes: number;
  };
  invariants: Invariant[];
  /** The reservations left, with their runs, for a person to look at. */
  reservationsLeft: Array<{
    runId: string | null;
    runStatus: string | null;
    runError: string | null;
    instance: string | null;
    received: number;
  }>;
  /** A few of the subscribers that failed, for a person to look at. */
  examples: Array<{ runId: string; status: string; why: string; seen: string; stored: string }>;
}

interface RunRow {
  id: string;
  status: string;
  error_message: string | null;
  stored: string | null;
}

/** Checks the figures in PostgreSQL itself, after the chaos is over and every user has stopped. */
export async function verify(sql: postgres.Sql, users: UserReport[], defaultLimitMicros: number): Promise<Verdict> {
  const accepted = users.flatMap((user) => user.accepted);
  const subscriptions = users.flatMap((user) => user.subscriptions);

  const storedRows = await sql<{ id: string; content: string }[]>`
    select id, content from messages where role = 'user' and id = any(${accepted.map((m) => m.userMessageId)}::uuid[])`;
  const stored = new Map(storedRows.map((row) => [row.id, row.content]));
  const missing = accepted.filter((m) => stored.get(m.userMessageId) !== m.text);

  const statusRows = await sql<{ status: string; n: number }[]>`
    select status, count(*)::int as n from runs group by status`;
  const runs = Object.fromEntries(statusRows.map((row) => [row.status, row.n]));
  const nonTerminalRuns = (runs.queued ?? 0) + (runs.running ?? 0);
  const failedRows = await sql<{ why: string; n: number }[]>`
    select case when error_code = 'BUDGET_EXCEEDED' then error_code
                else coalesce(error_code || ': ' || error_message, 'unknown') end as why, count(*)::int as n
    from runs where status = 'failed' group by 1 order by 2 desc`;
  const failedBy = Object.fromEntries(failedRows.map((row) => [row.why, row.n]));

  const [reservations] = await sql<{ n: number; micros: number }[]>`
    select (select count(*) from reservations)::int as n,
           (select coalesce(sum(reserved_micros), 0) from budgets)::float8 as micros`;

  const reservationsLeft = await sql<Verdict['reservationsLeft']>`
    select v.run_id as "runId", r.status as "runStatus", r.error_message as "runError", r.instance_id as instance,
           v.received_tokens as received
    from reservations v left join runs r on r.id = v.run_id`;

  const spend = await sql<{ user_id: string; spent: number; recorded: number; limit_micros: number }[]>`
    select b.user_id, b.spent_micros::float8 as spent,
           coalesce((select sum(u.cost_micros) from usage_records u where u.user_id = b.user_id), 0)::float8 as recorded,
           least(coalesce(b.limit_micros, ${defaultLimitMicros}), coalesce(b.operator_limit_micros, ${defaultLimitMicros}))::float8
             as limit_micros
    from budgets b`;
  const shares = spend.map((row) => Math.max(row.spent, row.recorded) / row.limit_micros);
  const usersOverLimit = shares.filter((share) => share > 1).length;

  const runRows = await sql<RunRow[]>`
    select r.id, r.status, r.error_message,
           (select m.content from messages m where m.run_id = r.id and m.role = 'assistant' limit 1) as stored
    from runs r where r.id = any(${subscriptions.map((s) => s.runId)}::uuid[])`;
  const runById = new Map(runRows.map((row) => [row.id, row]));

  const stayed = subscriptions.filter((s) => !s.gaveUp);
  const examples: Verdict['examples'] = [];
  let exactlyOnce = 0;
  let textLostWithInstance = 0;
  let duplicateEventIds = 0;
  let wrongText = 0;
  let wrongTerminal = 0;
  let onlyTerminal = 0;
  const fail = (s: Subscription, run: RunRow | undefined, why: string) => {
    if (examples.length < 8) {
      examples.push({
        runId: s.runId,
        status: run?.status ?? 'missing',
        why,
        seen: s.text.slice(0, 80),
        stored: (run?.stored ?? '').slice(0, 80),
      });
    }
  };
  for (const s of stayed) {
    const run = runById.get(s.runId);
    const storedText = run?.stored ?? '';
    if (new Set(s.eventIds).size !== s.eventIds.length) {
      duplicateEventIds += 1;
      fail(s, run, 'an event id came twice');
      continue;
    }
    if (!run || s.terminal?.type !== TERMINAL_TYPE[run.status]) {
      wrongTerminal += 1;
      fail(s, run, `terminal event ${s.terminal?.type ?? 'none'} for a run ${run?.status ?? 'missing'}`);
      continue;
    }
    if (s.text === storedText) {
      exactlyOnce += 1;
      continue;
    }
    // The instance streamed a little more than it saved before kill -9: nothing was seen twice.
    if (run.error_message === SERVER_STOPPED && s.text.startsWith(storedText)) {
      textLostWithInstance += 1;
      continue;
    }
    wrongText += 1;
    if (s.text === '' && storedText !== '') onlyTerminal += 1;
    fail(s, run, s.text === '' ? 'no text delta, only the terminal event' : 'the text seen is not the text stored');
  }

  const figures: Verdict['figures'] = {
    users: users.length,
    usersWithOwnLimit: users.filter((user) => user.ownLimitUsd !== undefined).length,
    acceptedMessages: accepted.length,
    storedMessages: accepted.length - missing.length,
    missingMessages: missing.length,
    runs,
    failedBy,
    nonTerminalRuns,
    reservationsLeft: reservations?.n ?? 0,
    reservedMicrosLeft: reservations?.micros ?? 0,
    usersAtLimit: users.filter(
      (user) =>
        (user.refused.BUDGET_EXCEEDED ?? 0) > 0 ||
        user.subscriptions.some((s) => s.terminal?.type === 'run.failed' && s.terminal.appCode === 'BUDGET_EXCEEDED'),
    ).length,
    usersOverLimit,
    highestSpendShareOfLimit: Math.round(Math.max(0, ...shares) * 1000) / 1000,
    subscribers: subscriptions.length,
    subscribersStayed: stayed.length,
    subscribersGaveUp: subscriptions.length - stayed.length,
    exactlyOnce,
    textLostWithInstance,
    duplicateEventIds,
    wrongText,
    wrongTerminal,
    onlyTerminal,
    resubscribes: subscriptions.reduce((sum, s) => sum + s.resubscribes, 0),
  };
  const invariants: Invariant[] = [
    {
      name: 'every accepted message is stored',
      ok: missing.length === 0 && accepted.length > 0,
      detail: `${figures.storedMessages}/${accepted.length}`,
    },
    { name: 'every run reached a terminal state', ok: nonTerminalRuns === 0, detail: `${nonTerminalRuns} not ended` },
    {
      name: 'no reservation is left',
      ok: figures.reservationsLeft === 0 && figures.reservedMicrosLeft === 0,
      detail: `${figures.reservationsLeft} rows, ${figures.reservedMicrosLeft} µUSD reserved`,
    },
    {
      name: "no user's spend passed their limit",
      ok: usersOverLimit === 0,
      detail: `${usersOverLimit} over; highest ${figures.highestSpendShareOfLimit} of the limit; ${figures.usersAtLimit} stopped at it`,
    },
    {
      name: 'every subscriber that stayed saw its text exactly once',
      ok: stayed.length > 0 && exactlyOnce + textLostWithInstance === stayed.length,
      detail: `${exactlyOnce + textLostWithInstance}/${stayed.length} (${wrongText} wrong text, ${onlyTerminal} of them only the end; ${duplicateEventIds} duplicate ids; ${wrongTerminal} wrong end)`,
    },
  ];
  return { figures, invariants, reservationsLeft, examples };
}

/**
 * Waits up to `withinMs` for no run to be queued or running; resolves with how long that took,
 * 0 when none was (verify counts those still active after it).
 */
export async function activeRunsGone(sql: postgres.Sql, withinMs: number): Promise<number> {
  const started = performance.now();
  for (let check = 0; ; check++) {
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from runs where status in ('queued', 'running')`;
    const waited = Math.round(performance.now() - started);
    if ((row?.n ?? 0) === 0) return check === 0 ? 0 : waited;
    if (waited >= withinMs) return waited;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
