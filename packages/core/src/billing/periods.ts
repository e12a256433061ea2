import type { BudgetPeriod } from '../domain/budget';

/**
 * Where the period containing `now` began, by the UTC calendar: midnight, Monday midnight, the 1st.
 * For `none` there is no calendar: the period is whatever `since` (when the budget was set) says.
 */
export function periodStart(period: BudgetPeriod, now: Date, since: Date): Date {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const d = now.getUTCDate();
  switch (period) {
    case 'day':
      return new Date(Date.UTC(y, m, d));
    case 'week':
      return new Date(Date.UTC(y, m, d - ((now.getUTCDay() + 6) % 7)));
    case 'month':
      return new Date(Date.UTC(y, m, 1));
    case 'none':
      return since;
  }
}

/** When the period containing `now` ends (the next one starts); null for `none`. */
export function periodEnd(period: BudgetPeriod, now: Date): Date | null {
  const start = periodStart(period, now, now);
  switch (period) {
    case 'day':
      return new Date(start.getTime() + 86_400_000);
    case 'week':
      return new Date(start.getTime() + 7 * 86_400_000);
    case 'month':
      return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
    case 'none':
      return null;
  }
}
