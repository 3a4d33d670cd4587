import { displayChar } from '../../src/protocol/traceQuery';
import type { View, ViewContext } from '../context';
import type { Change } from '../store';
import { FIGURE_PAD, FIGURE_SCALE, FIGURE_WIDTH, plotWidth } from '../data/figure';
import { geometricMean, vectorSeries } from '../data/series';
import { formatCount, formatNumber, h } from '../dom';
import { button, card } from './card';
import { lineDataset, PLOT_LEFT, PLOT_RIGHT, renderChartImage, timeChartConfig, withAlpha } from './charts';
import { TimeChart, type TimeChartContext } from './timeChart';

/** What the gradient chart reads and calls. */
type GradientContext = TimeChartContext & Pick<ViewContext, 'model' | 'traceView' | 'trace' | 'T' | 'chars' | 'compare' | 'view' | 'window' | 'theme' | 'exportFigure'>;

const Y_TITLE = '‖∂L/∂·‖ (log scale)';
/** Height of the chart in the exported figure (CSS pixels). */
const FIGURE_CHART_H = 340;

interface Curve {
  readonly label: string;
  readonly values: Float32Array;
  readonly colour: string;
  readonly dashed: boolean;
}

/**
 * ‖∂L/∂h_t‖ and ‖∂L/∂c_t‖ of the MEAN loss over all the text's predictions, per timestep and layer, on a log scale,
 * with the comparison model's ‖∂L/∂h_t‖ overlaid when there is one. At every t this sums the pull of every later
 * prediction, dominated by the nearest, so it looks alike for an LSTM and an RNN: how far one prediction's gradient
 * reaches is the Gradient reach card's (views/reach.ts), which also carries the comparison's headline.
 */
export class GradientChart implements View {
  readonly el: HTMLElement;
  private readonly chart: TimeChart;
  private readonly legend = h('div', { class: 'chart-legend', role: 'list', 'aria-label': 'Curves' });
  private readonly summary = h('p', { class: 'chart-note' });
  private curves: Curve[] = [];

  constructor(private readonly ui: GradientContext) {
    const c = card('gradients', 'Gradient magnitudes of the mean loss');
    this.el = c.el;
    c.subtitle.textContent = 'L = mean cross-entropy of all the text\'s predictions · log scale';
    this.chart = new TimeChart(ui, 'gradients-chart', true, Y_TITLE, (t) => this.tip(t));
    c.actions.append(button('PNG', 'Save the gradient chart as PNG, with its legend and axes', () => this.exportFigure()));
    c.body.append(this.legend, this.chart.el, this.summary);
  }

  canvases(): readonly HTMLCanvasElement[] {
    return [this.chart.canvas];
  }

  update(c: ReadonlySet<Change>): void {
    const ui = this.ui;
    if (!ui.trace || ui.view.tab !== 'inspect') return;
    if (c.has('theme')) this.chart.retheme();
    if (c.has('data') || c.has('theme') || c.has('compare') || c.has('window') || c.has('size') || c.has('tab') || c.has('layer') || !this.chart.chart) {
      this.renderData();
    }
    if (c.has('cursor') || c.has('selection')) this.chart.paintOverlay();
  }

