import type { PGlite } from '@electric-sql/pglite';
import { type SQL, sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { type RunSignals, singleProcessSignals } from '../ports/run-signals';
import { createDataDir } from './data-dir';
import { lockDataDir } from './data-dir-lock';
import { connectionFailure } from './errors';
import { PgliteThread } from './pglite-thread';
import { PostgresRunSignals } from './postgres-run-signals';
import * as schema from './schema';
import { vacuumRewrittenTables } from './vacuum';

export type Schema = typeof schema;
export type Database = PgDatabase<PgQueryResultHKT, Schema>;

export type StoreLocation =
  | { kind: 'postgres'; url: string; maxConnections?: number; connectTimeoutSeconds?: number }
  | {
      kind: 'pglite';
      dataDir: string;
      /** PostgreSQL's `shared_buffers` inside PGlite, e.g. `16MB`; unset: PGlite's own (128MB). */
      sharedBuffers?: string | undefined;
    }
  | { kind: 'pglite-memory' };

export interface Store {
  readonly kind: StoreLocation['kind'];
  readonly db: Database;
  /** Answers when the database does; used by /readyz. */
  ping(): Promise<void>;
  /** How processes sharing this store signal each other's runs. */
  readonly runSignals: RunSignals;
  /** Frees the dead rows autovacuum would (PGlite has none); nothing to do on PostgreSQL. */
  vacuum(): Promise<void>;
  close(): Promise<void>;
}

export async function openStore(location: StoreLocation): Promise<Store> {
  if (location.kind === 'postgres') {
    const connectTimeoutSeconds = location.connectTimeoutSeconds ?? 30;
    const client = postgres(location.url, {
      max: location.maxConnections ?? 10,
      connect_timeout: connectTimeoutSeconds,
      onnotice: () => {},
      connection: { application_name: 'hearth' },
    });
    // A first round trip here, so an unreachable server is reported as such, not as the failure of
    // whatever statement happened to run first.
    try {
      await client`select 1`;
    } catch (error) {
      await client.end({ timeout: 1 });
      throw connectionFailure(error, location.url, connectTimeoutSeconds);
    }
    const db = drizzlePostgres(client, { schema });
    return {
      kind: 'postgres',
      db,
      ping: async () => {
        await db.execute(sql`select 1`);
      },
      runSignals: new PostgresRunSignals(client),
      vacuum: async () => {},
      close: () => client.end({ timeout: 5 }),
    };
  }
  let unlock = () => {};
  if (location.kind === 'pglite') {
    createDataDir(location.dataDir);
    unlock = lockDataDir(location.dataDir);
  }
  const client = await PgliteThread.open(
    location.kind === 'pglite' ? location.dataDir : undefined,
    location.kind === 'pglite' ? { sharedBuffers: location.sharedBuffers } : {},
  ).catch((error: unknown) => {
    unlock();
    throw error;
  });
  // Drizzle calls only query and transaction, which the worker-backed client answers as PGlite does.
  const db = drizzlePglite(client as unknown as PGlite, { schema });
  return {
    kind: location.kind,
    db,
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    runSignals: singleProcessSignals,
    vacuum: () => vacuumRewrittenTables(db),
    close: async () => {
      await client.close();
      unlock();
    },
  };
}

/**
 * Runs raw SQL and returns its rows whatever the driver: PGlite answers `{ rows }`, postgres.js an
 * array. For statements Drizzle's builder cannot express, such as one-round-trip writable CTEs.
 */
export async function queryRows<T>(db: Database, query: SQL): Promise<T[]> {
  const result: unknown = await db.execute(query);
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}
