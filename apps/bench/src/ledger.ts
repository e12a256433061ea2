import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthStore, BuiltinLedger, migrateStore, openStore, PriceTable, systemClock } from '@hearth/core';
import { percentile, round } from './stats';

type Figures = { p50: number; p99: number };

/**
 * What the budget guarantee costs per model step: one reserve (what the model call waits for) and
 * one settle against the embedded store (PGlite on disk, its budgets in memory, as `pnpm start`
 * runs it), measured one after the other.
 */
export async function measureLedger(steps: number): Promise<{ reserve: Figures; settle: Figures }> {
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
      soleWriter: true,
    });
    const user = await new AuthStore(store.db).createUser({
      email: 'bench@example.com',
      passwordHash: 'x',
      displayName: null,
    });
    const userId = user?.id ?? '';
    const reserves: number[] = [];
    const settles: number[] = [];
    for (let i = 0; i < steps; i += 1) {
      const started = performance.now();
      const grant = await ledger.reserve({
        userId,
        runId: null,
        model: 'gpt-4o-mini',
        promptTokens: 1_200,
        maxOutputTokens: 1_024,
      });
      const reserved = performance.now();
      await ledger.settle(grant, { promptTokens: 1_180, completionTokens: 200 });
      if (i >= 50) {
        reserves.push(reserved - started);
        settles.push(performance.now() - reserved);
      }
    }
    const figures = (values: number[]) => ({
      p50: round(percentile(values, 50), 3),
      p99: round(percentile(values, 99), 3),
    });
    return { reserve: figures(reserves), settle: figures(settles) };
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
