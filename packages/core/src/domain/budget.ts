/** The calendar period a budget starts over on; `none` never starts over (one period since the budget was set). */
export const BUDGET_PERIODS = ['day', 'week', 'month', 'none'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];
