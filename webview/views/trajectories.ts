import { displayChar } from '../../src/protocol/traceQuery';
import type { View, ViewContext } from '../context';
import type { Change } from '../store';
import { unitSeries } from '../data/series';
import { formatCount, formatNumber, h } from '../dom';
import { button, card } from './card';
import { lineDataset, PLOT_LEFT, PLOT_RIGHT } from './charts';
import { TimeChart, type TimeChartContext } from './timeChart';

/** What the trajectory chart reads and calls. */
type TrajectoryContext = TimeChartContext & Pick<ViewContext, 'trace' | 'H' | 'chars' | 'view' | 'window' | 'values' | 'unitColour' | 'selectUnit' | 'togglePlotted'
  | 'exportPng'>;

/**
 * c_t (solid) and h_t (dashed) of the chosen units over the time window: the cell state as a conveyor belt.
 * Units are added by clicking heatmap rows, from the unit search, or with "+ plot"; chips remove them.
 */
export class TrajectoryChart implements View {
  readonly el: HTMLElement;
  private readonly chips = h('div', { class: 'chips', role: 'list', 'aria-label': 'Plotted units' });
  private readonly chart: TimeChart;
  private readonly showH: HTMLInputElement;
  private readonly titleEl: HTMLElement;

  constructor(private readonly ui: TrajectoryContext) {
    const c = card('trajectories', 'Cell-state trajectories');
    this.el = c.el;
    this.titleEl = c.title;
    this.showH = h('input', { type: 'checkbox', id: 'traj-h', checked: true });
    this.showH.addEventListener('change', () => this.update(new Set(['units'])));
    this.chart = new TimeChart(ui, 'trajectories-chart', false, () => (ui.values('c') ? 'c (solid), h (dashed)' : 'h, the hidden state'), (t) => this.tip(t));
    c.actions.append(h('label', { class: 'check', for: 'traj-h' }, this.showH, 'h dashed'),
      button('PNG', 'Save the trajectories as PNG', () => void ui.exportPng('trajectories', this.titleEl.textContent ?? '', [this.chart.canvas])));
    c.body.append(this.chips, this.chart.el);
  }

  canvases(): readonly HTMLCanvasElement[] {
    return [this.chart.canvas];
  }

  update(c: ReadonlySet<Change>): void {
    const ui = this.ui;
    if (!ui.trace || ui.view.tab !== 'inspect') return;
    if (c.has('theme')) this.chart.retheme();
    const hasC = !!ui.values('c');
    this.titleEl.textContent = hasC ? 'Cell-state trajectories' : 'Hidden-state trajectories';
    (this.showH.parentElement as HTMLElement).hidden = !hasC;
    if (c.has('data') || c.has('theme') || c.has('layer') || c.has('units') || c.has('window') || c.has('size') || c.has('tab') || !this.chart.chart) {
      this.renderChips();
      this.renderData();
    } else if (c.has('unit')) {
      this.renderChips();
    }
    if (c.has('cursor') || c.has('selection')) this.chart.paintOverlay();
  }

  private renderChips(): void {
    const ui = this.ui;
    const chips = ui.view.units.map((u) => {
      const sw = h('span', { class: 'swatch', 'aria-hidden': 'true' });
      sw.style.background = ui.unitColour(u);
      const pick = h('button', { type: 'button', class: `chip-btn${u === ui.view.unit ? ' current' : ''}`, 'aria-label': `Select unit ${u}` }, sw, `unit ${u}`);
      pick.addEventListener('click', () => ui.selectUnit(u));
      const remove = h('button', { type: 'button', class: 'chip-x', 'aria-label': `Remove unit ${u} from the plot`, title: 'Remove' }, '×');
      remove.addEventListener('click', () => ui.togglePlotted(u));
      return h('span', { class: 'chip-item', role: 'listitem' }, pick, remove);
    });
    if (!chips.length) chips.push(h('span', { class: 'hint' }, 'Click a heatmap row or a unit-search result to plot a unit.'));
    this.chips.replaceChildren(...chips);
  }

  private renderData(): void {
    const ui = this.ui;
    const w = ui.window;
    const buckets = Math.max(50, (this.chart.canvas.clientWidth || 800) - PLOT_LEFT - PLOT_RIGHT);
    const cs = ui.values('c'), hs = ui.values('h')!;
    const ds = [];
    for (const u of ui.view.units) {
      const colour = ui.unitColour(u);
      if (cs) ds.push(lineDataset(`c unit ${u}`, unitSeries(cs, ui.H, u, w, { buckets }), colour, false, 1.6));
      if (!cs || this.showH.checked) ds.push(lineDataset(`h unit ${u}`, unitSeries(hs, ui.H, u, w, { buckets }), colour, !!cs, cs ? 1 : 1.6));
    }
    this.chart.canvas.setAttribute('aria-label', `${cs ? 'Cell state c and hidden state h' : 'Hidden state h'} of units ${ui.view.units.join(', ') || 'none'} ` +
      `in layer ${ui.view.layer}, timesteps ${w.start} to ${w.end - 1}`);
    this.chart.show(ds);
  }

  private tip(t: number): Node | null {
    const ui = this.ui;
    if (!ui.view.units.length) return null;
    const cs = ui.values('c'), hs = ui.values('h')!;
    return h('div', { class: 'details compact' },
      h('div', { class: 'd-head' }, h('span', { class: 'd-char' }, displayChar(ui.chars[t] ?? '')), h('span', { class: 'd-t' }, `t = ${formatCount(t)}`)),
      ...ui.view.units.map((u) => {
        const sw = h('span', { class: 'swatch' });
        sw.style.background = ui.unitColour(u);
        return h('div', { class: 'd-row' }, sw, h('span', { class: 'd-q wide' }, `unit ${u}`),
          h('span', { class: 'd-v' }, cs ? `c ${formatNumber(cs[t * ui.H + u]!, 2)}  h ${formatNumber(hs[t * ui.H + u]!, 2)}` : `h ${formatNumber(hs[t * ui.H + u]!, 2)}`));
      }));
  }
}
