import type { Quantity } from '../../src/protocol/webview';
import type { View, ViewContext } from '../context';
import type { Change } from '../store';
import { cellStep, describeStep, editedCellStep, unitHistogram, type CellStep } from '../data/cellDiagram';
import { editedMark } from '../data/edited';
import { lutIndex, rgbCss } from '../data/colour';
import { formatNumber, h } from '../dom';
import { button, card } from './card';

/** What the cell diagram reads and calls. */
type CellDiagramContext = Pick<ViewContext, 'trace' | 'T' | 'H' | 'chars' | 'focus' | 'view' | 'theme' | 'rampOf' | 'scaleOf' | 'moveCursor' | 'editedAt'>;

const SVG = 'http://www.w3.org/2000/svg';
type SvgAttrs = Record<string, string | number>;

function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: SvgAttrs = {}, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/**
 * The cell as "Understanding LSTM Networks" draws it, with the current step's values on it: the cell state c
 * running along the top (× f: what is forgotten; + i⊙g: what is written), h_{t−1} and x_t entering the four gate
 * layers below, tanh(c_t) ⊙ o giving h_t. The GRU (r, z, n) and the tanh RNN (one layer) are drawn the same way,
 * so the difference shows. Gate boxes are coloured with the heatmaps' colour scales. Drawn from SVG, no images.
 * Follows the cursor (the text strip, the editor, the debugger); ← → step, Home/End; a unit or the mean over units.
 */
export class CellDiagram implements View {
  readonly el: HTMLElement;
  private readonly svg: SVGSVGElement;
  private readonly caption = h('p', { class: 'chart-note' });
  /** Over the diagram while it shows the debugger's edited state. */
  private readonly mark = h('div', { class: 'status notice edited-mark', role: 'note', hidden: true });
  private readonly modeBtn: HTMLButtonElement;
  private mean = false;
  last: CellStep | null = null;
  /** The last step drawn is the debugger's edited state. */
  lastEdited = false;

  constructor(private readonly ui: CellDiagramContext) {
    const c = card('cell-diagram', 'The cell, step by step');
    this.el = c.el;
    this.svg = s('svg', { viewBox: '0 0 660 300', role: 'img', class: 'cell-diagram', focusable: 'true', tabindex: 0 });
    this.svg.addEventListener('keydown', (e) => {
      const t = ui.view.cursor;
      const to = e.key === 'ArrowRight' ? t + 1 : e.key === 'ArrowLeft' ? t - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? ui.T - 1 : null;
      if (to === null) return;
      e.preventDefault();
      e.stopPropagation();
      ui.moveCursor(Math.max(0, Math.min(ui.T - 1, to)));
    });
    this.modeBtn = button('Mean over units', 'Show the mean over the layer\'s units instead of the selected unit', () => {
      this.mean = !this.mean;
      this.modeBtn.textContent = this.mean ? 'Selected unit' : 'Mean over units';
      this.render();
    });
    c.actions.append(this.modeBtn);
    c.body.append(this.mark, this.svg, this.caption);
  }

  update(c: ReadonlySet<Change>): void {
    if (!this.ui.trace || this.ui.view.tab !== 'inspect') return;
    if (c.has('data') || c.has('cursor') || c.has('unit') || c.has('layer') || c.has('theme') || c.has('tab') || c.has('debug')) this.render();
  }

  private render(): void {
    const ui = this.ui, tr = ui.trace!;
    const t = Math.max(0, Math.min(ui.T - 1, ui.focus));
    const unit = this.mean ? null : ui.view.unit;
    const edited = ui.editedAt(t);
    const step = edited ? editedCellStep(tr.cell, edited, ui.view.layer, t, unit, ui.chars[t] ?? '') : cellStep(tr, ui.view.layer, t, unit);
    this.last = step;
    this.lastEdited = edited !== null;
    this.mark.hidden = !edited;
    this.mark.textContent = edited ? `✎ ${editedMark(edited)}` : '';
    this.svg.replaceChildren(...this.draw(step));
    const text = (edited ? 'Edited in the debugger (Set Value): ' : '') + describeStep(step);
    this.svg.setAttribute('aria-label', text);
    this.caption.textContent = this.mean
      ? 'Mean over the layer\'s units of every term (c = c_prev − forgotten + written holds for the means too).'
      : `Unit ${step.unit} of layer ${step.layer}. Click a character or step with ← →; the debugger moves it too.`;
  }