  private renderData(): void {
    const ui = this.ui;
    const tr = ui.trace!;
    const s = ui.theme.series;
    const cellName = tr.cell === 'lstm' ? 'LSTM' : tr.cell === 'gru' ? 'GRU' : tr.cell === 'rnn_relu' ? 'RNN (ReLU)' : 'RNN';
    const curves: Curve[] = [];
    tr.layers.forEach((l, k) => {
      const colour = s[k % 4 === 0 ? 0 : k % 4 === 1 ? 2 : k % 4 === 2 ? 3 : 5]!;
      curves.push({ label: `${cellName} ‖∂L/∂h_t‖ layer ${k}`, values: l.gradH, colour, dashed: false });
      if (l.gradC) curves.push({ label: `${cellName} ‖∂L/∂c_t‖ layer ${k}`, values: l.gradC, colour, dashed: true });
    });
    const cmp = ui.compare;
    if (cmp && cmp.layers[0]?.gradH.length === ui.T) {
      cmp.layers.forEach((l, k) => {
        curves.push({ label: `${cmp.label} (comparison): ‖∂L/∂h_t‖ layer ${k}`, values: l.gradH, colour: k === 0 ? s[4]! : withAlpha(s[4]!, 0.6), dashed: false });
      });
    }
    this.curves = curves;
    const w = ui.window;
    const buckets = Math.max(50, (this.chart.canvas.clientWidth || 800) - PLOT_LEFT - PLOT_RIGHT);
    const datasets = curves.map((cv) => lineDataset(cv.label, vectorSeries(cv.values, w, { buckets, positive: true }), cv.colour, cv.dashed, 1.3));
    this.legend.replaceChildren(...curves.map((cv) => {
      const sw = h('span', { class: `swatch line${cv.dashed ? ' dashed' : ''}`, 'aria-hidden': 'true' });
      sw.style.borderColor = cv.colour;
      return h('span', { class: 'legend-item', role: 'listitem' }, sw, cv.label);
    }));
    const pending = ui.traceView?.pending;
    if (pending) {
      // the norms come from a backward over the whole text, after its forward: nothing to draw before that
      this.summary.textContent = pending.stopped
        ? `The trace was stopped after ${pending.filled.toLocaleString('en-US')} characters: the gradient norms need the whole text (trace again).`
        : 'The gradient norms arrive once the whole text has run forward (a backward over all of it): tracing…';
      this.chart.canvas.setAttribute('aria-label', 'Gradient magnitudes: not computed yet');
      this.chart.show([]);
      return;
    }
    const mean = (v: Float32Array): string => formatNumber(geometricMean(v), 2);
    const parts = [`geometric mean of ‖∂L/∂h_t‖ over the text, layer 0: ${cellName} ${mean(tr.layers[0]!.gradH)}`];
    if (cmp && cmp.layers[0]) parts.push(`${cmp.label} ${mean(cmp.layers[0].gradH)}`);
    parts.push('each point sums the pull of every later prediction, so this chart cannot show how far one reaches: see Gradient reach');
    this.summary.textContent = parts.join(' · ');
    this.chart.canvas.setAttribute('aria-label', `Gradient magnitudes on a log scale, timesteps ${w.start} to ${w.end - 1}: ${curves.map((c) => c.label).join('; ')}`);
    this.chart.show(datasets);
  }

  /**
   * The chart as a figure: drawn again at the figure's width, with the legend (which line is which: ‖∂L/∂h_t‖ solid,
   * ‖∂L/∂c_t‖ dashed, per layer, the comparison model's), both axis titles, and what L is.
   */
  private exportFigure(): void {
    const ui = this.ui, tv = ui.traceView;
    if (!tv || !this.curves.length) return;
    const w = ui.window;
    const width = FIGURE_WIDTH - 2 * FIGURE_PAD;
    const config = timeChartConfig(ui.theme, true, Y_TITLE);
    config.data.datasets = this.curves.map((cv) => lineDataset(cv.label, vectorSeries(cv.values, w, { buckets: plotWidth(), positive: true }), cv.colour, cv.dashed, 1.5));
    const x = config.options!.scales!['x']!;
    x.min = w.start - 0.5;
    x.max = w.end - 0.5;
    const image = renderChartImage(config, width, FIGURE_CHART_H, FIGURE_SCALE);
    void ui.exportFigure({
      name: 'gradients',
      title: `Gradient magnitudes of the mean loss · ${ui.model?.name ?? 'model'} on ${tv.documentName}`,
      subtitle: `How strongly the loss L — the mean cross-entropy of all ${formatCount(ui.T)} next-character predictions — changes with the hidden state h_t ` +
        `(‖∂L/∂h_t‖) and the cell state c_t (‖∂L/∂c_t‖) at each character t, per layer; t ${formatCount(w.start)}–${formatCount(w.end - 1)}, log scale.`,
      blocks: [
        { kind: 'lineLegend', items: this.curves.map((cv) => ({ label: `${cv.label}${cv.dashed ? ' (dashed)' : ''}`, colour: cv.colour, dashed: cv.dashed })) },
        { kind: 'image', image, width, height: FIGURE_CHART_H },
        { kind: 'note', text: this.summary.textContent ?? '' },
      ],
    });
  }

  private tip(t: number): Node {
    const ui = this.ui;
    return h('div', { class: 'details compact' },
      h('div', { class: 'd-head' }, h('span', { class: 'd-char' }, displayChar(ui.chars[t] ?? '')), h('span', { class: 'd-t' }, `t = ${formatCount(t)}`)),
      ...this.curves.map((cv) => {
        const sw = h('span', { class: `swatch line${cv.dashed ? ' dashed' : ''}` });
        sw.style.borderColor = cv.colour;
        return h('div', { class: 'd-row' }, sw, h('span', { class: 'd-q wide' }, cv.label), h('span', { class: 'd-v' }, formatNumber(cv.values[t]!, 2)));
      }));
  }
}
