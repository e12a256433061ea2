import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import type { Store, StoreLocation } from './database';

const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url));

/** Any number; it only has to be the same for every Hearth process sharing a database. */
const MIGRATION_LOCK_ID = 7_426_551;

/**
 * Brings the schema up to date. On PostgreSQL several processes may start at once, so the
 * migration runs on one connection holding an advisory lock; PGlite has a single owner.
 */
export async function migrateStore(store: Store, location: StoreLocation): Promise<void> {
  if (location.kind !== 'postgres') {
    await migratePglite(store.db as unknown as PgliteDatabase, { migrationsFolder });
    return;
  }
  const client = postgres(location.url, { max: 1, onnotice: () => {} });
  try {
    const db = drizzlePostgres(client);
    await db.execute(sql`select pg_advisory_lock(${MIGRATION_LOCK_ID})`);
    try {
      await migratePostgres(db, { migrationsFolder });
    } finally {
      await db.execute(sql`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`);
    }
  } finally {
    await client.end({ timeout: 5 });
  }
}
