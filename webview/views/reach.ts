import type { ReachView } from '../../src/protocol/reach';
import type { View, ViewContext } from '../context';
import type { Change } from '../store';
import { actualFactorPoints, cellName, factorPoints, factorRange, factorSentence, horizonText, reachRange, plainLogTick, REACH_K, reachCurves, reachHeadline, sci, type Point, type ReachCurve } from '../data/reach';
import { h } from '../dom';
import { button, card } from './card';
import { Chart, lineDataset, withAlpha, type LineChart } from './charts';
import { logTickLabel } from '../data/series';

/** What the gradient reach card reads and calls. */
type ReachContext = Pick<ViewContext, 'trace' | 'H' | 'view' | 'theme' | 'reach' | 'reachError' | 'saliencyOn' | 'setSaliency' | 'compareWithRnn'
  | 'exportPng'>;

/**
 * Gradient reach: for the prediction at the cursor, how much of its loss's gradient reaches each earlier step,
 * ‖∂L_T/∂h_{T−k}‖ / ‖∂L_T/∂h_T‖ against k on a log scale — with the median over the text and its 10–90% band,
 * the memory horizon, and a comparison model's curves in another colour. Under it, the factor each step back
 * multiplies the gradient by, against the line at 1: why the curves fall as they do.
 */
export class GradientReach implements View {
  readonly el: HTMLElement;
  private readonly headline = h('p', { class: 'reach-headline', 'aria-live': 'polite' });
  private readonly legend = h('div', { class: 'chart-legend', role: 'list', 'aria-label': 'Curves' });
  private readonly canvas = h('canvas', { id: 'reach-chart', role: 'img' });
  private readonly factorCanvas = h('canvas', { id: 'reach-factor-chart', role: 'img' });
  private readonly explain = h('p', { class: 'chart-note' });
  private readonly factorLegend = h('div', { class: 'chart-legend', role: 'list', 'aria-label': 'Per-step factors' });
  private readonly notes = h('p', { class: 'chart-note reach-notes' });
  private readonly saliencyBtn: HTMLButtonElement;
  private readonly compareBtn: HTMLButtonElement;
  private chart: LineChart | null = null;
  private factorChart: LineChart | null = null;
  curves: ReachCurve[] = [];

  constructor(private readonly ui: ReachContext) {
    const c = card('reach', 'Gradient reach');
    this.el = c.el;
    c.subtitle.textContent = 'the loss of one prediction, back through time';
    this.saliencyBtn = button('Saliency', 'Colour the text before the cursor by how much the prediction at the cursor depends on each character', () => {
      ui.setSaliency(!ui.saliencyOn);
    });
    this.saliencyBtn.setAttribute('aria-pressed', 'false');
    this.compareBtn = button('Compare with RNN', 'Train (or reopen) a vanilla RNN or a GRU of the same size, seed and steps, on the model\'s own training text, and overlay its gradients', () => {
      this.compareBtn.disabled = true;
      void ui.compareWithRnn().finally(() => { this.compareBtn.disabled = false; });
    }, 'btn-primary');
    c.actions.append(this.compareBtn, this.saliencyBtn,
      button('PNG', 'Save the gradient reach charts as PNG', () => void ui.exportPng('gradient-reach', this.title(), [this.canvas, this.factorCanvas])));
    c.body.append(this.headline, this.legend, h('div', { class: 'chart-wrap chart-h reach-h' }, this.canvas),
      this.factorLegend, h('div', { class: 'chart-wrap chart-h factor-h' }, this.factorCanvas), this.explain, this.notes);
  }

  canvases(): readonly HTMLCanvasElement[] {
    return [this.canvas, this.factorCanvas];
  }

