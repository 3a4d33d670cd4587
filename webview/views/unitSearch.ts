import { BUILTIN_FEATURES, LANGS, searchQuantities, type Lang, type UnitCorrelation, type UnitRef, type UnitsView } from '../../src/protocol/units';
import { QUANTITY_NAMES, SEARCH_MODES, type SearchMode, type SearchState } from '../../src/protocol/webview';
import type { View, ViewContext } from '../context';
import type { Change } from '../store';
import { scatterPoints } from '../data/featureSearch';
import { formatCount, h, sizeCanvas } from '../dom';
import { card } from './card';

/** What the unit search reads and calls. */
type UnitSearchContext = Pick<ViewContext, 'trace' | 'T' | 'chars' | 'view' | 'theme' | 'search' | 'featureSearch' | 'searchMessage' | 'setSearch'
  | 'setView' | 'setSelection' | 'selectUnit' | 'addSearchRange' | 'pickSearchResult'>;

const MODE_LABELS: Readonly<Record<SearchMode, string>> = { feature: 'Feature', regex: 'Regex', ranges: 'Ranges', threshold: 'Threshold' };

const FEATURE_HELP: Readonly<Record<(typeof BUILTIN_FEATURES)[number], string>> = {
  column: 'characters since the last line break (0 at a line’s first character)',
  'line-length': 'length of the line the character is on',
  indent: 'leading spaces and tabs of the line',
  depth: 'unclosed ( [ { after the character, outside strings and comments',
  string: '1 inside string literals, quotes included',
  comment: '1 inside comments, markers included',
};

const SCATTER_H = 150;

/**
 * Unit search: which units respond to something in the text? Four ways to say what — a built-in feature (column,
 * line length, indent, bracket depth, strings, comments), a regex (its matches highlighted in the text strip as it
 * is typed), several ranges of the text (select, Add), each ranked by Pearson r over the trace for every layer,
 * unit and quantity (tanh(c) too); and LSTMVis's threshold search on the selected range. A result's click selects
 * the unit (the text is coloured by it, its trajectory plotted); the scatter shows its value against the feature.
 */
export class UnitSearch implements View {
  readonly el: HTMLElement;
  /** The scatter last drawn (for the snapshot). */
  scatterDrawn: (UnitRef & { points: number }) | null = null;
  private readonly modeButtons = new Map<SearchMode, HTMLButtonElement>();
  private readonly featurePane = h('div', { class: 'search-pane', id: 'search-feature' });
  private readonly regexPane = h('div', { class: 'search-pane', id: 'search-regex' });
  private readonly rangesPane = h('div', { class: 'search-pane', id: 'search-ranges' });
  private readonly thresholdPane = h('div', { class: 'search-pane', id: 'search-threshold' });
  private readonly feature = h('select', { id: 'search-feature-select', 'aria-label': 'Feature' });
  private readonly featureHelp = h('p', { class: 'hint' });
  private readonly lang = h('select', { id: 'search-lang', 'aria-label': 'Language of strings and comments' });
  private readonly langField: HTMLElement;
  private readonly regex = h('input', { type: 'text', id: 'search-regex-input', class: 'regex-input', spellcheck: 'false', autocomplete: 'off',
    placeholder: 'e.g.  "[^"\\n]*"   or   def \\w+', 'aria-label': 'Regular expression (JavaScript syntax, flags g, m, u)' });
  private readonly regexCount = h('span', { class: 'hint match-count', 'aria-live': 'polite' });
  private readonly rangeList = h('ul', { class: 'range-list', 'aria-label': 'Ranges searched' });
  private readonly pending = h('div', { class: 'search-range' });
  private readonly quantity = h('select', { id: 'search-quantity', 'aria-label': 'Quantities searched' });
  private readonly layer = h('select', { id: 'search-layer', 'aria-label': 'Layers searched' });
  private readonly scope: HTMLElement;
  private readonly message = h('p', { class: 'hint search-message', role: 'status' });
  private readonly results = h('ol', { class: 'results', id: 'feature-results', 'aria-label': 'Units ranked by |r| against the feature' });
  private readonly footnote = h('p', { class: 'chart-note' });
  private readonly scatterCaption = h('p', { class: 'scatter-caption' });
  private readonly scatter = h('canvas', { id: 'search-scatter', role: 'img' });
  private readonly scatterWrap: HTMLElement;
  // the threshold search
  private readonly range = h('p', { class: 'search-range' });
  private readonly thresholdResults = h('ol', { class: 'results', 'aria-label': 'Units ranked by selectivity' });
  private readonly threshold = h('input', { type: 'range', id: 'threshold', min: 0.05, max: 0.95, step: 0.05, 'aria-describedby': 'threshold-help' });
  private readonly thresholdValue = h('output', { for: 'threshold', class: 'threshold-value' });
  private readonly help = h('p', { class: 'hint', id: 'threshold-help' });
  private readonly legend = h('div', { class: 'results-legend', 'aria-hidden': 'true' },
    h('span', { title: 'the unit, and the sign it is on with: + above +threshold, − below −threshold' }, 'unit ±'),
    h('span', { class: 'key inside', title: 'the share of the selected characters where the unit is on' }, 'on inside'),
    h('span', { class: 'key outside', title: 'the share of the other characters where it is on' }, 'on outside'),
    h('span', { title: 'score = on inside − on outside: 1 means on exactly in the selection' }, 'score'));
  /** The feature results' column heads. */
  private readonly resultsHead = h('div', { class: 'results-legend', 'aria-hidden': 'true' },
    h('span', { title: 'layer L and unit u' }, 'unit'), h('span', { title: 'the quantity of the unit that was compared: a gate, c, tanh(c) or h' }, 'quantity'),
    h('span', { title: 'Pearson r between the unit\'s value and the feature over every character: + the unit rises with the feature (is higher inside), − it falls (is lower inside); |r| near 1: it follows it closely' }, 'r (+ rises with it, − falls)'));

