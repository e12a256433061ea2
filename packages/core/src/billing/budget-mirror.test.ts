import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { BudgetMirror, type MirroredBudget } from './budget-mirror';

/** A budget row in a "database" whose statements take a while, applied in the order they run. */
function fakeStore(limitMicros: number) {
  const row: MirroredBudget = {
    limitMicros,
    period: 'none',
    periodStart: new Date('2026-01-01T00:00:00Z'),
    spentMicros: 0,
    reservedMicros: 0,
  };
  const latency = () => sleep(Math.floor(Math.random() * 3));
  return {
    row,
    load: async (): Promise<MirroredBudget> => {
      await latency();
      return { ...row };
    },
    reserve: async (amount: number) => {
      await latency();
      row.reservedMicros += amount;
    },
    settle: async (amount: number, cost: number) => {
      await latency();
      row.reservedMicros -= amount;
      row.spentMicros += cost;
      return amount;
    },
  };
}

const now = () => new Date('2026-01-02T00:00:00Z');

describe('BudgetMirror', () => {
  it('never grants past the limit while budgets are forgotten and reloaded mid-flight', async () => {
    for (let trial = 0; trial < 20; trial += 1) {
      const store = fakeStore(1_000);
      const mirror = new BudgetMirror(store.load);
      const granted: number[] = [];
      await Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          await sleep(Math.floor(Math.random() * 4));
          if (i % 7 === 0) mirror.forget('u');
          const { decision, written } = await mirror.reserve(
            'u',
            { desiredMicros: 100, minimalMicros: 50, now },
            ({ amountMicros }) => store.reserve(amountMicros),
          );
          if (!decision.granted) return;
          granted.push(decision.amountMicros);
          await written;
          if (i % 3 === 0) {
            const released = await mirror.enqueue('u', () => store.settle(decision.amountMicros, 10));
            mirror.settled('u', released, 10, now());
          }
        }),
      );
      // What the store holds is what was granted, and it never passed the limit.
      expect(store.row.spentMicros + store.row.reservedMicros).toBeLessThanOrEqual(1_000);
      const settledCount = store.row.spentMicros / 10;
      expect(store.row.reservedMicros).toBe(granted.reduce((n, a) => n + a, 0) - settledCount * 100);
      // And the mirror agrees with the store once everything has landed: exactly what is left fits.
      const remaining = 1_000 - store.row.spentMicros - store.row.reservedMicros;
      const exactly = (micros: number) =>
        mirror.reserve('u', { desiredMicros: micros, minimalMicros: micros, now }, async () => {});
      expect((await exactly(remaining + 1)).decision.granted).toBe(false);
      if (remaining > 0) expect((await exactly(remaining)).decision.granted).toBe(true);
    }
  });

  it('holds at most maxUsers budgets, reading a dropped one back', async () => {
    let loads = 0;
    const mirror = new BudgetMirror(async () => {
      loads += 1;
      return { limitMicros: null, period: 'none', periodStart: new Date(0), spentMicros: 0, reservedMicros: 0 };
    }, 2);
    const ask = { desiredMicros: 1, minimalMicros: 1, now };
    for (const user of ['a', 'b', 'c', 'a']) await mirror.reserve(user, ask, async () => {});
    expect(loads).toBe(4);
    await mirror.reserve('a', ask, async () => {});
    expect(loads).toBe(4);
  });
});