  private draw(step: CellStep): SVGElement[] {
    const ui = this.ui, th = ui.theme, bg = rgbCss(th.bg);
    const out: SVGElement[] = [];
    const line = (pts: [number, number][], arrow = true): void => {
      out.push(s('polyline', { points: pts.map((p) => p.join(',')).join(' '), fill: 'none', stroke: th.fg, 'stroke-width': 1.6, ...(arrow ? { 'marker-end': 'url(#arrow)' } : {}) }));
    };
    const label = (x: number, y: number, text: string, anchor = 'middle', muted = false, size = 12): void => {
      out.push(s('text', { x, y, 'text-anchor': anchor, 'font-size': size, fill: muted ? th.muted : th.fg, 'font-family': th.font }, text));
    };
    const node = (x: number, y: number, op: string): void => {
      out.push(s('circle', { cx: x, cy: y, r: 11, fill: bg, stroke: th.fg, 'stroke-width': 1.6 }));
      label(x, y + 5, op, 'middle', false, 15);
    };
    /** A layer box coloured by its value on the heatmaps' scale for that quantity. */
    const box = (x: number, y: number, fn: string, q: Quantity, v: number): void => {
      const { lut, inks } = ui.rampOf(q);
      const { lo, hi } = ui.scaleOf(q);
      const k = lutIndex(v, lo, hi, lut.length / 4);
      const fill = k >= 0 ? `rgb(${lut[k * 4]}, ${lut[k * 4 + 1]}, ${lut[k * 4 + 2]})` : bg;
      out.push(s('rect', { x: x - 30, y, width: 60, height: 40, rx: 4, fill, stroke: th.fg, 'stroke-width': 1.2 }));
      const ink = k >= 0 ? inks[k]! : th.fg;
      out.push(s('text', { x, y: 17 + y, 'text-anchor': 'middle', 'font-size': 13, fill: ink, 'font-family': th.font }, `${fn} ${q}`));
      out.push(s('text', { x, y: 33 + y, 'text-anchor': 'middle', 'font-size': 12, fill: ink, 'font-family': th.mono }, formatNumber(v, 3)));
    };
    const defs = s('defs');
    const marker = s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
    marker.append(s('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: th.fg }));
    defs.append(marker);
    out.push(defs);
    const n = (x: number): string => formatNumber(x, 3);
    const v = step.values;
    const xChar = JSON.stringify(step.char).slice(1, -1) || ' ';
    // h_{t−1} enters bottom left, x_t from below; both feed every layer box
    line([[10, 262], [470, 262]], false);
    label(12, 282, `h(t−1) ${n(v.hPrev)}`, 'start', true);
    line([[120, 296], [120, 264]], false);
    label(132, 294, `x(t) '${xChar}'`, 'start', true);
    if (v.cell === 'lstm') {
      // the conveyor belt: c_{t−1} → × f → + i⊙g → c_t
      line([[10, 40], [168, 40]]);
      node(180, 40, '×');
      line([[191, 40], [308, 40]]);
      node(320, 40, '+');
      line([[331, 40], [650, 40]]);
      label(12, 28, `c(t−1) ${n(v.cPrev)}`, 'start');
      label(648, 28, `c(t) ${n(v.c)}`, 'end');
      label(196, 62, `forgets ${n(v.forgotten)}`, 'start', true);
      label(336, 62, `writes ${n(v.written)}`, 'start', true);
      // the layers
      box(180, 180, 'σ', 'f', v.f);
      box(270, 180, 'σ', 'i', v.i);
      box(370, 180, 'tanh', 'g', v.g);
      box(470, 180, 'σ', 'o', v.o);
      for (const x of [180, 270, 370, 470]) line([[x, 262], [x, 222]]);
      line([[180, 180], [180, 53]]);
      line([[270, 180], [270, 120], [308, 120]]);
      line([[370, 180], [370, 120], [332, 120]]);
      node(320, 120, '×');
      line([[320, 108], [320, 53]]);
      // tanh(c_t) ⊙ o → h_t
      line([[570, 40], [570, 94]]);
      out.push(s('ellipse', { cx: 570, cy: 110, rx: 34, ry: 15, fill: bg, stroke: th.fg, 'stroke-width': 1.4 }));
      label(570, 115, 'tanh', 'middle');
      label(608, 100, n(v.tanhC), 'start', true);
      line([[570, 125], [570, 188]]);
      node(570, 200, '×');
      line([[500, 200], [558, 200]]);
      line([[581, 200], [620, 200], [620, 262], [650, 262]]);
      label(648, 282, `h(t) ${n(v.h)}`, 'end');
    } else if (v.cell === 'gru') {
      // h runs along the top: h_{t−1} → × z (kept) → + (1 − z)⊙n → h_t
      line([[10, 40], [168, 40]]);
      node(180, 40, '×');
      line([[191, 40], [408, 40]]);
      node(420, 40, '+');
      line([[431, 40], [650, 40]]);
      label(12, 28, `h(t−1) ${n(v.hPrev)}`, 'start');
      label(648, 28, `h(t) ${n(v.h)}`, 'end');
      label(196, 62, `keeps ${n(v.kept)}`, 'start', true);
      label(436, 62, `adds ${n(v.replaced)}`, 'start', true);
      box(180, 180, 'σ', 'z', v.z);
      box(300, 180, 'σ', 'r', v.r);
      box(420, 180, 'tanh', 'n', v.n);
      for (const x of [180, 300, 420]) line([[x, 262], [x, 222]]);
      line([[180, 180], [180, 53]]);
      line([[300, 180], [300, 150], [390, 150]]);
      label(330, 144, 'r scales W_hn·h', 'start', true);
      line([[420, 180], [420, 132]]);
      node(420, 120, '×');
      label(440, 124, '1 − z', 'start', true);
      line([[420, 108], [420, 53]]);
    } else {
      line([[300, 262], [300, 222]]);
      box(300, 180, v.cell === 'rnn_relu' ? 'ReLU' : 'tanh', 'h', v.h);
      line([[300, 180], [300, 100], [650, 100]]);
      label(648, 88, `h(t) ${n(v.h)}`, 'end');
      label(360, 160, 'one layer: no gate decides what to keep', 'start', true);
    }
    if (this.mean) this.drawHistograms(step, out);
    return out;
  }

  /** Beside the mean: how each gate's values spread over the units at this step (10 bins). */
  private drawHistograms(step: CellStep, out: SVGElement[]): void {
    const ui = this.ui, tr = ui.trace!, H = ui.H, th = ui.theme;
    const gates = Object.keys(tr.layers[step.layer]!.gates) as Quantity[];
    gates.forEach((q, gi) => {
      const values = tr.layers[step.layer]!.gates[q]!;
      const { lo, hi } = ui.scaleOf(q);
      const bins = unitHistogram(values, H, step.t, lo, hi, 10);
      const max = Math.max(1, ...bins);
      const x0 = 20 + gi * 62, y0 = 138;
      bins.forEach((b, k) => out.push(s('rect', { x: x0 + k * 5, y: y0 - (b / max) * 24, width: 4, height: (b / max) * 24, fill: th.accent })));
      out.push(s('text', { x: x0, y: y0 + 11, 'font-size': 10, fill: th.muted, 'font-family': th.font }, `${q} over units`));
    });
  }
}