  constructor(private readonly ui: UnitSearchContext) {
    const c = card('search', 'Unit search');
    this.el = c.el;
    c.subtitle.textContent = 'which units follow something in the text';
    const tabs = h('div', { class: 'seg', role: 'tablist', 'aria-label': 'Search by' });
    for (const mode of SEARCH_MODES) {
      const b = h('button', { type: 'button', class: 'seg-btn', role: 'tab', id: `search-mode-${mode}`, 'aria-controls': `search-${mode}` }, MODE_LABELS[mode]);
      b.addEventListener('click', () => ui.setSearch({ mode }));
      this.modeButtons.set(mode, b);
      tabs.append(b);
    }
    const field = (label: string, control: HTMLElement): HTMLElement => h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), control);

    this.feature.append(...BUILTIN_FEATURES.map((f) => h('option', { value: f }, f)));
    this.feature.addEventListener('change', () => ui.setSearch({ feature: this.feature.value as SearchState['feature'] }));
    this.lang.append(h('option', { value: 'auto' }, 'from the file name'), ...LANGS.map((l) => h('option', { value: l }, l)));
    this.lang.addEventListener('change', () => ui.setSearch({ lang: this.lang.value === 'auto' ? null : this.lang.value as Lang }));
    this.langField = field('Language', this.lang);
    this.featurePane.append(h('div', { class: 'search-row' }, field('Feature', this.feature), this.langField), this.featureHelp);

    this.regex.addEventListener('input', () => ui.setSearch({ regex: this.regex.value }));
    this.regexPane.append(h('div', { class: 'search-row' }, this.regex), this.regexCount);

    this.rangesPane.append(this.rangeList, this.pending);

    this.threshold.addEventListener('input', () => ui.setView({ threshold: Number(this.threshold.value) }, 'threshold'));
    this.thresholdPane.append(this.range,
      h('div', { class: 'threshold' }, h('label', { for: 'threshold', class: 'field-label' }, 'Threshold'), this.threshold, this.thresholdValue),
      this.help, this.legend, this.thresholdResults);

    this.quantity.addEventListener('change', () => ui.setSearch({ quantity: this.quantity.value as SearchState['quantity'] }));
    this.layer.addEventListener('change', () => ui.setSearch({ layer: this.layer.value === 'all' ? null : Number(this.layer.value) }));
    this.scope = h('div', { class: 'search-row search-scope' }, field('Search', this.quantity), field('Layer', this.layer));
    this.scatterWrap = h('div', { class: 'scatter' }, this.scatterCaption, this.scatter);
    c.body.append(tabs, this.featurePane, this.regexPane, this.rangesPane, this.thresholdPane, this.scope, this.message, this.resultsHead, this.results,
      this.scatterWrap, this.footnote);
  }

  canvases(): readonly HTMLCanvasElement[] {
    return [this.scatter];
  }

  update(c: ReadonlySet<Change>): void {
    const ui = this.ui;
    const tr = ui.trace;
    if (!tr) return;
    if (c.has('data')) this.fillScopes();
    const s = ui.view.search;
    if (c.has('data') || c.has('search')) {
      for (const [mode, b] of this.modeButtons) {
        b.setAttribute('aria-selected', String(mode === s.mode));
        b.tabIndex = mode === s.mode ? 0 : -1;
      }
      this.featurePane.hidden = s.mode !== 'feature';
      this.regexPane.hidden = s.mode !== 'regex';
      this.rangesPane.hidden = s.mode !== 'ranges';
      this.thresholdPane.hidden = s.mode !== 'threshold';
      this.scope.hidden = s.mode === 'threshold';
      this.feature.value = s.feature;
      this.lang.value = s.lang ?? 'auto';
      this.langField.hidden = !(s.feature === 'depth' || s.feature === 'string' || s.feature === 'comment');
      this.featureHelp.textContent = FEATURE_HELP[s.feature];
      if (this.regex.value !== s.regex) this.regex.value = s.regex;
      this.quantity.value = s.quantity;
      this.layer.value = s.layer === null ? 'all' : String(s.layer);
    }
    if (s.mode === 'threshold') {
      this.results.hidden = this.scatterWrap.hidden = this.footnote.hidden = this.resultsHead.hidden = true;
      this.message.hidden = true;
      this.updateThreshold(c);
      return;
    }
    if (c.has('data') || c.has('search') || c.has('selection')) this.renderRanges();
    if (c.has('data') || c.has('search') || c.has('selection') || c.has('unit') || c.has('layer') || c.has('quantity') || c.has('theme') || c.has('size') || c.has('tab')) {
      this.renderResults();
    }
  }

  private fillScopes(): void {
    const tr = this.ui.trace!;
    const qs = searchQuantities(tr.cell);
    this.quantity.replaceChildren(h('option', { value: 'all' }, 'all quantities'),
      ...qs.map((q) => h('option', { value: q }, q === 'tanh(c)' ? 'tanh(c) · what o reads' : `${q} · ${QUANTITY_NAMES[q]}`)));
    this.layer.replaceChildren(h('option', { value: 'all' }, tr.layers.length > 1 ? 'all layers' : 'layer 0'),
      ...(tr.layers.length > 1 ? tr.layers.map((_, k) => h('option', { value: k }, `layer ${k}`)) : []));
  }

  private renderRanges(): void {
    const ui = this.ui;
    const s = ui.view.search;
    if (s.mode !== 'ranges') return;
    const snippet = (a: number, b: number): string => ui.chars.slice(a, Math.min(b, a + 24)).join('').replace(/\n/g, '↵') + (b - a > 24 ? '…' : '');
    this.rangeList.replaceChildren(...s.ranges.map((r, k) => {
      const x = h('button', { type: 'button', class: 'chip-x', 'aria-label': `Remove the range t ${r.start}–${r.end - 1}` }, '×');
      x.addEventListener('click', () => ui.setSearch({ ranges: s.ranges.filter((_, j) => j !== k) }));
      return h('li', { class: 'chip-item range-chip' },
        h('span', { class: 'chip-btn' }, h('span', { class: 'mono snippet' }, `“${snippet(r.start, r.end)}”`), h('span', { class: 'hint' }, `t ${formatCount(r.start)}–${formatCount(r.end - 1)}`)), x);
    }));
    const sel = ui.view.selection;
    if (sel) {
      const add = h('button', { type: 'button', class: 'btn-secondary', 'aria-label': 'Add the selected range to the search' }, 'Add');
      add.addEventListener('click', () => ui.addSearchRange());
      this.pending.replaceChildren(h('span', { class: 'hint' }, 'Selected (searched with the ranges):'),
        h('span', { class: 'mono snippet' }, `“${snippet(sel.start, sel.end)}”`), add);
    } else {
      const clear = h('button', { type: 'button', class: 'btn-ghost', 'aria-label': 'Remove every range' }, 'Clear all');
      clear.addEventListener('click', () => ui.setSearch({ ranges: [] }));
      this.pending.replaceChildren(h('span', { class: 'hint' }, s.ranges.length
        ? 'Select more text (drag in the strip, Shift+arrows, or in the editor) and Add it.'
        : 'Select text (drag in the strip, Shift+arrows, or in the editor): units are ranked by how they follow it. Add keeps it; select more.'),
      ...(s.ranges.length ? [clear] : []));
    }
  }

  private renderResults(): void {
    const ui = this.ui;
    const f = ui.featureSearch;
    const res = f.searching ? null : f.result;
    const s = ui.view.search;
    const message = ui.searchMessage();
    this.regexCount.textContent = s.mode === 'regex' && res?.matches != null ? `${formatCount(res.matches)} of ${formatCount(ui.T)} characters match` : '';
    this.regex.classList.toggle('invalid', s.mode === 'regex' && !!res && !res.x);
    this.regex.setAttribute('aria-invalid', String(s.mode === 'regex' && !!res && !res.x));
    this.message.hidden = !message;
    this.message.textContent = message ?? '';
    this.message.classList.toggle('error', !!f.error || (!!res?.message));
    const units = res?.units ?? [];
    this.results.hidden = this.footnote.hidden = this.resultsHead.hidden = !units.length;
    const shown = res?.scatter ?? null;
    const isShown = (u: UnitCorrelation): boolean => !!shown && u.layer === shown.layer && u.unit === shown.unit && u.quantity === shown.quantity;
    this.results.replaceChildren(...units.slice(0, 12).map((u) => this.resultRow(u, res!.binary, isShown(u))));
    const layers = s.layer === null ? ui.trace!.layers.length : 1;
    this.footnote.textContent = res && units.length
      ? `Pearson r of ${res.feature} with ${formatCount(res.searched - res.constant)} units × quantities (${layers} layer${layers > 1 ? 's' : ''}) over ${formatCount(ui.T)} characters${res.constant ? `; ${formatCount(res.constant)} never change (left out)` : ''}. Click a unit to colour the text by it and plot it.`
      : '';
    this.drawScatter(res);
  }

  private resultRow(u: UnitCorrelation, binary: boolean, current: boolean): HTMLElement {
    const ui = this.ui;
    const bar = h('span', { class: `r-bar ${u.r >= 0 ? 'pos' : 'neg'}` }, h('span', {}));
    (bar.firstElementChild as HTMLElement).style.width = `${Math.round(Math.abs(u.r) * 100)}%`;
    const means = binary && u.meanIn !== undefined && u.meanOut !== undefined ? `, mean ${u.meanIn.toFixed(2)} inside and ${u.meanOut.toFixed(2)} outside` : '';
    const btn = h('button', {
      type: 'button', class: `result feature-result${current ? ' current' : ''}`,
      'aria-label': `Layer ${u.layer}, unit ${u.unit}, ${u.quantity}: r = ${u.r.toFixed(2)}${means}; colour the text by it and plot it`,
      title: binary && u.meanIn !== undefined ? `mean inside ${u.meanIn.toFixed(3)} · outside ${u.meanOut!.toFixed(3)}` : `r = ${u.r.toFixed(4)}`,
    },
    h('span', { class: 'r-unit' }, `L${u.layer} u${u.unit}`),
    h('span', { class: 'r-q mono' }, u.quantity),
    bar,
    h('span', { class: 'r-score', title: `Pearson r = ${u.r.toFixed(3)}: the unit ${u.r >= 0 ? 'rises' : 'falls'} as the feature rises${binary ? ' (is higher inside than outside)' : ''}` },
      `${u.r >= 0 ? '+' : '−'}${Math.abs(u.r).toFixed(2)}`));
    btn.addEventListener('click', () => ui.pickSearchResult(u));
    return h('li', {}, btn);
  }

  private drawScatter(res: UnitsView | null): void {
    const ui = this.ui;
    const u = res?.scatter && res.units.find((v) => v.layer === res.scatter!.layer && v.unit === res.scatter!.unit && v.quantity === res.scatter!.quantity);
    this.scatterWrap.hidden = !u;
    const width = this.scatterWrap.clientWidth || this.el.clientWidth - 24;
    if (!res?.x || !res.scatter || !u || width <= 0) {
      this.scatterDrawn = null;
      return;
    }
    const binary = res.binary;
    const p = scatterPoints(res.x, res.scatter.values, binary);
    const ctx = sizeCanvas(this.scatter, width, SCATTER_H);
    const th = ui.theme;
    const left = 40, right = 8, top = 6, bottom = 26;
    const W = width - left - right, Hh = SCATTER_H - top - bottom;
    const sx = (v: number): number => left + ((v - p.xLo) / (p.xHi - p.xLo)) * W;
    const sy = (v: number): number => top + (1 - (v - p.yLo) / (p.yHi - p.yLo)) * Hh;
    ctx.clearRect(0, 0, width, SCATTER_H);
    ctx.strokeStyle = th.grid;
    ctx.lineWidth = 1;
    ctx.strokeRect(left + 0.5, top + 0.5, W, Hh);
    if (p.yLo < 0 && p.yHi > 0) {
      ctx.beginPath();
      ctx.moveTo(left, Math.round(sy(0)) + 0.5);
      ctx.lineTo(left + W, Math.round(sy(0)) + 0.5);
      ctx.stroke();
    }
    ctx.fillStyle = th.series[0]!;
    ctx.globalAlpha = p.x.length > 2000 ? 0.22 : 0.45;
    for (let k = 0; k < p.x.length; k++) ctx.fillRect(sx(p.x[k]!) - 1, sy(p.y[k]!) - 1, 2.2, 2.2);
    ctx.globalAlpha = 1;
    // the mean at each feature value: what r summarises
    ctx.strokeStyle = th.fg;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    // a graded feature: the curve of the means; a 0/1 feature: the two means as bars across their columns
    if (binary) for (const m of p.means) { ctx.moveTo(sx(m.x) - 0.35 * (sx(1) - sx(0)), sy(m.y)); ctx.lineTo(sx(m.x) + 0.35 * (sx(1) - sx(0)), sy(m.y)); }
    else p.means.forEach((m, k) => (k ? ctx.lineTo(sx(m.x), sy(m.y)) : ctx.moveTo(sx(m.x), sy(m.y))));
    ctx.stroke();
    ctx.fillStyle = th.muted;
    ctx.font = `10px ${th.font}`;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    ctx.fillText(fmt(p.yHi), left - 4, top + 5);
    ctx.fillText(fmt(p.yLo), left - 4, top + Hh - 5);
    ctx.textBaseline = 'top';
    ctx.textAlign = 'left';
    ctx.fillText(binary ? 'outside (0)' : fmt(p.xLo), binary ? sx(0) - 24 : left, top + Hh + 4);
    ctx.textAlign = 'right';
    ctx.fillText(binary ? 'inside (1)' : fmt(p.xHi), binary ? sx(1) + 24 : left + W, top + Hh + 4);
    ctx.textAlign = 'center';
    ctx.fillText(res.feature ?? '', left + W / 2, top + Hh + 14);
    const desc = `${u.quantity} of unit ${u.unit}, layer ${u.layer}, against ${res.feature}: r = ${u.r.toFixed(2)}`;
    this.scatterCaption.textContent = `${desc}. Across: ${res.feature}; up: ${u.quantity} of unit ${u.unit}. Dots: characters (${formatCount(p.x.length)}${p.x.length < ui.T ? ` of ${formatCount(ui.T)}` : ''}); ${binary ? 'bars: the mean outside and inside' : 'line: the mean at each value'}.`;
    this.scatter.setAttribute('aria-label', `Scatter of ${desc}, ${p.x.length} characters`);
    this.scatterDrawn = { layer: u.layer, unit: u.unit, quantity: u.quantity, points: p.x.length };
  }

  private updateThreshold(c: ReadonlySet<Change>): void {
    const ui = this.ui;
    if (!(c.has('data') || c.has('search') || c.has('selection') || c.has('threshold') || c.has('quantity') || c.has('layer') || c.has('unit') || c.has('units'))) return;
    this.threshold.value = String(ui.view.threshold);
    this.thresholdValue.textContent = ui.view.threshold.toFixed(2);
    this.thresholdValue.title = `A unit is "on" where its value, brought to [−1, 1], is beyond ±${ui.view.threshold.toFixed(2)}`;
    const q = ui.view.quantity;
    const scaleNote = q === 'c' ? 'tanh(c)' : ['i', 'f', 'o', 'r', 'z'].includes(q) ? `2${q} − 1` : q;
    this.help.textContent = `A unit is on where |${scaleNote}| > threshold; ranked by (on inside) − (on outside), using ${q} (${QUANTITY_NAMES[q]}) of layer ${ui.view.layer}.`;
    const sel = ui.view.selection;
    this.legend.hidden = !sel || !ui.search.length;
    if (!sel) {
      this.range.replaceChildren(h('span', { class: 'hint' }, 'Drag over the text (or Shift+arrows, or select in the editor) to find units that are on there and off elsewhere.'));
      this.thresholdResults.replaceChildren();
      return;
    }
    const snippet = ui.chars.slice(sel.start, Math.min(sel.end, sel.start + 40)).join('').replace(/\n/g, '↵');
    const clear = h('button', { type: 'button', class: 'btn-ghost', 'aria-label': 'Clear the selection' }, 'Clear');
    clear.addEventListener('click', () => ui.setSelection(null));
    this.range.replaceChildren(h('span', { class: 'mono snippet' }, `“${snippet}${sel.end - sel.start > 40 ? '…' : ''}”`),
      h('span', { class: 'hint' }, ` t ${formatCount(sel.start)}–${formatCount(sel.end - 1)}`), clear);
    if (!ui.search.length) {
      this.thresholdResults.replaceChildren(h('li', { class: 'hint' }, 'No unit is more on inside than outside at this threshold.'));
      return;
    }
    this.thresholdResults.replaceChildren(...ui.search.slice(0, 12).map((m) => {
      const bar = (frac: number, cls: string): HTMLElement => {
        const b = h('span', { class: `mini-bar ${cls}` }, h('span', {}));
        (b.firstElementChild as HTMLElement).style.width = `${Math.round(frac * 100)}%`;
        return b;
      };
      const btn = h('button', { type: 'button', class: `result${m.unit === ui.view.unit ? ' current' : ''}`,
        'aria-label': `Unit ${m.unit}, ${m.sign > 0 ? 'positive' : 'negative'}, on ${Math.round(m.inside * 100)}% inside and ${Math.round(m.outside * 100)}% outside; select and plot` },
      h('span', { class: 'r-unit' }, `u${m.unit}`),
      h('span', { class: `r-sign ${m.sign > 0 ? 'pos' : 'neg'}`, title: m.sign > 0 ? `+: "on" means ${scaleNote} above +${ui.view.threshold.toFixed(2)}` : `−: "on" means ${scaleNote} below −${ui.view.threshold.toFixed(2)} (strongly negative)` },
        m.sign > 0 ? '+' : '−'),
      h('span', { class: 'r-bars', title: `on at ${Math.round(m.inside * 100)}% of the selected characters and ${Math.round(m.outside * 100)}% of the others` },
        bar(m.inside, 'inside'), bar(m.outside, 'outside')),
      h('span', { class: 'r-score', title: `score ${m.score.toFixed(2)} = ${Math.round(m.inside * 100)}% on inside − ${Math.round(m.outside * 100)}% on outside` }, m.score.toFixed(2)));
      btn.addEventListener('click', () => ui.selectUnit(m.unit, true));
      return h('li', {}, btn);
    }));
  }
}

function fmt(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}