  update(c: ReadonlySet<Change>): void {
    const ui = this.ui;
    if (!ui.trace || ui.view.tab !== 'inspect') return;
    if (c.has('theme')) {
      this.chart?.destroy();
      this.factorChart?.destroy();
      this.chart = this.factorChart = null;
    }
    if (c.has('reach') || c.has('theme') || c.has('tab') || c.has('unit') || !this.chart) this.render();
    this.compareBtn.hidden = ui.trace.cell === 'rnn_tanh' || ui.trace.cell === 'rnn_relu';
    this.saliencyBtn.setAttribute('aria-pressed', String(ui.saliencyOn));
    this.saliencyBtn.classList.toggle('on', ui.saliencyOn);
  }

  private title(): string {
    const r = this.ui.reach;
    return `Gradient reach of the prediction at t = ${r?.at ?? '?'}: ‖∂L_T/∂h_{T−k}‖ / ‖∂L_T/∂h_T‖ (log scale), and the per-step factor`;
  }

  private render(): void {
    const ui = this.ui, r = ui.reach;
    if (!r) {
      this.headline.textContent = ui.reachError ? `The gradient reach is not available: ${ui.reachError}` : 'Click a character: its prediction\'s gradient is traced back through time.';
      return;
    }
    const layer = Math.min(ui.view.layer, ui.trace!.layers.length - 1);
    this.headline.textContent = reachHeadline(r, layer);
    this.curves = reachCurves(r, REACH_K, layer);
    const s = ui.theme.series;
    const colourOf = (cv: ReachCurve): string => (cv.model === 'model' ? (cv.quantity === 'h' ? s[0]! : s[2]!) : (cv.quantity === 'h' ? s[4]! : s[5]!));
    const datasets: LineChart['data']['datasets'] = [];
    for (const cv of this.curves) {
      const colour = colourOf(cv);
      if (cv.band) {
        datasets.push({ ...lineDataset(`${cv.label} 10%`, [...cv.band.lo], withAlpha(colour, 0), false, 0), fill: false });
        datasets.push({ ...lineDataset(`${cv.label} 90%`, [...cv.band.hi], withAlpha(colour, 0), false, 0), fill: '-1', backgroundColor: withAlpha(colour, 0.13) });
      }
      datasets.push(lineDataset(cv.label, [...cv.points], cv.kind === 'median' ? colour : withAlpha(colour, 0.75),
        cv.quantity === 'c', cv.kind === 'median' ? 2.4 : 1.3));
    }
    // the threshold of the horizon, and the product of the per-step factors (what the articles' argument predicts)
    const extra: HTMLElement[] = [];
    const threshold = withAlpha(ui.theme.muted, 0.7);
    datasets.push(lineDataset('1e-3: the horizon\'s threshold', [{ x: 0, y: 1e-3 }, { x: REACH_K, y: 1e-3 }], threshold, true, 1));
    const f = r.model.factors;
    if (f) {
      const prod: Point[] = [];
      for (let k = 0; k <= Math.min(REACH_K, f.product.length - 1); k++) if (f.product[k]! > 0) prod.push({ x: k, y: f.product[k]! });
      datasets.push(lineDataset(productLabel(r), prod, withAlpha(s[1]!, 0.9), true, 1.4));
      extra.push(legendItem(productLabel(r), withAlpha(s[1]!, 0.9), true));
    }
    extra.push(legendItem(`1e-3: below it, the gradient is gone (the horizon${r.model.summary ? `, ${horizonText(r.model.summary.horizon[layer] ?? null, r.model.summary.maxK)}` : ''})`, threshold, true));
    this.legend.replaceChildren(...this.legendItems(r, colourOf), ...extra);
    this.chart = this.draw(this.chart, this.canvas, datasets, 'reach', 'r(k)');
    setRange(this.chart, reachRange(datasets.map((d) => d.data as Point[])));
    this.canvas.setAttribute('aria-label', `${this.title()}. ${this.headline.textContent}`);
    // the per-step factor
    const fd: LineChart['data']['datasets'] = [];
    if (f) {
      const mine = r.model.prediction?.layers[Math.min(layer, r.model.prediction.layers.length - 1)]?.gradH;
      if (mine) fd.push(lineDataset(`${cellName(r.model.cell)}: what each step did to this prediction's ‖∂L/∂h‖`, actualFactorPoints(mine, REACH_K), s[0]!, false, 1.4));
      const cl = r.compare?.prediction?.layers;
      const theirs = cl?.[Math.min(layer, cl.length - 1)]?.gradH;
      if (theirs) fd.push(lineDataset(`${cellName(r.compare!.cell)}: what each step did to this prediction's ‖∂L/∂h‖`, actualFactorPoints(theirs, REACH_K), s[4]!, false, 1.4));
      fd.push(lineDataset(factorLabel(r), factorPoints(f.factor, REACH_K), s[1]!, f.kind === 'sigma', 1.4));
      const tr = ui.trace!;
      const gate = f.kind === 'sigma' ? null : tr.layers[f.layer]?.gates[f.kind];
      const at = r.at;
      if (gate && f.kind !== 'sigma') {
        const pts: Point[] = [];
        for (let k = 0; k <= Math.min(REACH_K, at); k++) pts.push({ x: k, y: gate[(at - k) * ui.H + ui.view.unit]! });
        fd.push(lineDataset(`${f.kind} of unit ${ui.view.unit}`, pts, withAlpha(s[3]!, 0.85), false, 1.1));
      }
      if (r.compare?.factors) fd.push(lineDataset(`${cellName(r.compare.cell)} ${factorLabel(r, true)}`, factorPoints(r.compare.factors.factor, REACH_K), withAlpha(s[4]!, 0.6), true, 1.1));
      fd.push(lineDataset('1: neither vanishing nor exploding', [{ x: 0, y: 1 }, { x: REACH_K, y: 1 }], withAlpha(ui.theme.fg, 0.8), true, 1.6));
    }
    this.factorLegend.replaceChildren(...fd.map((d) => legendItem(String(d.label), String(d.borderColor), !!(d.borderDash as number[] | undefined)?.length)));
    this.factorChart = this.draw(this.factorChart, this.factorCanvas, fd, 'factor', 'factor (log)');
    setRange(this.factorChart, factorRange(fd.map((d) => d.data as Point[])));
    this.factorCanvas.setAttribute('aria-label', f ? `Per-step factor. ${factorSentence(factorLabel(r), productLabel(r), r.at, f.factor, f.product, REACH_K)}` : 'no factor');
    this.explain.textContent = explanation(r.model.cell);
    this.notes.textContent = [r.model.predictionNote, r.model.summaryNote, r.compareNote,
      r.model.summary ? `Memory horizon (median below 1e-3): ${horizonText(r.model.summary.horizon[layer] ?? null, r.model.summary.maxK)}.` : null,
      !r.compare && r.model.cell !== 'rnn_tanh' && r.model.cell !== 'rnn_relu' ? 'Compare with RNN overlays a vanilla RNN of the same size trained the same way, on the same text.' : null]
      .filter((x) => x).join(' ');
  }

