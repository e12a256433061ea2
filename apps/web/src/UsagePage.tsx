import { useBudget, useUsage } from '@hearth/react';
import { type FormEvent, useEffect, useState } from 'react';
import { AccountSettings } from './AccountSettings';
import { type Bar, BarChart } from './BarChart';
import { describeError } from './errors';
import { formatDateTime, formatUsd } from './format';

type Period = 'day' | 'week' | 'month' | 'none';

interface Bucket {
  key: string;
  requests: number;
  costUsd: number;
  promptTokens: number;
  completionTokens: number;
}

const toBars = (buckets: Bucket[] | undefined): Bar[] =>
  (buckets ?? []).map((bucket) => ({
    key: bucket.key,
    value: bucket.requests,
    label: `${bucket.key}: ${bucket.requests} requests, ${bucket.promptTokens + bucket.completionTokens} tokens, ${formatUsd(bucket.costUsd)}`,
  }));

function BudgetSettings() {
  const budget = useBudget();
  const current = budget.budget;
  const [limit, setLimit] = useState('');
  const [period, setPeriod] = useState<Period>('month');
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    if (!current) return;
    setLimit(current.limitUsd === null ? '' : String(current.limitUsd));
    setPeriod(current.period);
  }, [current]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setSaved(false);
    try {
      await budget.setBudget({ limitUsd: limit.trim() === '' ? null : Number(limit), period });
      setSaved(true);
    } catch (caught) {
      setError(caught);
    }
  }

  return (
    <section className="budget" aria-label="Budget">
      <h2>Budget</h2>
      {current ? (
        <p>
          Spent {formatUsd(current.spentUsd)}
          {current.limitUsd === null ? ', no limit' : ` of ${formatUsd(current.limitUsd)}`}
          {current.remainingUsd === null ? '' : `, ${formatUsd(current.remainingUsd)} left`}
          {current.resetsAt ? ` · resets ${formatDateTime(current.resetsAt)}` : ''}
          {current.ceilingUsd === null ? '' : ` · ceiling ${formatUsd(current.ceilingUsd)}`}
        </p>
      ) : null}
      <form onSubmit={(event) => void submit(event)}>
        <label>
          Limit (USD, empty for none)
          <input inputMode="decimal" value={limit} onChange={(event) => setLimit(event.target.value)} />
        </label>
        <label>
          Period
          <select value={period} onChange={(event) => setPeriod(event.target.value as Period)}>
            <option value="day">per day</option>
            <option value="week">per week</option>
            <option value="month">per month</option>
            <option value="none">in total</option>
          </select>
        </label>
        <button type="submit" className="primary">
          Save budget
        </button>
        {saved ? <span className="muted">Saved.</span> : null}
      </form>
      {error ? (
        <p role="alert" className="alert">
          {describeError(error)}
        </p>
      ) : null}
    </section>
  );
}

export function UsagePage() {
  const byDay = useUsage({ groupBy: 'day' });
  const byModel = useUsage({ groupBy: 'model' });
  const totals = byDay.usage?.totals;
  return (
    <main className="usage">
      <h1>Usage</h1>
      {totals ? (
        <div className="totals">
          <div>
            Requests<strong data-testid="total-requests">{totals.requests}</strong>
          </div>
          <div>
            Tokens<strong>{totals.promptTokens + totals.completionTokens}</strong>
          </div>
          <div>
            Cost<strong>{formatUsd(totals.costUsd)}</strong>
          </div>
        </div>
      ) : null}
      <div className="charts">
        <BarChart title="Requests per day" bars={toBars(byDay.usage?.buckets)} />
        <BarChart title="Requests per model" bars={toBars(byModel.usage?.buckets)} />
      </div>
      <BudgetSettings />
      <AccountSettings />
    </main>
  );
}
