import type { StoreLocation } from '../store/database';

export interface TestDatabase {
  /** For test names: `pglite` or `postgres`. */
  name: 'pglite' | 'postgres';
  location: StoreLocation;
}

/**
 * The databases a store test runs on: in-memory PGlite always, and PostgreSQL when
 * TEST_DATABASE_URL is set (CI points it at a fresh database per run).
 */
export function testDatabases(): TestDatabase[] {
  const url = process.env.TEST_DATABASE_URL;
  const databases: TestDatabase[] = [{ name: 'pglite', location: { kind: 'pglite-memory' } }];
  if (url) databases.push({ name: 'postgres', location: { kind: 'postgres', url, maxConnections: 4 } });
  return databases;
}