  private legendItems(r: ReachView, colourOf: (cv: ReachCurve) => string): HTMLElement[] {
    const seen = new Map<string, ReachCurve>();
    for (const cv of this.curves) seen.set(`${cv.model}:${cv.quantity}:${cv.kind}`, cv);
    return [...seen.values()].map((cv) => {
      const who = cellName(cv.model === 'model' ? r.model.cell : r.compare!.cell) + (cv.model === 'compare' && r.compareLabel ? ` (${r.compareLabel})` : '');
      return legendItem(`${who}: ${cv.kind === 'median' ? 'median over the text, 10–90% band' : `t = ${r.at}`}, ${cv.quantity}`, colourOf(cv), cv.quantity === 'c');
    });
  }

  private draw(chart: LineChart | null, canvas: HTMLCanvasElement, datasets: LineChart['data']['datasets'], axis: 'reach' | 'factor', yTitle: string): LineChart {
    if (chart) {
      chart.data.datasets = datasets;
      chart.update('none');
      return chart;
    }
    const t = this.ui.theme;
    return new Chart<'line', Point[]>(canvas, {
      type: 'line',
      data: { datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, parsing: false, events: [],
        elements: { point: { radius: 0 }, line: { borderWidth: 1.5, tension: 0 } },
        plugins: { legend: { display: false }, tooltip: { enabled: false } },
        scales: {
          x: { type: 'linear', min: 0, max: REACH_K, grid: { color: withAlpha(t.grid, 0.18) }, ticks: { color: t.muted, maxTicksLimit: 11 },
            title: { display: true, text: 'k: characters back from the prediction', color: t.muted, font: { size: 11 } } },
          y: axis === 'reach'
            ? { type: 'logarithmic', min: 1e-16, max: 10, grid: { color: withAlpha(t.grid, 0.18) }, ticks: { color: t.muted, maxTicksLimit: 9, callback: (v) => logTickLabel(Number(v)) },
              title: { display: true, text: yTitle, color: t.muted, font: { size: 11 } } }
            : { type: 'logarithmic', min: 0.1, max: 10, grid: { color: withAlpha(t.grid, 0.18) }, ticks: { color: t.muted, callback: (v) => plainLogTick(Number(v)) },
              title: { display: true, text: yTitle, color: t.muted, font: { size: 11 } } },
        },
      },
    });
  }
}

