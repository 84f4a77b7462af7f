import { html } from 'hono/html';
import type { Html } from './page.ts';

/** Colors told apart by most eyes (Okabe-Ito, and two more); the tenth is "other". */
export const SERIES_COLORS = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#CC79A7',
  '#56B4E9',
  '#D55E00',
  '#F0E442',
  '#000000',
  '#999933',
  '#888888',
] as const;

export interface ChartSeries {
  readonly name: string;
  readonly color: string;
  /** One value per day, in the order of `days`. */
  readonly values: readonly number[];
}

/**
 * A stacked bar chart as SVG, drawn on the server: one bar per day, one layer per series, an axis
 * with the largest day's total. No script; every label escaped; each bar part titled with its
 * figures, and the same numbers are in the table beside it.
 */
export function stackedBars(options: {
  days: readonly string[];
  series: readonly ChartSeries[];
  format: (value: number) => string;
  label: string;
}): Html {
  const { days, series, format } = options;
  const width = 960;
  const height = 280;
  const left = 70;
  const bottom = 24;
  const top = 10;
  const totals = days.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));
  const max = Math.max(0, ...totals);
  const plotHeight = height - bottom - top;
  const step = days.length === 0 ? 0 : (width - left - 10) / days.length;
  const barWidth = Math.max(1, step * 0.8);
  const scale = (value: number) => (max === 0 ? 0 : (value / max) * plotHeight);
  const bars = days.map((day, i) => {
    let y = height - bottom;
    const x = left + i * step + (step - barWidth) / 2;
    return series.map((s) => {
      const value = s.values[i] ?? 0;
      if (value <= 0) return '';
      const h = scale(value);
      y -= h;
      return html`<rect
        x="${x.toFixed(1)}"
        y="${y.toFixed(1)}"
        width="${barWidth.toFixed(1)}"
        height="${Math.max(h, 0.5).toFixed(1)}"
        fill="${s.color}"
        ><title>${day} · ${s.name}: ${format(value)}</title></rect
      >`;
    });
  });
  const every = Math.max(1, Math.ceil(days.length / 12));
  const ticks = days.map((day, i) =>
    i % every === 0
      ? html`<text
          x="${(left + i * step + step / 2).toFixed(1)}"
          y="${height - 6}"
          text-anchor="middle"
          font-size="11"
          fill="#5b6475"
          >${day.slice(5)}</text
        >`
      : '',
  );
  return html`<svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${options.label}">
    <line
      x1="${left}"
      y1="${height - bottom}"
      x2="${width - 10}"
      y2="${height - bottom}"
      stroke="#aeb6c4"
    />
    <line x1="${left}" y1="${top}" x2="${width - 10}" y2="${top}" stroke="#e3e6ec" />
    <text x="${left - 6}" y="${top + 4}" text-anchor="end" font-size="11" fill="#5b6475">
      ${format(max)}
    </text>
    <text x="${left - 6}" y="${height - bottom}" text-anchor="end" font-size="11" fill="#5b6475">
      0
    </text>
    ${bars} ${ticks}
  </svg>`;
}
