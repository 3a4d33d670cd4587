import type { View, ViewContext } from '../context';
import type { Change } from '../store';
import { formatCount, formatDuration, formatNumber, h } from '../dom';
import { button, card } from './card';
import { Chart, lineDataset, withAlpha } from './charts';
import { layerGradSeries, ratioGrid, RATIO_LOG_MAX, RATIO_LOG_MIN, trainingHints } from '../data/diagnostics';

/** What the training dashboard reads and calls. */
type DashboardContext = Pick<ViewContext, 'history' | 'comparedRun' | 'view' | 'theme' | 'exportPng' | 'exportLossCsv'>;

type Line = Chart<'line', { x: number; y: number }[]>;

/**
 * What the clip ratio is (engine/optim.ts clipGradients): per step, not a share of steps. Clipping by norm scales the
 * whole gradient by min(1, threshold / ‖g‖); clipping by value reports the share of entries left unclipped.
 */
const CLIP_RATIO_HINT = 'clip ratio of the last step: the factor its gradient was multiplied by to keep its global norm under the clipping threshold ' +
  '(gatescope.training.clip), min(1, threshold / grad norm). 1.00 = not clipped; 0.50 = the gradient was twice the threshold and was halved. ' +
  '(With gatescope.training.clipMode "value": the share of gradient entries left unclipped.)';

/** The live training dashboard: numbers, loss and validation loss, gradient norm and clip ratio, samples. */
export class Dashboard implements View {
  readonly el = h('div', { class: 'dashboard' });
  private readonly empty = h('p', { class: 'empty' }, 'No training run is attached to this panel. Train a model (Gatescope: Train LSTM on File) and its progress shows here live.');
  private readonly tiles = h('div', { class: 'tiles', role: 'group', 'aria-label': 'Training numbers' });
  private readonly progress = h('progress', { class: 'run-progress', max: 1, value: 0, 'aria-label': 'Training progress' });
  private readonly state = h('p', { class: 'run-state', role: 'status' });
  private readonly lossCanvas = h('canvas', { id: 'loss-chart', role: 'img', 'aria-label': 'Training and validation loss by step' });
  private readonly gradCanvas = h('canvas', { id: 'gradnorm-chart', role: 'img', 'aria-label': 'Gradient norm (log scale) and clip ratio by step' });
  private readonly samples = h('ol', { class: 'samples', 'aria-label': 'Samples during training, newest first' });
  private readonly ratioCanvas = h('canvas', { id: 'update-ratio-heatmap', role: 'img', 'aria-label': 'Update ratio per tensor and step (log colour scale)' });
  private readonly layerCanvas = h('canvas', { id: 'layer-grad-chart', role: 'img', 'aria-label': 'Gradient norm per layer by step (log scale)' });
  private readonly ratioNote = h('p', { class: 'chart-note' });
  private readonly hints = h('ul', { class: 'hints', 'aria-label': 'What the diagnostics say' });
  private readonly tensorCard: HTMLElement;
  private layers: Line | null = null;
  private readonly body = h('div', { class: 'dash-body' });
  private loss: Line | null = null;
  private grad: Line | null = null;

