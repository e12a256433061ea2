import type { ChatStore, Clock, Ledger, RunHub, Store } from '@hearth/core';
import type { Logger } from './logger';

const INTERVAL_MS = 30_000;
/** A run whose process has not beaten for this long is taken for dead. Several missed beats. */
const RUN_STALE_MS = 4 * INTERVAL_MS;

export interface MaintenanceParts {
  chatStore: ChatStore;
  hub: RunHub;
  ledger: Ledger;
  clock: Clock;
  logger: Logger;
  /** PostgreSQL may be shared with live processes; PGlite has this process as its one owner. */
  sharedStore: boolean;
  store: Pick<Store, 'vacuum'>;
}

/**
 * Crash recovery, at start-up and then every 30 s: live runs beat, runs and budget reservations
 * left by dead processes are closed (runs failed, reservations billed for what they received).
 * Every 30 s too, the embedded store's rewritten tables are vacuumed (PGlite has no autovacuum).
 */
export async function startMaintenance(parts: MaintenanceParts): Promise<() => void> {
  const { chatStore, hub, ledger, clock, logger, sharedStore, store } = parts;
  const staleBefore = () => new Date(clock.now().getTime() - RUN_STALE_MS);

  const runs = await chatStore.failOrphanedRuns(sharedStore ? staleBefore() : undefined);
  if (runs > 0) logger.warn({ runs }, 'marked runs left running by an earlier process as failed');
  const reservations = await ledger.releaseExpired(!sharedStore);
  if (reservations > 0) logger.warn({ reservations }, 'settled budget reservations left by an earlier process');

  const timer = setInterval(() => {
    const tick = async () => {
      await chatStore.heartbeat(hub.liveRunIds());
      await chatStore.failOrphanedRuns(staleBefore());
      await ledger.releaseExpired();
      await store.vacuum();
    };
    tick().catch((error: unknown) => logger.error({ err: error }, 'maintenance failed'));
  }, INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
