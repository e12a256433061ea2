import { mkdirSync } from 'node:fs';
import { PGlite, type ParserOptions, types } from '@electric-sql/pglite';
import { type SQL, sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema';

export type Schema = typeof schema;
export type Database = PgDatabase<PgQueryResultHKT, Schema>;

export type StoreLocation =
  | { kind: 'postgres'; url: string; maxConnections?: number }
  | { kind: 'pglite'; dataDir: string }
  | { kind: 'pglite-memory' };

export interface Store {
  readonly kind: StoreLocation['kind'];
  readonly db: Database;
  /** Answers when the database does; used by /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export async function openStore(location: StoreLocation): Promise<Store> {
  if (location.kind === 'postgres') {
    const client = postgres(location.url, {
      max: location.maxConnections ?? 10,
      onnotice: () => {},
      connection: { application_name: 'hearth' },
    });
    const db = drizzlePostgres(client, { schema });
    return {
      kind: 'postgres',
      db,
      ping: async () => {
        await db.execute(sql`select 1`);
      },
      close: () => client.end({ timeout: 5 }),
    };
  }
  if (location.kind === 'pglite') mkdirSync(location.dataDir, { recursive: true });
  const client = await PGlite.create(location.kind === 'pglite' ? location.dataDir : undefined, {
    parsers: DRIZZLE_PARSERS,
  });
  const db = drizzlePglite(withInstanceParsers(client), { schema });
  return {
    kind: location.kind,
    db,
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: () => client.close(),
  };
}

/** The parsers Drizzle hands PGlite with every query: dates and intervals left as text for Drizzle to map. */
const keepText = (value: string) => value;
const DRIZZLE_PARSERS: ParserOptions = Object.fromEntries(
  [types.TIMESTAMP, types.TIMESTAMPTZ, types.INTERVAL, types.DATE, 1231, 1115, 1185, 1187, 1182].map((oid) => [
    oid,
    keepText,
  ]),
);

/**
 * PGlite merges per-query parsers into its whole parser table on every query, which costs more
 * than many of the queries themselves. The same parsers are set once on the instance instead
 * (DRIZZLE_PARSERS), and the per-query copy Drizzle sends is dropped.
 */
function withInstanceParsers(client: PGlite): PGlite {
  const query = client.query.bind(client);
  client.query = ((sql: string, params?: unknown[], options?: Parameters<PGlite['query']>[2]) =>
    query(sql, params, options && { ...options, parsers: undefined })) as PGlite['query'];
  return client;
}

/**
 * Runs raw SQL and returns its rows whatever the driver: PGlite answers `{ rows }`, postgres.js an
 * array. For statements Drizzle's builder cannot express, such as one-round-trip writable CTEs.
 */
export async function queryRows<T>(db: Database, query: SQL): Promise<T[]> {
  const result: unknown = await db.execute(query);
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}
