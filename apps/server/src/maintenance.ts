import { againOnStoreFailure, type Ledger, type RunEventHub, type RunRepository, type Store } from '@hearth/core';
import type { Logger } from './logger';

/** On a shared PostgreSQL, live runs beat this often, and runs of dead processes are looked for as often. */
const HEARTBEAT_MS = 3_000;
/**
 * A run whose process has not beaten for this long is taken for dead (three missed beats): with
 * the sweep every beat, a killed process's runs end within 10 + 3 s, inside the 15 s promised.
 */
const RUN_STALE_MS = 10_000;
/** Expired reservations and the embedded store's vacuum. */
const HOUSEKEEPING_MS = 30_000;

export interface MaintenanceParts {
  runs: RunRepository;
  hub: RunEventHub;
  ledger: Ledger;
  logger: Logger;
  /** PostgreSQL may be shared with live processes; PGlite has this process as its one owner. */
  sharedStore: boolean;
  /** A stable instance id (INSTANCE_ID): the runs left under it were this instance's, before a restart. */
  stableInstanceId: string | undefined;
  store: Pick<Store, 'vacuum'>;
  /** Runs that ended but are still being titled here: they beat too, so their title is not swept. */
  titlingRunIds?: () => string[];
}

/**
 * Crash recovery, at start-up and then as the process runs: live runs beat, runs left by dead
 * processes are failed (keeping the text they had saved) and their budget reservations settled at
 * once, for what they received. Every 30 s, reservations nobody settled are released and the
 * embedded store's rewritten tables are vacuumed (PGlite has no autovacuum).
 */
export async function startMaintenance(parts: MaintenanceParts): Promise<() => void> {
  const { runs, hub, ledger, logger, sharedStore, stableInstanceId, store } = parts;
  const endOrphanedRuns = async (ownInstance?: string) => {
    const runIds = await runs.failOrphanedRuns(sharedStore ? RUN_STALE_MS : undefined, ownInstance);
    if (runIds.length === 0) return;
    const reservations = await ledger.releaseRuns(runIds);
    logger.warn({ runs: runIds.length, reservations }, 'ended runs a stopped server process left running');
  };
  // PGlite releases every reservation at start-up: this process is its one owner.
  const settleOrphanedTitles = async (ownInstance?: string) => {
    if (!sharedStore) return;
    const runIds = await runs.endedRunsHoldingReservations(RUN_STALE_MS, ownInstance);
    if (runIds.length === 0) return;
    const reservations = await ledger.releaseRuns(runIds);
    logger.warn({ runs: runIds.length, reservations }, 'settled titles a stopped server process left unfinished');
  };

  // A PostgreSQL that just dropped its connections must not fail a restart; both sweeps are idempotent.
  await againOnStoreFailure(() => endOrphanedRuns(stableInstanceId));
  await againOnStoreFailure(() => settleOrphanedTitles(stableInstanceId));
  const reservations = await againOnStoreFailure(() => ledger.releaseExpired(!sharedStore));
  if (reservations > 0) logger.warn({ reservations }, 'settled budget reservations left by an earlier process');

  const repeat = (intervalMs: number, what: string, work: () => Promise<void>) => {
    const timer = setInterval(() => {
      work().catch((error: unknown) => logger.error({ err: error }, `${what} failed`));
    }, intervalMs);
    timer.unref();
    return timer;
  };
  const timers = [
    repeat(HOUSEKEEPING_MS, 'maintenance', async () => {
      await ledger.releaseExpired();
      await store.vacuum();
    }),
  ];
  // On PGlite this process is the one owner: no other process's runs to watch for.
  if (sharedStore) {
    timers.push(
      repeat(HEARTBEAT_MS, 'run heartbeat', async () => {
        await runs.heartbeat([...hub.liveRunIds(), ...(parts.titlingRunIds?.() ?? [])]);
        await endOrphanedRuns();
        await settleOrphanedTitles();
      }),
    );
  }
  return () => {
    for (const timer of timers) clearInterval(timer);
  };
}
