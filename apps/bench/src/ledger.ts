import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthStore, BuiltinLedger, migrateStore, openStore, PriceTable, systemClock } from '@hearth/core';
import { percentile, round } from './stats';

/**
 * What the budget guarantee costs per model step: one reserve and one settle against the embedded
 * store (PGlite on disk, as `pnpm start` runs it), measured one after the other.
 */
export async function measureLedger(steps: number): Promise<{ p50: number; p99: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hearth-bench-ledger-'));
  const location = { kind: 'pglite' as const, dataDir };
  const store = await openStore(location);
  try {
    await migrateStore(store, location);
    const ledger = new BuiltinLedger({
      db: store.db,
      clock: systemClock,
      prices: new PriceTable(),
      defaultLimitMicros: 1_000_000_000,
      defaultPeriod: 'month',
      ceilingMicros: null,
      reservationTtlMs: 900_000,
    });
    const user = await new AuthStore(store.db).createUser({
      email: 'bench@example.com',
      passwordHash: 'x',
      displayName: null,
    });
    const userId = user?.id ?? '';
    const durations: number[] = [];
    for (let i = 0; i < steps; i += 1) {
      const started = performance.now();
      const grant = await ledger.reserve({
        userId,
        runId: null,
        model: 'gpt-4o-mini',
        promptTokens: 1_200,
        maxOutputTokens: 1_024,
      });
      await ledger.settle(grant, { promptTokens: 1_180, completionTokens: 200 });
      if (i >= 50) durations.push(performance.now() - started);
    }
    return { p50: round(percentile(durations, 50), 3), p99: round(percentile(durations, 99), 3) };
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
