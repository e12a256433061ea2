import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthStore } from '../auth/builtin/auth-store';
import { isAppError } from '../domain/errors';
import { openStore, type Store } from '../store/database';
import { migrateStore } from '../store/migrate';
import { TestClock, testDatabases } from '../testing';
import { BuiltinLedger } from './builtin-ledger';
import { PriceTable } from './prices';

// $1 per 1,000 prompt tokens, $2 per 1,000 completion tokens: 1,000 and 2,000 micro-dollars per token.
const prices = new PriceTable({
  'priced-model': { inputUsdPerToken: 0.001, outputUsdPerToken: 0.002, contextWindow: 10_000, maxOutputTokens: 1_000 },
});

const variants = testDatabases().flatMap((database) => [
  { ...database, soleWriter: false, mode: 'in the store' },
  { ...database, soleWriter: true, mode: 'in memory (sole writer)' },
]);

describe.each(variants)('BuiltinLedger on $name, deciding $mode', ({ location, soleWriter }) => {
  let store: Store;
  // In the past on purpose: the crash sweep below must not take other suites' live reservations
  // (made on the real clock in a shared PostgreSQL) for expired ones.
  const clock = new TestClock(new Date('2026-01-05T12:00:00Z'));
  let ledger: BuiltinLedger;
  const writeErrors: unknown[] = [];
  const newUser = async () =>
    (
      await new AuthStore(store.db).createUser({
        email: `ledger-${crypto.randomUUID()}@example.com`,
        passwordHash: 'h',
        displayName: null,
      })
    )?.id ?? '';

  beforeAll(async () => {
    store = await openStore(location);
    await migrateStore(store, location);
    ledger = new BuiltinLedger({
      db: store.db,
      clock,
      prices,
      defaultLimitMicros: null,
      defaultPeriod: 'month',
      ceilingMicros: 100_000_000,
      reservationTtlMs: 60_000,
      soleWriter,
      onWriteError: (error) => writeErrors.push(error),
    });
  });
  afterAll(() => store?.close());

  // promptAllowance(10) = 27 tokens → 27,000 µ$; 20 output tokens → 40,000 µ$: one step reserves 67,000 µ$.
  const step = (userId: string) => ({
    userId,
    runId: null,
    model: 'priced-model',
    promptTokens: 10,
    maxOutputTokens: 20,
  });

  it('grants exactly the concurrent reservations the budget covers', async () => {
    const userId = await newUser();
    await ledger.setOperatorBudget(userId, { limitMicros: 67_000 * 3, period: 'month' });
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => ledger.reserve(step(userId))));
    const granted = results.filter((r) => r.status === 'fulfilled');
    expect(granted).toHaveLength(3);
    for (const r of results) if (r.status === 'rejected') expect(isAppError(r.reason, 'BUDGET_EXCEEDED')).toBe(true);
    expect((await ledger.budget(userId)).reservedMicros).toBe(67_000 * 3);

    for (const r of granted)
      if (r.status === 'fulfilled') await ledger.settle(r.value, { promptTokens: 10, completionTokens: 5 });
    const after = await ledger.budget(userId);
    expect(after).toMatchObject({ reservedMicros: 0, spentMicros: 3 * (10_000 + 10_000) });
  });

  it('reserves several whole steps for a multi-step call, and needs at least one to fit', async () => {
    const userId = await newUser();
    await ledger.setOperatorBudget(userId, { limitMicros: 67_000 * 2 + 50_000, period: 'none' });
    const grant = await ledger.reserve({ ...step(userId), steps: 5 });
    expect(grant).toMatchObject({ amountMicros: 67_000 * 2 + 50_000, steps: 2 });
    await ledger.settle(grant, { promptTokens: 10, completionTokens: 5 });
    // 20,000 spent: the 164,000 left covers two steps; the 30,000 left after them, not one.
    expect(await ledger.reserve({ ...step(userId), steps: 2 })).toMatchObject({ steps: 2 });
    const refused = await ledger.reserve({ ...step(userId), steps: 1 }).catch((e: unknown) => e);
    expect(isAppError(refused, 'BUDGET_EXCEEDED')).toBe(true);
  });

  it('caps max tokens to what the remaining budget can pay, and refuses below a minimal answer', async () => {
    const userId = await newUser();
    await ledger.setOperatorBudget(userId, { limitMicros: 27_000 + 2_000 * 16, period: 'none' });
    const grant = await ledger.reserve({ ...step(userId), maxOutputTokens: 500 });
    expect(grant.maxOutputTokens).toBe(16);
    await ledger.settle(grant, { promptTokens: 10, completionTokens: 16 });
    const refused = await ledger.reserve(step(userId)).catch((e: unknown) => e);
    expect(isAppError(refused, 'BUDGET_EXCEEDED')).toBe(true);
    expect(isAppError(refused) && refused.data.remainingUsd).toBeCloseTo((27_000 + 32_000 - 10_000 - 32_000) / 1e6);
  });

  it('rolls the period over by the UTC calendar when reserving and reading', async () => {
    const userId = await newUser();
    await ledger.setOperatorBudget(userId, { limitMicros: 100_000, period: 'day' });
    const grant = await ledger.reserve({ ...step(userId), maxOutputTokens: 50 });
    await ledger.settle(grant, { promptTokens: 50, completionTokens: 20 });
    expect((await ledger.budget(userId)).spentMicros).toBe(90_000);
    await expect(ledger.reserve(step(userId))).rejects.toSatisfy((e) => isAppError(e, 'BUDGET_EXCEEDED'));
    clock.advance(12 * 3_600_000); // past midnight UTC
    const fresh = await ledger.budget(userId);
    expect(fresh).toMatchObject({ spentMicros: 0, remainingMicros: 100_000 });
    expect(fresh.periodStart.toISOString()).toBe('2026-01-06T00:00:00.000Z');
    await ledger.reserve(step(userId));
  });

  it('counts only the new period’s usage when the period changes', async () => {
    const userId = await newUser();
    await ledger.setOperatorBudget(userId, { limitMicros: 1_000_000, period: 'month' });
    await ledger.settle(await ledger.reserve(step(userId)), { promptTokens: 20, completionTokens: 0 });
    clock.advance(2 * 86_400_000);
    await ledger.settle(await ledger.reserve(step(userId)), { promptTokens: 10, completionTokens: 0 });
    expect((await ledger.budget(userId)).spentMicros).toBe(30_000);
    const daily = await ledger.setOperatorBudget(userId, { limitMicros: 1_000_000, period: 'day' });
    expect(daily.spentMicros).toBe(10_000);
  });

  it('enforces the operator ceiling on what an admin sets', async () => {
    const userId = await newUser();
    await expect(ledger.setOperatorBudget(userId, { limitMicros: 100_000_001, period: 'day' })).rejects.toSatisfy((e) =>
      isAppError(e, 'BUDGET_CEILING'),
    );
    await expect(ledger.setOperatorBudget(userId, { limitMicros: null, period: 'day' })).rejects.toSatisfy((e) =>
      isAppError(e, 'BUDGET_CEILING'),
    );
  });

  it("lets a user lower their own cap, never past the operator's limit or out of its period", async () => {
    const userId = await newUser();
    await ledger.setOperatorBudget(userId, { limitMicros: 500_000, period: 'month' });
    const lowered = await ledger.setBudget(userId, { limitMicros: 200_000, period: 'month' });
    expect(lowered).toMatchObject({ limitMicros: 200_000, ceilingMicros: 500_000, ownLimitMicros: 200_000 });
    for (const change of [
      { limitMicros: 500_001, period: 'month' as const },
      { limitMicros: null, period: 'month' as const },
      { limitMicros: 100_000, period: 'day' as const },
    ]) {
      await expect(ledger.setBudget(userId, change)).rejects.toSatisfy((e) => isAppError(e, 'BUDGET_CEILING'));
    }
    // The operator lowering the limit below the user's cap: the lower one is in force, at once.
    expect(await ledger.setOperatorBudget(userId, { limitMicros: 67_000, period: 'month' })).toMatchObject({
      limitMicros: 67_000,
      ownLimitMicros: null,
    });
    await ledger.settle(await ledger.reserve(step(userId)), { promptTokens: 10, completionTokens: 20 });
    await expect(ledger.reserve(step(userId))).rejects.toSatisfy((e) => isAppError(e, 'BUDGET_EXCEEDED'));
  });

  it('leaves a user with no operator limit free to set any cap and period', async () => {
    const userId = await newUser();
    expect(await ledger.setBudget(userId, { limitMicros: 5_000_000_000, period: 'day' })).toMatchObject({
      limitMicros: 5_000_000_000,
      ceilingMicros: null,
      period: 'day',
    });
    expect((await ledger.setBudget(userId, { limitMicros: null, period: 'none' })).limitMicros).toBeNull();
  });

  it('bills a step orphaned by a crash for its prompt and the tokens it had reported, once', async () => {
    const userId = await newUser();
    await ledger.setOperatorBudget(userId, { limitMicros: 1_000_000, period: 'month' });
    const live = await ledger.reserve(step(userId));
    const orphan = await ledger.reserve(step(userId));
    await ledger.progress(orphan, 7);
    clock.advance(40_000);
    await ledger.progress(live, 3); // a live step keeps its reservation alive
    clock.advance(30_000);
    expect(await ledger.releaseExpired()).toBeGreaterThanOrEqual(1);
    const afterSweep = await ledger.budget(userId);
    expect(afterSweep).toMatchObject({ reservedMicros: 67_000, spentMicros: 10 * 1_000 + 7 * 2_000 });

    await ledger.settle(live, { promptTokens: 10, completionTokens: 5 });
    await ledger.settle(orphan, { promptTokens: 10, completionTokens: 20 }); // too late: already billed
    const usage = await ledger.usage(userId, {});
    expect(usage.totals).toMatchObject({ requests: 2, completionTokens: 12 });
    expect(await ledger.budget(userId)).toMatchObject({ reservedMicros: 0, spentMicros: usage.totals.costMicros });
  });

  it('adds usage buckets up to the totals', async () => {
    const userId = await newUser();
    await ledger.setOperatorBudget(userId, { limitMicros: null, period: 'none' }).catch(() => {});
    for (const promptTokens of [5, 7, 11]) {
      await ledger.settle(await ledger.reserve(step(userId)), { promptTokens, completionTokens: 3 });
      clock.advance(86_400_000);
    }
    const byDay = await ledger.usage(userId, { groupBy: 'day' });
    expect(byDay.totals).toEqual({ requests: 3, promptTokens: 23, completionTokens: 9, costMicros: 23_000 + 18_000 });
    expect(byDay.buckets).toHaveLength(3);
    const sum = byDay.buckets.reduce((n, b) => n + b.costMicros, 0);
    expect(sum).toBe(byDay.totals.costMicros);
    const byModel = await ledger.usage(userId, { groupBy: 'model' });
    expect(byModel.buckets).toEqual([{ key: 'priced-model', ...byDay.totals }]);
  });

  it('never grants past the limit while reservations, settlements and budget changes interleave', async () => {
    const userId = await newUser();
    await ledger.setOperatorBudget(userId, { limitMicros: 67_000 * 10, period: 'month' });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 60 }, async (_, i) => {
        if (i === 20) await ledger.setOperatorBudget(userId, { limitMicros: 67_000 * 4, period: 'month' });
        const grant = await ledger.reserve(step(userId));
        if (i % 3 === 0) await ledger.settle(grant, { promptTokens: 10, completionTokens: 0 });
        return grant;
      }),
    );
    const after = await ledger.budget(userId);
    expect(after.spentMicros + after.reservedMicros).toBeLessThanOrEqual(67_000 * 10);
    const granted = outcomes.filter((o) => o.status === 'fulfilled').length;
    expect(granted).toBeGreaterThan(0);
    expect(granted).toBeLessThan(60);
    // Whatever the order, the budget adds up: what is held is exactly what was granted and not settled.
    const settledCount = outcomes.filter((o, i) => o.status === 'fulfilled' && i % 3 === 0).length;
    expect(after.spentMicros).toBe(settledCount * 10_000);
    expect(after.reservedMicros).toBe((granted - settledCount) * 67_000);
    for (const o of outcomes)
      if (o.status === 'fulfilled' && outcomes.indexOf(o) % 3 !== 0)
        await ledger.settle(o.value, { promptTokens: 0, completionTokens: 0 });
    expect(await ledger.budget(userId)).toMatchObject({ reservedMicros: 0 });
    expect(writeErrors).toEqual([]);
  });

  it('never bills a step past its grant, whatever usage is reported for it', async () => {
    const userId = await newUser();
    await ledger.setOperatorBudget(userId, { limitMicros: 1_000_000, period: 'month' });
    const grant = await ledger.reserve(step(userId));
    // A provider that ignored max_tokens says it wrote 1,000 tokens: 2,010,000 µ$ at these prices.
    expect(await ledger.settle(grant, { promptTokens: 10, completionTokens: 1_000 })).toEqual({ costMicros: 67_000 });
    expect(await ledger.budget(userId)).toMatchObject({ spentMicros: 67_000, reservedMicros: 0 });
    expect((await ledger.usage(userId, {})).totals).toMatchObject({ costMicros: 67_000, completionTokens: 1_000 });
  });

  it('reserves a first slice of output, extends it while the budget lasts, then grants no more', async () => {
    const userId = await newUser();
    await ledger.setOperatorBudget(userId, { limitMicros: 27_000 + 2_000 * 50, period: 'month' });
    const first = await ledger.reserve({ ...step(userId), maxOutputTokens: 100, firstSliceTokens: 20 });
    // The step may ask for at most what the whole budget could pay: 50 output tokens.
    expect(first).toMatchObject({ amountMicros: 67_000, maxOutputTokens: 20, outputCeiling: 50 });
    const second = await ledger.extend(first, 20);
    expect(second).toMatchObject({ id: first.id, amountMicros: 107_000, maxOutputTokens: 40 });
    const third = await ledger.extend(second, 20); // only 10 more fit
    expect(third).toMatchObject({ amountMicros: 127_000, maxOutputTokens: 50 });
    expect(await ledger.extend(third, 20)).toEqual(third);
    expect(await ledger.budget(userId)).toMatchObject({ reservedMicros: 127_000, remainingMicros: 0 });
    await ledger.settle(third, { promptTokens: 10, completionTokens: 45 });
    expect(await ledger.budget(userId)).toMatchObject({ reservedMicros: 0, spentMicros: 10_000 + 90_000 });
  });

  it('grants the whole cap at once on a budget without a limit', async () => {
    const userId = await newUser();
    const grant = await ledger.reserve({ ...step(userId), maxOutputTokens: 100, firstSliceTokens: 20 });
    expect(grant).toMatchObject({ maxOutputTokens: 100, outputCeiling: 100, amountMicros: 27_000 + 200_000 });
    await ledger.settle(grant, { promptTokens: 10, completionTokens: 0 });
  });

  it('extends nothing once the crash sweep has settled the reservation', async () => {
    const userId = await newUser();
    await ledger.setOperatorBudget(userId, { limitMicros: 1_000_000, period: 'month' });
    const grant = await ledger.reserve({ ...step(userId), maxOutputTokens: 100, firstSliceTokens: 20 });
    await ledger.progress(grant, 4);
    clock.advance(70_000);
    await ledger.releaseExpired();
    await ledger.extend(grant, 20);
    await ledger.settle(grant, { promptTokens: 10, completionTokens: 30 }); // too late: already billed
    expect(await ledger.budget(userId)).toMatchObject({ reservedMicros: 0, spentMicros: 10_000 + 4 * 2_000 });
    expect(writeErrors).toEqual([]);
  });

  it('never lets spend and reservations pass the limit, over random concurrent steps that extend and overrun', async () => {
    const seed = Math.floor(Math.random() * 2 ** 31);
    let state = seed;
    const random = (n: number) => {
      state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
      return state % n;
    };
    for (let trial = 0; trial < 3; trial += 1) {
      const userId = await newUser();
      const limitMicros = 100_000 + random(900_000);
      await ledger.setOperatorBudget(userId, { limitMicros, period: 'month' });
      const peaks: number[] = [];
      const outcomes = await Promise.allSettled(
        Array.from({ length: 25 }, async () => {
          let grant = await ledger.reserve({
            ...step(userId),
            maxOutputTokens: 20 + random(200),
            firstSliceTokens: 1 + random(40),
          });
          for (let extensions = random(6); extensions > 0; extensions -= 1) {
            grant = await ledger.extend(grant, 1 + random(60));
            const view = await ledger.budget(userId);
            peaks.push(view.spentMicros + view.reservedMicros);
          }
          // Usage reported by a provider that may have ignored the cap, far past the grant.
          await ledger.settle(grant, { promptTokens: random(30), completionTokens: random(400) });
        }),
      );
      const after = await ledger.budget(userId);
      expect({ seed, spent: after.spentMicros, reserved: after.reservedMicros }).toMatchObject({ reserved: 0 });
      expect(after.spentMicros, `seed ${seed}`).toBeLessThanOrEqual(limitMicros);
      expect(Math.max(0, ...peaks), `seed ${seed}`).toBeLessThanOrEqual(limitMicros);
      expect(outcomes.some((o) => o.status === 'fulfilled')).toBe(true);
      for (const o of outcomes) {
        if (o.status === 'rejected') expect(isAppError(o.reason, 'BUDGET_EXCEEDED'), `seed ${seed}`).toBe(true);
      }
      const usage = await ledger.usage(userId, {});
      expect(usage.totals.costMicros).toBe(after.spentMicros);
    }
    expect(writeErrors).toEqual([]);
  });

  it.runIf(soleWriter)('reads the budget back from the store when a reservation could not be recorded', async () => {
    const userId = await newUser();
    await ledger.setOperatorBudget(userId, { limitMicros: 67_000 * 2, period: 'month' });
    // A fractional token count is refused by the integer column: the write behind the decision fails.
    await ledger.reserve({ ...step(userId), promptTokens: 10.5 });
    expect(await ledger.budget(userId)).toMatchObject({ reservedMicros: 0 });
    expect(writeErrors).toHaveLength(1);
    writeErrors.length = 0;
    // The failed grant does not hold the budget: two whole steps still fit.
    await ledger.reserve(step(userId));
    await ledger.reserve(step(userId));
    await expect(ledger.reserve(step(userId))).rejects.toSatisfy((e) => isAppError(e, 'BUDGET_EXCEEDED'));
  });
});