/** Sets a chart's y range (from data/reach.ts), redrawing only when it changed. */
function setRange(chart: LineChart, range: { readonly min: number; readonly max: number }): void {
  const y = chart.options.scales!['y']!;
  if (y.min === range.min && y.max === range.max) return;
  y.min = range.min;
  y.max = range.max;
  chart.update('none');
}

function legendItem(label: string, colour: string, dashed: boolean): HTMLElement {
  const sw = h('span', { class: `swatch line${dashed ? ' dashed' : ''}`, 'aria-hidden': 'true' });
  sw.style.borderColor = colour;
  return h('span', { class: 'legend-item', role: 'listitem' }, sw, label);
}

function factorLabel(r: ReachView, compare = false): string {
  const f = (compare ? r.compare?.factors : r.model.factors)!;
  return f.kind === 'f' ? 'forget gate f (mean over units)' : f.kind === 'z' ? 'update gate z (mean over units)' : 'σ_max of diag(1 − h²)·W_hh (a bound)';
}

function productLabel(r: ReachView): string {
  const f = r.model.factors!;
  return f.kind === 'sigma' ? '∏ σ_max: a bound on the RNN\'s gradient' : `∏ ${f.kind} of the unit that remembers longest`;
}

/** The seeds' explanation in one sentence, per cell. */
export function explanation(cell: string): string {
  switch (cell) {
    case 'lstm':
      return 'Each step back multiplies the gradient by a factor (the lines above: what each step actually did): below 1 it vanishes, above 1 it explodes. The LSTM\'s cell state is multiplied only by its forget gate f; the units that hold f near 1 carry the gradient far back (∏f of the longest-remembering unit, dotted orange, above), however many others forget.';
    case 'gru':
      return 'Each step back multiplies the gradient by a factor: below 1 it vanishes, above 1 it explodes. The GRU\'s state passes back through its update gate z (h = (1 − z)·n + z·h_prev), which it holds near 1 to remember.';
    default:
      return `Each step back multiplies the gradient by the matrix diag(1 − h²)·W_hh. Its largest singular value σ_max only bounds what a step can do; the blue line shows what each step actually did — mostly below 1, and k factors of 0.5 make ${sci(0.5 ** 50)} after 50 steps: the vanishing gradient the LSTM was invented to avoid.`;
  }
}
