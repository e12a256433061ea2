import { describe, expect, it } from 'vitest';
import { PriceTable } from '../billing/prices';
import { isAppError } from '../domain/errors';
import { InMemoryLedger } from './in-memory-ledger';
import { TestClock } from './test-clock';

// The figures of builtin-ledger.test.ts, so the fake is held to the same answers as the real ledger:
// 1,000 µ$ per prompt token, 2,000 µ$ per output token; one step of 10 prompt tokens (27 with the
// allowance) and 20 output tokens reserves 67,000 µ$.
const prices = new PriceTable({
  'priced-model': { inputUsdPerToken: 0.001, outputUsdPerToken: 0.002, contextWindow: 10_000, maxOutputTokens: 1_000 },
});
const step = (userId: string) => ({
  userId,
  runId: null,
  model: 'priced-model',
  promptTokens: 10,
  maxOutputTokens: 20,
});

function setup() {
  const clock = new TestClock(new Date('2026-01-05T12:00:00Z'));
  const ledger = new InMemoryLedger({ prices, clock, ceilingMicros: 100_000_000 });
  return { clock, ledger };
}

describe('InMemoryLedger, on the built-in ledger’s figures', () => {
  it('grants exactly the concurrent reservations the budget covers', async () => {
    const { ledger } = setup();
    await ledger.setOperatorBudget('u', { limitMicros: 67_000 * 3, period: 'month' });
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => ledger.reserve(step('u'))));
    const granted = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(granted).toHaveLength(3);
    for (const r of results) if (r.status === 'rejected') expect(isAppError(r.reason, 'BUDGET_EXCEEDED')).toBe(true);
    for (const grant of granted) await ledger.settle(grant, { promptTokens: 10, completionTokens: 5 });
    expect(await ledger.budget('u')).toMatchObject({ reservedMicros: 0, spentMicros: 3 * 20_000 });
  });

  it('reserves several whole steps for a multi-step call, and needs at least one to fit', async () => {
    const { ledger } = setup();
    await ledger.setOperatorBudget('u', { limitMicros: 67_000 * 2 + 50_000, period: 'none' });
    const grant = await ledger.reserve({ ...step('u'), steps: 5 });
    expect(grant).toMatchObject({ amountMicros: 67_000 * 2 + 50_000, steps: 2 });
    await ledger.settle(grant, { promptTokens: 10, completionTokens: 5 });
    expect(await ledger.reserve({ ...step('u'), steps: 2 })).toMatchObject({ steps: 2 });
    const refused = await ledger.reserve({ ...step('u'), steps: 1 }).catch((e: unknown) => e);
    expect(isAppError(refused, 'BUDGET_EXCEEDED')).toBe(true);
  });

  it('caps max tokens to what the remaining budget can pay, and refuses below a minimal answer', async () => {
    const { ledger } = setup();
    await ledger.setOperatorBudget('u', { limitMicros: 27_000 + 2_000 * 16, period: 'none' });
    const grant = await ledger.reserve({ ...step('u'), maxOutputTokens: 500 });
    expect(grant.maxOutputTokens).toBe(16);
    await ledger.settle(grant, { promptTokens: 10, completionTokens: 16 });
    const refused = await ledger.reserve(step('u')).catch((e: unknown) => e);
    expect(isAppError(refused, 'BUDGET_EXCEEDED')).toBe(true);
    expect(isAppError(refused) && refused.data.remainingUsd).toBeCloseTo((27_000 + 32_000 - 10_000 - 32_000) / 1e6);
  });

  it('never bills a step past its grant, whatever usage is reported for it', async () => {
    const { ledger } = setup();
    await ledger.setOperatorBudget('u', { limitMicros: 1_000_000, period: 'month' });
    const grant = await ledger.reserve(step('u'));
    expect(await ledger.settle(grant, { promptTokens: 10, completionTokens: 1_000 })).toEqual({ costMicros: 67_000 });
    expect(await ledger.budget('u')).toMatchObject({ spentMicros: 67_000, reservedMicros: 0 });
    expect((await ledger.usage('u', {})).totals).toMatchObject({ costMicros: 67_000, completionTokens: 1_000 });
  });

  it('reserves a first slice of output, extends it while the budget lasts, then grants no more', async () => {
    const { ledger } = setup();
    await ledger.setOperatorBudget('u', { limitMicros: 27_000 + 2_000 * 50, period: 'month' });
    const first = await ledger.reserve({ ...step('u'), maxOutputTokens: 100, firstSliceTokens: 20 });
    expect(first).toMatchObject({ amountMicros: 67_000, maxOutputTokens: 20, outputCeiling: 50 });
    const second = await ledger.extend(first, 20);
    expect(second).toMatchObject({ id: first.id, amountMicros: 107_000, maxOutputTokens: 40 });
    const third = await ledger.extend(second, 20);
    expect(third).toMatchObject({ amountMicros: 127_000, maxOutputTokens: 50 });
    expect(await ledger.extend(third, 20)).toEqual(third);
    expect(await ledger.budget('u')).toMatchObject({ reservedMicros: 127_000, remainingMicros: 0 });
    await ledger.settle(third, { promptTokens: 10, completionTokens: 45 });
    expect(await ledger.budget('u')).toMatchObject({ reservedMicros: 0, spentMicros: 10_000 + 90_000 });
  });

  it('grants the whole cap at once on a budget without a limit', async () => {
    const { ledger } = setup();
    const grant = await ledger.reserve({ ...step('u'), maxOutputTokens: 100, firstSliceTokens: 20 });
    expect(grant).toMatchObject({ maxOutputTokens: 100, outputCeiling: 100, amountMicros: 27_000 + 200_000 });
  });

  it('gives a released reservation back unbilled, and bills an orphaned one for what it reported', async () => {
    const { ledger, clock } = setup();
    await ledger.setOperatorBudget('u', { limitMicros: 1_000_000, period: 'month' });
    await ledger.release(await ledger.reserve(step('u')));
    expect(await ledger.budget('u')).toMatchObject({ reservedMicros: 0, spentMicros: 0 });
    const orphan = await ledger.reserve(step('u'));
    await ledger.progress(orphan, 4);
    clock.advance(61_000);
    expect(await ledger.releaseExpired()).toBe(1);
    expect(await ledger.budget('u')).toMatchObject({ reservedMicros: 0, spentMicros: 10_000 + 8_000 });
    // Settling it again afterwards bills nothing more.
    await ledger.settle(orphan, { promptTokens: 10, completionTokens: 20 });
    expect((await ledger.budget('u')).spentMicros).toBe(18_000);
  });

  it('rolls the period over by the UTC calendar, and keeps the operator’s ceiling', async () => {
    const { ledger, clock } = setup();
    await ledger.setOperatorBudget('u', { limitMicros: 100_000, period: 'day' });
    await ledger.settle(await ledger.reserve(step('u')), { promptTokens: 10, completionTokens: 5 });
    expect((await ledger.budget('u')).spentMicros).toBe(20_000);
    clock.advance(86_400_000);
    expect(await ledger.budget('u')).toMatchObject({ spentMicros: 0, periodStart: new Date('2026-01-06T00:00:00Z') });
    const over = await ledger.setBudget('u', { limitMicros: 200_000, period: 'day' }).catch((e: unknown) => e);
    expect(isAppError(over, 'BUDGET_CEILING')).toBe(true);
    const ceiling = await ledger.setOperatorBudget('u', { limitMicros: 200_000_000, period: 'day' }).catch((e) => e);
    expect(isAppError(ceiling, 'BUDGET_CEILING')).toBe(true);
  });
});
