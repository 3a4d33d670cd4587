import {
  Chart, Filler, Legend, LinearScale, LineController, LineElement, LogarithmicScale, PointElement, ScatterController, Tooltip,
  type ChartConfiguration, type ChartDataset, type Scale,
} from 'chart.js';
import { logTickLabel } from '../data/series';
import type { Theme } from '../data/colour';

Chart.register(LineController, ScatterController, LineElement, PointElement, LinearScale, LogarithmicScale, Tooltip, Legend, Filler);

/**
 * Every time-axis view (heatmaps, trajectories, gradients) puts its plot area at the same place: PLOT_LEFT
 * pixels of axis labels on the left, PLOT_RIGHT on the right, so that timestep t lines up across all of them.
 */
export const PLOT_LEFT = 60;
export const PLOT_RIGHT = 14;

export type LineChart = Chart<'line', { x: number; y: number }[]>;

/** chart.js colours and fonts from the theme (charts created later pick these up). */
export function applyChartDefaults(theme: Theme): void {
  Chart.defaults.color = theme.muted;
  Chart.defaults.borderColor = withAlpha(theme.grid, 0.25);
  Chart.defaults.font.family = theme.font;
  Chart.defaults.font.size = 11;
}

/** A line chart over time with the shared plot geometry, no animation, and no chart.js event handling. */
export function timeChartConfig(theme: Theme, yLog: boolean, yTitle: string): ChartConfiguration<'line', { x: number; y: number }[]> {
  return {
    type: 'line',
    data: { datasets: [] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      spanGaps: false,
      events: [],
      layout: { padding: { left: 0, right: PLOT_RIGHT, top: 8, bottom: 0 } },
      elements: { point: { radius: 0 }, line: { borderWidth: 1.5, tension: 0 } },
      plugins: { legend: { display: false }, tooltip: { enabled: false } },
      scales: {
        x: {
          type: 'linear',
          grid: { color: withAlpha(theme.grid, 0.18) },
          // the range is [start − 0.5, end − 0.5] (so timesteps line up with the heatmaps): no ticks at the bounds
          ticks: { maxRotation: 0, autoSkipPadding: 24, precision: 0, color: theme.muted, includeBounds: false },
          border: { color: withAlpha(theme.grid, 0.5) },
          title: { display: false },
        },
        y: {
          type: yLog ? 'logarithmic' : 'linear',
          grid: { color: withAlpha(theme.grid, 0.18) },
          border: { color: withAlpha(theme.grid, 0.5) },
          ticks: {
            color: theme.muted,
            maxTicksLimit: 6,
            callback: yLog ? (v) => logTickLabel(Number(v)) : undefined,
          },
          title: { display: true, text: yTitle, color: theme.muted, font: { size: 11 }, padding: 2 },
          afterFit: (s: Scale) => { s.width = PLOT_LEFT; },
        },
      },
    },
  };
}

/** Sets the x range to the window so that timestep t sits at the same pixel as in the heatmaps. */
export function setTimeWindow(chart: Chart, start: number, end: number): void {
  const x = chart.options.scales!['x']!;
  x.min = start - 0.5;
  x.max = end - 0.5;
}

export function lineDataset(label: string, data: { x: number; y: number }[], colour: string, dashed = false, width = 1.5): ChartDataset<'line', { x: number; y: number }[]> {
  return { label, data, borderColor: colour, backgroundColor: colour, borderWidth: width, borderDash: dashed ? [4, 3] : [], pointRadius: 0 };
}

/** A CSS colour with an alpha (works for #rrggbb, #rgb, rgb() and rgba()). */
export function withAlpha(css: string, alpha: number): string {
  const s = css.trim();
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})([0-9a-f]{2})?$/i.exec(s);
  if (hex) {
    const hx = hex[1]!.length === 3 ? hex[1]!.split('').map((c) => c + c).join('') : hex[1]!;
    const [r, g, b] = [0, 2, 4].map((i) => parseInt(hx.slice(i, i + 2), 16));
    return `rgba(${r}, ${g}, ${b}, ${alpha})`;
  }
  const m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/i.exec(s);
  return m ? `rgba(${m[1]}, ${m[2]}, ${m[3]}, ${alpha})` : s;
}

/** The chart's x pixel (CSS, relative to its canvas) of timestep t, or null outside the plot area. */
export function chartX(chart: Chart, t: number): number | null {
  const x = chart.scales['x']!.getPixelForValue(t);
  const a = chart.chartArea;
  return a && x >= a.left - 0.5 && x <= a.right + 0.5 ? x : null;
}

export { Chart };
