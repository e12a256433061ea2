const usd = new Intl.NumberFormat('en-US', {
  style: 'currency',
  currency: 'USD',
  minimumFractionDigits: 2,
  maximumFractionDigits: 6,
});

/** Money as people read it; tiny amounts keep their digits (the offline model costs $0.00). */
export function formatUsd(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : usd.format(value);
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export function formatDateTime(date: Date | string): string {
  return dateTime.format(typeof date === 'string' ? new Date(date) : date);
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
export function formatAgo(date: Date | string, now = Date.now()): string {
  const seconds = Math.round(((typeof date === 'string' ? Date.parse(date) : date.getTime()) - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 60) return relative.format(seconds, 'second');
  if (abs < 3600) return relative.format(Math.round(seconds / 60), 'minute');
  if (abs < 86_400) return relative.format(Math.round(seconds / 3600), 'hour');
  return relative.format(Math.round(seconds / 86_400), 'day');
}
