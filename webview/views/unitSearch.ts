import { QUANTITY_NAMES } from '../../src/protocol/webview';
import type { App, Change, View } from '../app';
import { formatCount, h } from '../dom';
import { card } from './card';

/**
 * Unit search: select a range of text (drag in the strip or a heatmap, Shift+arrows, or select in the editor),
 * and units are ranked by how selectively they turn on there (data/search.ts). Click a result to select and
 * plot it.
 */
export class UnitSearch implements View {
  readonly el: HTMLElement;
  private readonly range = h('p', { class: 'search-range' });
  private readonly results = h('ol', { class: 'results', 'aria-label': 'Units ranked by selectivity' });
  private readonly threshold = h('input', { type: 'range', id: 'threshold', min: 0.05, max: 0.95, step: 0.05, 'aria-describedby': 'threshold-help' });
  private readonly thresholdValue = h('output', { for: 'threshold', class: 'threshold-value' });
  private readonly help = h('p', { class: 'hint', id: 'threshold-help' });
  private readonly legend = h('div', { class: 'results-legend', 'aria-hidden': 'true' },
    h('span', {}, 'unit'), h('span', { class: 'key inside' }, 'on inside'), h('span', { class: 'key outside' }, 'on outside'), h('span', {}, 'score'));

  constructor(private readonly app: App) {
    const c = card('search', 'Unit search');
    this.el = c.el;
    this.threshold.addEventListener('input', () => app.setView({ threshold: Number(this.threshold.value) }, 'threshold'));
    c.body.append(this.range,
      h('div', { class: 'threshold' }, h('label', { for: 'threshold', class: 'field-label' }, 'Threshold'), this.threshold, this.thresholdValue),
      this.help, this.legend, this.results);
  }

  update(c: ReadonlySet<Change>): void {
    const app = this.app;
    if (!app.trace) return;
    if (!(c.has('data') || c.has('selection') || c.has('threshold') || c.has('quantity') || c.has('layer') || c.has('unit') || c.has('units'))) return;
    this.threshold.value = String(app.view.threshold);
    this.thresholdValue.textContent = app.view.threshold.toFixed(2);
    const q = app.view.quantity;
    const scaleNote = q === 'c' ? 'tanh(c)' : ['i', 'f', 'o', 'r', 'z'].includes(q) ? `2${q} − 1` : q;
    this.help.textContent = `A unit is on where |${scaleNote}| > threshold; ranked by (on inside) − (on outside), using ${q} (${QUANTITY_NAMES[q]}) of layer ${app.view.layer}.`;
    const sel = app.view.selection;
    this.legend.hidden = !sel || !app.search.length;
    if (!sel) {
      this.range.replaceChildren(h('span', { class: 'hint' }, 'Drag over the text (or Shift+arrows, or select in the editor) to find units that respond there.'));
      this.results.replaceChildren();
      return;
    }
    const snippet = app.chars.slice(sel.start, Math.min(sel.end, sel.start + 40)).join('').replace(/\n/g, '↵');
    const clear = h('button', { type: 'button', class: 'btn-ghost', 'aria-label': 'Clear the selection' }, 'Clear');
    clear.addEventListener('click', () => app.setSelection(null));
    this.range.replaceChildren(h('span', { class: 'mono snippet' }, `“${snippet}${sel.end - sel.start > 40 ? '…' : ''}”`),
      h('span', { class: 'hint' }, ` t ${formatCount(sel.start)}–${formatCount(sel.end - 1)}`), clear);
    if (!app.search.length) {
      this.results.replaceChildren(h('li', { class: 'hint' }, 'No unit is more on inside than outside at this threshold.'));
      return;
    }
    this.results.replaceChildren(...app.search.slice(0, 12).map((m) => {
      const bar = (frac: number, cls: string): HTMLElement => {
        const b = h('span', { class: `mini-bar ${cls}` }, h('span', {}));
        (b.firstElementChild as HTMLElement).style.width = `${Math.round(frac * 100)}%`;
        return b;
      };
      const btn = h('button', { type: 'button', class: `result${m.unit === app.view.unit ? ' current' : ''}`,
        'aria-label': `Unit ${m.unit}, ${m.sign > 0 ? 'positive' : 'negative'}, on ${Math.round(m.inside * 100)}% inside and ${Math.round(m.outside * 100)}% outside; select and plot` },
      h('span', { class: 'r-unit' }, `u${m.unit}`),
      h('span', { class: `r-sign ${m.sign > 0 ? 'pos' : 'neg'}` }, m.sign > 0 ? '+' : '−'),
      h('span', { class: 'r-bars' }, bar(m.inside, 'inside'), bar(m.outside, 'outside')),
      h('span', { class: 'r-score' }, m.score.toFixed(2)));
      btn.addEventListener('click', () => app.selectUnit(m.unit, true));
      return h('li', {}, btn);
    }));
  }
}
