import type { BudgetPeriod } from '../domain/budget';

export interface BudgetView {
  /** The limit in force: the lower of the user's own cap and the operator's limit; null when neither is set. */
  limitMicros: number | null;
  /** The operator's limit for this user, the most the user may set for themselves; null: none. */
  ceilingMicros: number | null;
  /** The user's own cap (user.setBudget); null: none. */
  ownLimitMicros: number | null;
  period: BudgetPeriod;
  spentMicros: number;
  reservedMicros: number;
  /** limit − spent − reserved, never below 0; null when there is no limit. */
  remainingMicros: number | null;
  periodStart: Date;
  resetsAt: Date | null;
}

export interface ReserveRequest {
  userId: string;
  runId: string | null;
  model: string;
  /** Counted with a tokenizer before the call. */
  promptTokens: number;
  /** What the step would like to be allowed to write. */
  maxOutputTokens: number;
  /**
   * Pay only this many output tokens now: the step extends its grant (`extend`) as tokens arrive.
   * Ignored with `steps`, for a free model, and on a budget without a limit (the whole cap is granted).
   */
  firstSliceTokens?: number;
  /**
   * For a backend that runs several steps per call (Letta): reserve for this many steps of
   * `promptTokens` + `maxOutputTokens` each, and refuse unless at least one whole step fits.
   */
  steps?: number;
}

/** Money set aside for one step, and how many tokens the step may write within it. */
export interface Grant {
  id: string;
  userId: string;
  runId: string | null;
  model: string;
  amountMicros: number;
  /** The output tokens the amount pays for, after the prompt (per step with `steps`). */
  maxOutputTokens: number;
  /**
   * The most the step may ever write, if every extension were granted: the step's cap, lowered to
   * what the whole remaining budget could pay when it was reserved. What to send as max_tokens.
   */
  outputCeiling: number;
  /** How many whole steps the amount pays for (1 for a single step). */
  steps: number;
}

export interface UsageTotals {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  costMicros: number;
}

export interface UsageQuery {
  from?: Date | undefined;
  to?: Date | undefined;
  groupBy?: 'day' | 'model' | undefined;
}

/**
 * The per-user budget, enforced before every model step: `reserve` sets the most a step can cost
 * aside in one atomic update (BUDGET_EXCEEDED when even a minimal answer no longer fits), and
 * `settle` replaces it with the real cost. Spend therefore never passes the limit, however many
 * steps run at once.
 */
export interface Ledger {
  budget(userId: string): Promise<BudgetView>;
  /** The user's own cap: BUDGET_CEILING above the operator's limit, or in another period than the operator's. */
  setBudget(userId: string, change: { limitMicros: number | null; period: BudgetPeriod }): Promise<BudgetView>;
  /** The operator's limit and period for the user (an admin's decision); BUDGET_CEILING past BUDGET_CEILING_USD. */
  setOperatorBudget(userId: string, change: { limitMicros: number | null; period: BudgetPeriod }): Promise<BudgetView>;
  reserve(request: ReserveRequest): Promise<Grant>;
  /**
   * Sets up to `outputTokens` more output tokens aside for a running step, in one atomic update, as
   * many as the budget still has (never past `outputCeiling`); the grant as it now stands, unchanged
   * when nothing more fits or the reservation is gone. A step must not settle while extending.
   */
  extend(grant: Grant, outputTokens: number): Promise<Grant>;
  /**
   * Replaces the reservation with the step's cost, capped at the amount reserved: a provider that
   * reports (or a count that finds) more than was granted is never billed past the grant.
   */
  settle(grant: Grant, used: { promptTokens: number; completionTokens: number }): Promise<{ costMicros: number }>;
  /**
   * Gives a reservation back unbilled: for a step the user is not charged for, because its turn
   * never became a stored run (the send failed). No spend, no usage record.
   */
  release(grant: Grant): Promise<void>;
  usage(
    userId: string,
    query: UsageQuery,
  ): Promise<{ totals: UsageTotals; buckets: Array<UsageTotals & { key: string }> }>;
  /** Records how many tokens a running step has received, and that it is alive. */
  progress(grant: Grant, receivedTokens: number): Promise<void>;
  /**
   * Settles reservations whose step can no longer settle them (its process died): for the prompt and
   * the tokens received by the last progress report. Returns how many.
   */
  releaseExpired(all?: boolean): Promise<number>;
  /** Settles, in the same way, the reservations of runs that were ended because their process died. */
  releaseRuns(runIds: readonly string[]): Promise<number>;
}
