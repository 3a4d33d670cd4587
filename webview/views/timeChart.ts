import type { ViewContext } from '../context';
import { tAt, zoomWindow } from '../data/zoom';
import { h, sizeCanvas } from '../dom';
import { Chart, chartX, PLOT_LEFT, PLOT_RIGHT, setTimeWindow, timeChartConfig, type LineChart } from './charts';

/** What a time chart reads and calls. */
export type TimeChartContext = Pick<ViewContext, 'T' | 'window' | 'view' | 'hover' | 'theme' | 'tooltip' | 'hoverAt' | 'moveCursor' | 'setWindow'>;

/**
 * A chart.js line chart over the shared time window, with an overlay canvas for the cursor, hover and
 * selection (so hovering never re-renders the chart), hover and click handling, and Ctrl+wheel zoom.
 */
export class TimeChart {
  readonly el: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  readonly overlay = h('canvas', { class: 'layer-overlay', 'aria-hidden': 'true' });
  chart: LineChart | null = null;

  /** `yTitle`: the y axis's title, or a function giving it when the chart is made (it may depend on the trace). */
  constructor(private readonly ui: TimeChartContext, id: string, private readonly yLog: boolean, private readonly yTitle: string | (() => string),
    private readonly tooltip: (t: number) => Node | null, heightClass = 'chart-h') {
    this.canvas = h('canvas', { id, role: 'img' });
    this.el = h('div', { class: `chart-wrap ${heightClass}` }, this.canvas, this.overlay);
    this.el.addEventListener('mousemove', (e) => this.onMove(e));
    this.el.addEventListener('mouseleave', () => { ui.tooltip.hide(); ui.hoverAt(null); });
    this.el.addEventListener('click', (e) => { const t = this.tAt(e); if (t !== null) ui.moveCursor(t); });
    this.el.addEventListener('wheel', (e) => {
      if (!e.ctrlKey) return;
      e.preventDefault();
      const t = this.tAt(e);
      if (t !== null) ui.setWindow(zoomWindow(ui.window, ui.T, Math.exp(e.deltaY * 0.002), t));
    }, { passive: false });
  }

  /** Shows datasets over the current window; creates the chart on first use (not while its page is hidden). */
  show(datasets: LineChart['data']['datasets']): void {
    const w = this.ui.window;
    if (!this.chart) {
      const config = timeChartConfig(this.ui.theme, this.yLog, typeof this.yTitle === 'string' ? this.yTitle : this.yTitle());
      config.data.datasets = datasets;
      const x = config.options!.scales!['x']!;
      x.min = w.start - 0.5;
      x.max = w.end - 0.5;
      this.chart = new Chart(this.canvas, config); // renders once
    } else {
      this.chart.data.datasets = datasets;
      setTimeWindow(this.chart, w.start, w.end);
      this.chart.update('none');
    }
    this.paintOverlay();
  }

  /** Re-creates the chart with the theme's colours. */
  retheme(): void {
    this.chart?.destroy();
    this.chart = null;
  }

  paintOverlay(): void {
    const ui = this.ui;
    const chart = this.chart;
    if (!chart || !chart.chartArea) return;
    const cssW = this.canvas.clientWidth, cssH = this.canvas.clientHeight;
    const ctx = sizeCanvas(this.overlay, cssW, cssH);
    ctx.clearRect(0, 0, cssW, cssH);
    const a = chart.chartArea;
    const sel = ui.view.selection;
    if (sel) {
      const x0 = chartX(chart, Math.max(sel.start, ui.window.start) - 0.5) ?? a.left;
      const x1 = chartX(chart, Math.min(sel.end, ui.window.end) - 0.5) ?? a.right;
      if (sel.end > ui.window.start && sel.start < ui.window.end) {
        ctx.fillStyle = ui.theme.selection;
        ctx.globalAlpha = 0.3;
        ctx.fillRect(x0, a.top, Math.max(1, x1 - x0), a.bottom - a.top);
        ctx.globalAlpha = 1;
      }
    }
    const line = (t: number, colour: string, width: number, alpha: number): void => {
      const x = chartX(chart, t);
      if (x === null) return;
      ctx.globalAlpha = alpha;
      ctx.strokeStyle = colour;
      ctx.lineWidth = width;
      ctx.beginPath();
      ctx.moveTo(x, a.top);
      ctx.lineTo(x, a.bottom);
      ctx.stroke();
      ctx.globalAlpha = 1;
    };
    line(ui.view.cursor, ui.theme.cursor, 1.5, 0.9);
    if (ui.hover !== null && ui.hover !== ui.view.cursor) line(ui.hover, ui.theme.accent, 1, 0.7);
  }

  private tAt(e: MouseEvent): number | null {
    const r = this.canvas.getBoundingClientRect();
    const x = e.clientX - r.left;
    const pw = r.width - PLOT_LEFT - PLOT_RIGHT;
    if (x < PLOT_LEFT || x > r.width - PLOT_RIGHT || !this.ui.T) return null;
    return tAt(x - PLOT_LEFT, this.ui.window, pw);
  }

  private onMove(e: MouseEvent): void {
    const t = this.tAt(e);
    if (t === null) {
      this.ui.tooltip.hide();
      this.ui.hoverAt(null);
      return;
    }
    this.ui.hoverAt(t);
    const content = this.tooltip(t);
    if (content) this.ui.tooltip.show(content, e.clientX, e.clientY);
  }
}