  constructor(private readonly ui: DashboardContext) {
    const lossCard = card('loss', 'Loss');
    lossCard.subtitle.textContent = 'nats per character';
    lossCard.actions.append(
      button('CSV', 'Save the loss history as CSV', () => void ui.exportLossCsv()),
      button('PNG', 'Save the loss chart as PNG', () => void ui.exportPng('loss', 'Training loss', [this.lossCanvas])));
    lossCard.body.append(h('div', { class: 'chart-wrap chart-h' }, this.lossCanvas));
    const gradCard = card('gradnorm', 'Gradient norm and clipping');
    gradCard.actions.append(button('PNG', 'Save the gradient-norm chart as PNG', () => void ui.exportPng('grad-norm', 'Gradient norm and clip ratio', [this.gradCanvas])));
    gradCard.body.append(h('div', { class: 'chart-wrap chart-h' }, this.gradCanvas));
    const sampleCard = card('samples', 'Samples');
    sampleCard.subtitle.textContent = 'at checkpoints, newest first';
    sampleCard.body.append(this.samples);
    const tensorCard = card('tensors', 'Which weights learn');
    tensorCard.subtitle.textContent = 'update ratio per tensor, gradient norm per layer';
    const scale = h('p', { class: 'chart-note' }, 'Each row is a tensor of the model file, each column a measurement (every --stats-every steps); the colour ' +
      'is the step\'s update ratio ‖Δθ‖/‖θ‖ on a log scale from 1e-7 (dark) to 1e-1 (bright). About 1e-3 is healthy (the rule of thumb of ' +
      'CS231n\'s notes); below 1e-5 a tensor barely learns. The chart under it: each layer\'s gradient norm before clipping.');
    tensorCard.actions.append(button('PNG', 'Save the update-ratio heatmap and the per-layer gradient norms as PNG',
      () => void ui.exportPng('update-ratio', 'Update ratio per tensor and gradient norm per layer', [this.ratioCanvas, this.layerCanvas])));
    tensorCard.body.append(this.hints, scale, h('div', { class: 'chart-wrap' }, this.ratioCanvas), this.ratioNote, h('div', { class: 'chart-wrap chart-h' }, this.layerCanvas));
    this.tensorCard = tensorCard.el;
    this.body.append(h('div', { class: 'run-head' }, this.state, this.progress), this.tiles,
      h('div', { class: 'dash-charts' }, lossCard.el, gradCard.el), this.tensorCard, sampleCard.el);
    this.el.append(this.empty, this.body);
  }

  canvases(): readonly HTMLCanvasElement[] {
    return this.tensorCard.hidden ? [this.lossCanvas, this.gradCanvas] : [this.lossCanvas, this.gradCanvas, this.ratioCanvas, this.layerCanvas];
  }

  update(c: ReadonlySet<Change>): void {
    const hist = this.ui.history;
    this.empty.hidden = !!hist;
    this.body.hidden = !hist;
    if (!hist || this.ui.view.tab !== 'training') return;
    if (c.has('theme')) {
      this.loss?.destroy();
      this.grad?.destroy();
      this.layers?.destroy();
      this.loss = this.grad = this.layers = null;
    }
    if (!(c.has('training') || c.has('theme') || c.has('tab') || c.has('data') || !this.loss)) return;
    const p = hist.latest;
    const tile = (label: string, value: string, hint: string): HTMLElement =>
      h('div', { class: 'tile', title: hint, role: 'group', 'aria-label': `${label}: ${value}. ${hint}` }, h('div', { class: 'tile-label' }, label), h('div', { class: 'tile-value' }, value));
    this.tiles.replaceChildren(
      tile('step', p ? `${formatCount(p.step)} / ${formatCount(p.totalSteps)}` : '–', 'optimisation steps done, of the steps this run makes'),
      tile('epoch', p ? formatCount(p.epoch) : '–', 'completed passes over the training text'),
      tile('loss', p ? formatNumber(p.loss, 3) : '–', 'training loss of the last step: mean cross-entropy of its predictions, nats per character'),
      tile('val loss', p?.valLoss != null ? formatNumber(p.valLoss, 3) : '–', 'validation loss: the same on the held-out end of the text, which the model never trains on'),
      tile('grad norm', p ? formatNumber(p.gradNorm, 3) : '–', 'global gradient norm ‖∂L/∂θ‖ of the last step, before clipping'),
      tile('clip ratio', p ? formatNumber(p.clipRatio, 2) : '–', CLIP_RATIO_HINT),
      tile('chars/s', p ? formatCount(p.charsPerSec) : '–', 'training speed: characters of text trained on per second'),
      tile(hist.finished ? 'finished' : 'ETA', hist.finished ? hist.finished.reason : p ? formatDuration(p.etaSeconds) : '–',
        hist.finished ? 'how the run ended' : 'time left at the current speed'),
    );
    this.progress.value = p && p.totalSteps ? p.step / p.totalSteps : 0;
    const end = hist.finished;
    this.state.textContent = end
      ? end.reason === 'done' ? `${hist.title}: finished.` : end.reason === 'cancelled' ? `${hist.title}: stopped; the last checkpoint was kept.` : `${hist.title}: ${end.message ?? 'failed'}`
      : `${hist.title}: training…`;
    this.state.className = `run-state ${end?.reason ?? 'running'}`;
    this.renderCharts();
    this.renderTensors();
    const shown = hist.samples.slice(-8).reverse();
    this.samples.replaceChildren(...(shown.length ? shown.map((s) => h('li', {}, h('div', { class: 'sample-step' }, `step ${formatCount(s.step)}`), h('pre', { class: 'sample-text' }, s.text)))
      : [h('li', { class: 'hint' }, 'Samples appear at checkpoints.')]));
  }

