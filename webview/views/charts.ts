import {
  Chart, Filler, Legend, LinearScale, LineController, LineElement, LogarithmicScale, PointElement, ScatterController, Tooltip,
  type ChartConfiguration, type ChartDataset, type Scale,
} from 'chart.js';
import { logAxisLabel } from '../data/series';
import type { Theme } from '../data/colour';

Chart.register(LineController, ScatterController, LineElement, PointElement, LinearScale, LogarithmicScale, Tooltip, Legend, Filler);

/**
 * Every time-axis view (heatmaps, trajectories, gradients) puts its plot area at the same place: PLOT_LEFT
 * pixels of axis labels on the left, PLOT_RIGHT on the right, so that timestep t lines up across all of them.
 */
export const PLOT_LEFT = 60;
export const PLOT_RIGHT = 14;

export type LineChart = Chart<'line', { x: number; y: number }[]>;

/** The time axis's title under every time chart (the heatmaps' ruler says it in its gutter). */
export const TIME_AXIS_TITLE = 't: position in the text (character number)';

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
          title: { display: true, text: TIME_AXIS_TITLE, color: theme.muted, font: { size: 11 }, padding: { top: 0, bottom: 0 } },
        },
        y: {
          type: yLog ? 'logarithmic' : 'linear',
          // chart.js rounds a log axis's first tick up (9.6e−5 → 1e−4) and, bounded by its ticks, cut the lowest points off
          bounds: yLog ? 'data' : 'ticks',
          // a log axis labels the ticks logAxisLabel picks, and draws grid lines at those only
          grid: { color: yLog ? (c) => (c.tick?.label ? withAlpha(theme.grid, 0.18) : 'transparent') : withAlpha(theme.grid, 0.18) },
          border: { color: withAlpha(theme.grid, 0.5) },
          ticks: yLog
            ? { color: theme.muted, autoSkip: false, callback: (v, _k, ticks) => logAxisLabel(Number(v), ticks.map((t) => t.value)) }
            : { color: theme.muted, maxTicksLimit: 6 },
          title: { display: true, text: yTitle, color: theme.muted, font: { size: 11 }, padding: 2 },
          afterFit: (s: Scale) => { s.width = PLOT_LEFT; },
        },
      },
    },
  };
}

/**
 * Draws a chart once on a canvas of its own, `width` × `height` CSS pixels at `scale` pixels each, for a figure
 * (data/figure.ts): crisp at the figure's resolution whatever the page's. The chart is gone after; its picture stays.
 */
export function renderChartImage(config: ChartConfiguration<'line', { x: number; y: number }[]>, width: number, height: number, scale: number): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const chart = new Chart(canvas, { ...config, options: { ...config.options, responsive: false, maintainAspectRatio: false, animation: false, devicePixelRatio: scale, events: [] } });
  const out = document.createElement('canvas');
  out.width = canvas.width;
  out.height = canvas.height;
  out.getContext('2d')!.drawImage(canvas, 0, 0);
  chart.destroy();
  return out;
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
