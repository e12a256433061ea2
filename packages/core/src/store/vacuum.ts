import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';

/**
 * Tables whose rows are rewritten in place as people chat: a conversation's counters and a budget
 * on every run, the agent's last activity, reservations made and dropped on every model step,
 * memory edits, summaries, refreshed sessions. One row per user or conversation, but every rewrite
 * leaves a dead version behind, and an update that changes an indexed column (most of these do)
 * keeps its slot until a vacuum frees it: unvacuumed, `conversations` grew by ~100 bytes a run
 * (6 MB for 50 rows after 60,000 runs). Vacuuming them takes milliseconds, since they stay small.
 * The append-mostly tables (messages, runs, usage) are left alone: their vacuum scans every index
 * of a table that only grows, and would hold PGlite's one connection for seconds.
 */
const REWRITTEN_TABLES = [
  'conversations',
  'budgets',
  'agents',
  'reservations',
  'memory_blocks',
  'conversation_summaries',
  'sessions',
] as const;

/**
 * Does for PGlite what autovacuum does for a PostgreSQL server: PGlite runs PostgreSQL as a single
 * user, with no autovacuum, so without this the tables above would grow with every run for good.
 * It takes any Drizzle handle's `execute`, not `Database`, because database.ts (which calls it) defines that.
 */
export async function vacuumRewrittenTables(db: Pick<PgDatabase<PgQueryResultHKT>, 'execute'>): Promise<void> {
  await db.execute(sql.raw(`vacuum ${REWRITTEN_TABLES.join(', ')}`));
}
