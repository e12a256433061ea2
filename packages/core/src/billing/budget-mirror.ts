import type { BudgetPeriod } from '../domain/budget';
import { periodStart } from './periods';

/** A user's budget row as the ledger last knew it, with the reservations it granted since applied. */
export interface MirroredBudget {
  limitMicros: number | null;
  period: BudgetPeriod;
  periodStart: Date;
  spentMicros: number;
  reservedMicros: number;
}

export type ReserveDecision =
  /** `remainingMicros`: what the limit still has after this grant; null without a limit. */
  | { granted: true; amountMicros: number; periodStart: Date; remainingMicros: number | null }
  | { granted: false; remainingMicros: number };

export type GrantedDecision = Extract<ReserveDecision, { granted: true }>;

interface Entry {
  budget: MirroredBudget | null;
  loading: Promise<MirroredBudget> | null;
  generation: number;
}

/**
 * The budgets of a store that one process alone writes (the embedded PGlite, locked to its
 * process), held in memory so a step's reservation is decided without waiting on the database.
 *
 * Every write a user's budget gets goes through `enqueue`, one at a time in the order asked, so the
 * database applies them in the order the mirror did. A reservation is applied to the mirror when it
 * is decided (synchronously: no two decisions can interleave); a settlement when the database has
 * done it. A load waits for the user's earlier writes, so what it reads already holds them.
 * At most `maxUsers` budgets are held; the oldest loaded are dropped first and read again if needed.
 */
export class BudgetMirror {
  private readonly entries = new Map<string, Entry>();
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly load: (userId: string) => Promise<MirroredBudget>,
    private readonly maxUsers = 100_000,
  ) {}

  /**
   * Decides a reservation on the user's budget and queues `write` to record it, in one synchronous
   * step on the budget as it is now: nothing (a budget change, a reload) can come between the
   * decision and its place in the queue. Resolves with the decision and the write's outcome.
   */
  async reserve(
    userId: string,
    ask: { desiredMicros: number; minimalMicros: number; unlimitedMicros?: number; now: () => Date },
    write: (decision: GrantedDecision) => Promise<unknown>,
  ): Promise<{ decision: ReserveDecision; written: Promise<unknown> | null }> {
    for (;;) {
      const entry = this.entry(userId);
      if (entry.budget) {
        const decision = decide(entry.budget, ask, ask.now());
        return { decision, written: decision.granted ? this.enqueue(userId, () => write(decision)) : null };
      }
      await this.loaded(userId, entry);
    }
  }

  /** What a settlement the database has made does to the mirror (when the mirror holds the user). */
  settled(userId: string, releasedMicros: number, costMicros: number, now: Date): void {
    const budget = this.entries.get(userId)?.budget;
    if (!budget) return; // Not loaded: the next load reads the settlement from the database.
    rollOver(budget, now);
    budget.spentMicros += costMicros;
    budget.reservedMicros = Math.max(0, budget.reservedMicros - releasedMicros);
  }

  /** Forgets the user's budget: the next reservation reads it again, after the writes queued before. */
  forget(userId: string): void {
    const entry = this.entries.get(userId);
    if (!entry) return;
    entry.budget = null;
    entry.generation += 1;
  }

  /** Runs `write` after the user's earlier writes have finished, failed or not. */
  enqueue<T>(userId: string, write: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(userId) ?? Promise.resolve();
    const result = previous.then(write);
    const tail = result.then(
      () => {},
      () => {},
    );
    this.queues.set(userId, tail);
    void tail.then(() => {
      if (this.queues.get(userId) === tail) this.queues.delete(userId);
    });
    return result;
  }

  /** Waits until `entry` holds the budget as the database has it after the user's queued writes. */
  private async loaded(userId: string, entry: Entry): Promise<void> {
    const generation = entry.generation;
    entry.loading ??= this.enqueue(userId, () => this.load(userId)).finally(() => {
      entry.loading = null;
    });
    const budget = await entry.loading;
    // A change made while it loaded (setBudget) may not be in what was read: the caller reads again.
    if (this.entries.get(userId) === entry && entry.generation === generation) entry.budget ??= budget;
  }

  private entry(userId: string): Entry {
    let entry = this.entries.get(userId);
    if (!entry) {
      entry = { budget: null, loading: null, generation: 0 };
      this.entries.set(userId, entry);
      this.shed();
    }
    return entry;
  }

  /** Drops the oldest budgets past `maxUsers`; one being loaded stays (its reader waits on it). */
  private shed(): void {
    if (this.entries.size <= this.maxUsers) return;
    for (const [userId, entry] of this.entries) {
      if (this.entries.size <= this.maxUsers) return;
      if (!entry.loading) this.entries.delete(userId);
    }
  }
}

/**
 * Grants `desiredMicros` or what is left of the limit if that is less, provided it covers
 * `minimalMicros` (without a limit: `unlimitedMicros`, or `desiredMicros`); rolls the period over
 * first when a new one has begun. The same arithmetic as the ledger's SQL, on the same figures.
 */
function decide(
  budget: MirroredBudget,
  ask: { desiredMicros: number; minimalMicros: number; unlimitedMicros?: number },
  now: Date,
): ReserveDecision {
  rollOver(budget, now);
  const remaining =
    budget.limitMicros === null ? null : budget.limitMicros - budget.reservedMicros - budget.spentMicros;
  const amount =
    remaining === null ? (ask.unlimitedMicros ?? ask.desiredMicros) : Math.min(ask.desiredMicros, remaining);
  if (amount < ask.minimalMicros) return { granted: false, remainingMicros: remaining ?? 0 };
  budget.reservedMicros += amount;
  return {
    granted: true,
    amountMicros: amount,
    periodStart: budget.periodStart,
    remainingMicros: remaining === null ? null : remaining - amount,
  };
}

/** Starts the budget's new period, spend at 0, once the UTC calendar has moved into it (as the SQL does). */
function rollOver(budget: MirroredBudget, now: Date): void {
  const start = periodStart(budget.period, now, budget.periodStart);
  if (start <= budget.periodStart) return;
  budget.periodStart = start;
  budget.spentMicros = 0;
}
