/**
 * Accessible SVG charts with no chart library: each is an `role="img"` figure with a text label
 * that says what it shows, and the numbers also in a table under a disclosure, so a screen
 * reader or a keyboard user gets the data, not a picture of it.
 */
import { useId } from 'preact/hooks';
import { ROLLOUT_STATES, type RolloutDeviceState, type Summary } from '../types.js';

/** A horizontal bar chart: one bar per label, longest bar = largest value. */
export function BarChart({
  title,
  data,
  unit = 'devices',
}: {
  title: string;
  data: { label: string; value: number }[];
  unit?: string;
}) {
  const id = `chart${useId()}`;
  if (data.length === 0) {
    return (
      <figure class="chart">
        <figcaption>{title}</figcaption>
        <p class="muted">No data yet.</p>
      </figure>
    );
  }
  const max = Math.max(1, ...data.map((d) => d.value));
  const row = 28;
  const labelWidth = 220;
  const barWidth = 320;
  const height = data.length * row + 4;
  const summary = data.map((d) => `${d.label}: ${d.value}`).join(', ');
  return (
    <figure class="chart">
      <figcaption id={`${id}-t`}>{title}</figcaption>
      <svg
        role="img"
        aria-labelledby={`${id}-t ${id}-d`}
        viewBox={`0 0 ${labelWidth + barWidth + 60} ${height}`}
        width="100%"
        preserveAspectRatio="xMinYMin meet"
      >
        <title>{title}</title>
        <desc id={`${id}-d`}>{summary}</desc>
        {data.map((d, i) => {
          const w = Math.max(2, Math.round((d.value / max) * barWidth));
          const y = i * row + 4;
          return (
            <g key={d.label}>
              <text x={labelWidth - 8} y={y + 15} text-anchor="end" class="chart-label">
                {d.label.length > 32 ? `…${d.label.slice(-31)}` : d.label}
              </text>
              <rect x={labelWidth} y={y} width={w} height={row - 8} class={`bar bar-${i % 6}`} />
              <text x={labelWidth + w + 6} y={y + 15} class="chart-value">
                {d.value}
              </text>
            </g>
          );
        })}
      </svg>
      <details>
        <summary>Data table</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">{title}</th>
              <th scope="col">{unit}</th>
            </tr>
          </thead>
          <tbody>
            {data.map((d) => (
              <tr key={d.label}>
                <th scope="row">{d.label}</th>
                <td>{d.value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

/** Human words for the device states of a deployment. */
export const STATE_LABELS: Record<RolloutDeviceState, string> = {
  pending: 'pending',
  downloading: 'downloading',
  installing: 'installing',
  rebooting: 'rebooting',
  succeeded: 'succeeded',
  failed: 'failed',
  rolledBack: 'rolled back',
  skipped: 'skipped',
};

/** A deployment's devices per state as one stacked bar, with a legend that carries the numbers. */
export function ProgressBar({ summary, label }: { summary: Summary; label: string }) {
  const total = ROLLOUT_STATES.reduce((n, s) => n + (summary[s] ?? 0), 0);
  const done = (summary.succeeded ?? 0) + (summary.failed ?? 0) + (summary.rolledBack ?? 0);
  const text = ROLLOUT_STATES.filter((s) => (summary[s] ?? 0) > 0)
    .map((s) => `${summary[s]} ${STATE_LABELS[s]}`)
    .join(', ');
  let x = 0;
  return (
    <div class="progress">
      <svg role="img" viewBox="0 0 400 16" width="100%" height="16" preserveAspectRatio="none">
        <title>{`${label}: ${total === 0 ? 'no devices yet' : text}`}</title>
        <rect x="0" y="0" width="400" height="16" class="state-empty" />
        {ROLLOUT_STATES.map((s) => {
          const n = summary[s] ?? 0;
          if (n === 0 || total === 0) return null;
          const w = (n / total) * 400;
          const rect = <rect key={s} x={x} y="0" width={w} height="16" class={`state-${s}`} />;
          x += w;
          return rect;
        })}
      </svg>
      <ul class="legend">
        {ROLLOUT_STATES.filter((s) => (summary[s] ?? 0) > 0).map((s) => (
          <li key={s}>
            <span class={`swatch state-${s}`} aria-hidden="true" />
            {STATE_LABELS[s]} <strong>{summary[s]}</strong>
          </li>
        ))}
        <li class="muted">
          {done} of {total} finished
        </li>
      </ul>
    </div>
  );
}