  /** The per-tensor diagnostics: hints, the update-ratio heatmap (tensors × measurements), per-layer gradient norms. */
  private renderTensors(): void {
    const ui = this.ui, hist = ui.history!;
    const names = hist.tensorNames, rows = hist.tensorRows;
    this.tensorCard.hidden = rows.length === 0;
    if (rows.length === 0) return;
    const hints = trainingHints(names, rows, hist.step, hist.gradNorm, hist.clipRatio, hist.length);
    this.hints.replaceChildren(...(hints.length ? hints.map((x) => h('li', { class: `hint-${x.kind}` }, x.text))
      : [h('li', { class: 'hint' }, 'Every tensor moves: no update ratio below 1e-5, no tenfold jump of the gradient norm.')]));
    // the heatmap: one row per tensor (names on the left), one column per measurement
    const K = names.length, M = rows.length;
    const grid = ratioGrid(rows, K);
    const dpr = globalThis.devicePixelRatio || 1;
    const cssW = Math.max(300, this.ratioCanvas.parentElement?.clientWidth || 600);
    const rowH = 14, labelW = 170, axisH = 18;
    const cssH = K * rowH + axisH;
    const c = this.ratioCanvas;
    c.width = Math.round(cssW * dpr);
    c.height = Math.round(cssH * dpr);
    c.style.width = `${cssW}px`;
    c.style.height = `${cssH}px`;
    const ctx = c.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssW, cssH);
    const lut = ui.theme.luts.sequential;
    const plotW = cssW - labelW - 4;
    const colW = plotW / M;
    for (let k = 0; k < K; k++) {
      for (let m = 0; m < M; m++) {
        const v = grid[k * M + m]!;
        if (Number.isNaN(v)) continue;
        const x = Math.max(0, Math.min(1, (v - RATIO_LOG_MIN) / (RATIO_LOG_MAX - RATIO_LOG_MIN)));
        const i = Math.round(x * 255) * 4;
        ctx.fillStyle = `rgb(${lut[i]},${lut[i + 1]},${lut[i + 2]})`;
        ctx.fillRect(labelW + m * colW, k * rowH, Math.ceil(colW), rowH - 1);
      }
    }
    ctx.fillStyle = ui.theme.fg;
    ctx.font = `11px ${ui.theme.mono}`;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    names.forEach((n, k) => ctx.fillText(n, labelW - 6, k * rowH + rowH / 2, labelW - 8));
    ctx.textAlign = 'left';
    ctx.fillStyle = ui.theme.muted;
    ctx.fillText(`step ${formatCount(rows[0]!.step)}`, labelW, K * rowH + axisH / 2);
    ctx.textAlign = 'right';
    ctx.fillText(`step ${formatCount(rows[M - 1]!.step)}`, cssW - 4, K * rowH + axisH / 2);
    const lastRatios = rows[M - 1]!.update;
    this.ratioNote.textContent = `${M} measurements. Latest update ratios: ` +
      names.map((n, k) => `${n} ${typeof lastRatios[k] === 'number' ? (lastRatios[k] as number).toExponential(1) : '–'}`).join(', ') + '.';
    this.ratioCanvas.setAttribute('aria-label', `Update ratio per tensor (${K}) and measurement (${M}), log colour scale 1e-7 to 1e-1. ${this.ratioNote.textContent}`);
    // per-layer gradient norms
    const s = ui.theme.series;
    const series = layerGradSeries(names, rows);
    const data = series.map((x, i) => lineDataset(x.label, x.points, s[i % s.length]!));
    const gridColour = withAlpha(ui.theme.grid, 0.18);
    if (!this.layers) {
      this.layers = new Chart(this.layerCanvas, {
        type: 'line', data: { datasets: data },
        options: {
          animation: false, responsive: true, maintainAspectRatio: false, parsing: false, normalized: true, elements: { point: { radius: 0 } },
          plugins: { legend: { display: true, position: 'top', align: 'end', labels: { boxWidth: 14, boxHeight: 2 } } },
          scales: { x: { type: 'linear', title: { display: true, text: 'step' }, grid: { color: gridColour } },
            y: { type: 'logarithmic', title: { display: true, text: 'grad norm before clipping' }, grid: { color: gridColour } } },
        },
      }) as unknown as Line;
    } else {
      this.layers.data.datasets = data;
      this.layers.update('none');
    }
  }

  private renderCharts(): void {
    const ui = this.ui, hist = ui.history!, s = ui.theme.series;
    // the step axis spans the whole run from the start, so the curves grow into it instead of rescaling
    const xMax = hist.latest?.totalSteps || undefined;
    const grid = withAlpha(ui.theme.grid, 0.18);
    const base = {
      animation: false as const, responsive: true, maintainAspectRatio: false, parsing: false as const, normalized: true,
      elements: { point: { radius: 0 } },
      interaction: { mode: 'index' as const, intersect: false },
      plugins: { legend: { display: true, position: 'top' as const, align: 'end' as const, labels: { boxWidth: 14, boxHeight: 2 } } },
    };
    const lossData = [lineDataset('loss', hist.points('loss'), s[0]!), { ...lineDataset('val loss', hist.points('valLoss'), s[1]!, false, 2), pointRadius: 2 }];
    if (!this.loss) {
      this.loss = new Chart(this.lossCanvas, {
        type: 'line', data: { datasets: lossData },
        options: { ...base, scales: { x: { type: 'linear', min: 0, max: xMax, title: { display: true, text: 'step' }, grid: { color: grid } },
          y: { type: 'linear', title: { display: true, text: 'loss (nats per character)' }, grid: { color: grid } } } },
      }) as unknown as Line;
    } else {
      this.loss.options.scales!['x']!.max = xMax;
      this.loss.data.datasets = lossData;
      this.loss.update('none');
    }
    const other = ui.comparedRun;
    const gradData = [lineDataset(other ? `grad norm: ${hist.title}` : 'grad norm', hist.points('gradNorm'), s[2]!),
      { ...lineDataset('clip ratio', hist.points('clipRatio'), s[3]!, true, 1.2), yAxisID: 'y1' },
      // the run compared with this one (the explosion's unclipped run beside the clipped one): its norm before clipping
      ...(other ? [lineDataset(`grad norm: ${other.title}`, other.points('gradNorm'), s[5 % s.length]!, true, 1.6)] : [])];
    this.gradCanvas.setAttribute('aria-label', `Gradient norm (log scale) and clip ratio by step${other ? `, with the gradient norm of ${other.title} beside it` : ''}`);
    if (!this.grad) {
      this.grad = new Chart(this.gradCanvas, {
        type: 'line', data: { datasets: gradData },
        options: {
          ...base,
          scales: {
            x: { type: 'linear', min: 0, max: xMax, title: { display: true, text: 'step' }, grid: { color: grid } },
            y: { type: 'logarithmic', title: { display: true, text: 'grad norm' }, grid: { color: grid } },
            y1: { type: 'linear', position: 'right', min: 0, max: 1.05, title: { display: true, text: 'clip ratio (1 = not clipped)' }, grid: { display: false } },
          },
        },
      }) as unknown as Line;
    } else {
      this.grad.options.scales!['x']!.max = xMax;
      this.grad.data.datasets = gradData;
      this.grad.update('none');
    }
  }
}
