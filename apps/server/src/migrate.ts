import { migrateStore, openStore } from '@hearth/core';
import { storeLocationFor } from './compose';
import { ConfigError, loadConfig } from './config';
import { loadEnvFile } from './env-file';

/** `pnpm db:migrate`: applies pending migrations to the configured store and exits. */
async function main(): Promise<void> {
  const cwd = process.env.INIT_CWD ?? process.cwd();
  loadEnvFile(cwd);
  const location = storeLocationFor(loadConfig(process.env, cwd));
  const store = await openStore(location);
  try {
    await migrateStore(store, location);
  } finally {
    await store.close();
  }
  console.log(`hearth: migrations applied (${location.kind})`);
}

main().catch((error: unknown) => {
  console.error(
    `hearth: ${error instanceof ConfigError ? error.message : `migration failed: ${error instanceof Error ? error.message : String(error)}`}`,
  );
  process.exit(1);
});
