import { displayChar } from '../../src/protocol/traceQuery';
import type { App, Change, View } from '../app';
import { unitSeries } from '../data/series';
import { formatCount, formatNumber, h } from '../dom';
import { button, card } from './card';
import { lineDataset, PLOT_LEFT, PLOT_RIGHT } from './charts';
import { TimeChart } from './timeChart';

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

  constructor(private readonly app: App) {
    const c = card('trajectories', 'Cell-state trajectories');
    this.el = c.el;
    this.titleEl = c.title;
    this.showH = h('input', { type: 'checkbox', id: 'traj-h', checked: true });
    this.showH.addEventListener('change', () => this.update(new Set(['units'])));
    this.chart = new TimeChart(app, 'trajectories-chart', false, 'value', (t) => this.tip(t));
    c.actions.append(h('label', { class: 'check', for: 'traj-h' }, this.showH, 'h dashed'),
      button('PNG', 'Save the trajectories as PNG', () => void app.exportPng('trajectories', this.titleEl.textContent ?? '', [this.chart.canvas])));
    c.body.append(this.chips, this.chart.el);
  }

  canvases(): readonly HTMLCanvasElement[] {
    return [this.chart.canvas];
  }

  update(c: ReadonlySet<Change>): void {
    const app = this.app;
    if (!app.trace || app.view.tab !== 'inspect') return;
    if (c.has('theme')) this.chart.retheme();
    const hasC = !!app.values('c');
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
    const app = this.app;
    const chips = app.view.units.map((u) => {
      const sw = h('span', { class: 'swatch', 'aria-hidden': 'true' });
      sw.style.background = app.unitColour(u);
      const pick = h('button', { type: 'button', class: `chip-btn${u === app.view.unit ? ' current' : ''}`, 'aria-label': `Select unit ${u}` }, sw, `unit ${u}`);
      pick.addEventListener('click', () => app.selectUnit(u));
      const remove = h('button', { type: 'button', class: 'chip-x', 'aria-label': `Remove unit ${u} from the plot`, title: 'Remove' }, '×');
      remove.addEventListener('click', () => app.togglePlotted(u));
      return h('span', { class: 'chip-item', role: 'listitem' }, pick, remove);
    });
    if (!chips.length) chips.push(h('span', { class: 'hint' }, 'Click a heatmap row or a unit-search result to plot a unit.'));
    this.chips.replaceChildren(...chips);
  }

  private renderData(): void {
    const app = this.app;
    const w = app.window;
    const buckets = Math.max(50, (this.chart.canvas.clientWidth || 800) - PLOT_LEFT - PLOT_RIGHT);
    const cs = app.values('c'), hs = app.values('h')!;
    const ds = [];
    for (const u of app.view.units) {
      const colour = app.unitColour(u);
      if (cs) ds.push(lineDataset(`c unit ${u}`, unitSeries(cs, app.H, u, w, { buckets }), colour, false, 1.6));
      if (!cs || this.showH.checked) ds.push(lineDataset(`h unit ${u}`, unitSeries(hs, app.H, u, w, { buckets }), colour, !!cs, cs ? 1 : 1.6));
    }
    this.chart.canvas.setAttribute('aria-label', `${cs ? 'Cell state c and hidden state h' : 'Hidden state h'} of units ${app.view.units.join(', ') || 'none'} ` +
      `in layer ${app.view.layer}, timesteps ${w.start} to ${w.end - 1}`);
    this.chart.show(ds);
  }

  private tip(t: number): Node | null {
    const app = this.app;
    if (!app.view.units.length) return null;
    const cs = app.values('c'), hs = app.values('h')!;
    return h('div', { class: 'details compact' },
      h('div', { class: 'd-head' }, h('span', { class: 'd-char' }, displayChar(app.chars[t] ?? '')), h('span', { class: 'd-t' }, `t = ${formatCount(t)}`)),
      ...app.view.units.map((u) => {
        const sw = h('span', { class: 'swatch' });
        sw.style.background = app.unitColour(u);
        return h('div', { class: 'd-row' }, sw, h('span', { class: 'd-q' }, `u${u}`),
          h('span', { class: 'd-v' }, cs ? `c ${formatNumber(cs[t * app.H + u]!, 2)}  h ${formatNumber(hs[t * app.H + u]!, 2)}` : `h ${formatNumber(hs[t * app.H + u]!, 2)}`));
      }));
  }
}
