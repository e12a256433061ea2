export interface Bar {
  key: string;
  value: number;
  /** What a screen reader and a tooltip say for this bar. */
  label: string;
}

const WIDTH = 480;
const HEIGHT = 160;
const AXIS = 24;

/** A small SVG bar chart: a few dozen bars at most, so no charting library is worth its weight. */
export function BarChart({ title, bars }: { title: string; bars: Bar[] }) {
  const max = Math.max(0, ...bars.map((bar) => bar.value));
  const slot = bars.length > 0 ? WIDTH / bars.length : WIDTH;
  const barWidth = Math.max(2, Math.min(64, slot * 0.7));
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      {bars.length === 0 ? (
        <p className="muted">No requests yet.</p>
      ) : (
        <svg viewBox={`0 0 ${WIDTH} ${HEIGHT + AXIS}`} role="img" aria-label={title}>
          {bars.map((bar, index) => {
            const height = max > 0 ? Math.max(1, (bar.value / max) * (HEIGHT - 16)) : 1;
            const x = index * slot + (slot - barWidth) / 2;
            return (
              <g key={bar.key} data-bar={bar.key} data-value={bar.value}>
                <title>{bar.label}</title>
                <rect x={x} y={HEIGHT - height} width={barWidth} height={height} rx={2} />
                <text x={x + barWidth / 2} y={HEIGHT - height - 4} textAnchor="middle" className="value">
                  {bar.value}
                </text>
                <text x={x + barWidth / 2} y={HEIGHT + 18} textAnchor="middle" className="axis">
                  {bar.key.length > 12 ? `${bar.key.slice(0, 11)}…` : bar.key}
                </text>
              </g>
            );
          })}
        </svg>
      )}
    </figure>
  );
}
