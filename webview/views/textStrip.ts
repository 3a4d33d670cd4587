import { displayChar } from '../../src/protocol/traceQuery';
import { QUANTITY_NAMES, type StepRange } from '../../src/protocol/webview';
import type { ColourScale, View, ViewContext } from '../context';
import type { Change } from '../store';
import { lutIndex } from '../data/colour';
import { FIGURE_PAD, FIGURE_SCALE, scaleCaption } from '../data/figure';
import { mostSalient } from '../data/reach';
import { hitTest, layoutText, rowOf, type TextLayout } from '../data/textLayout';
import { formatCount, h, onWidthChange, sizeCanvas } from '../dom';
import { button, card } from './card';
import { cursorDetails, type DetailsContext } from './details';
import { Legend, type LegendContext } from './legend';

/** What the text strip reads and calls. */
type TextStripContext = LegendContext & DetailsContext & Pick<ViewContext, 'model' | 'traceView' | 'trace' | 'T' | 'H' | 'chars' | 'view' | 'hover' | 'theme' | 'reach'
  | 'saliency' | 'searchMask' | 'values' | 'rampOf' | 'scaleOf' | 'tooltip' | 'hoverAt' | 'moveCursor' | 'setSelection' | 'exportFigure'>;

/** The saliency scale's ticks: levels in [0, 1] are log10 of the saliency over the 4 decades below the largest. */
const SALIENCY_TICKS = [
  { value: 0, label: '10⁻⁴ × max' }, { value: 0.25, label: '10⁻³' }, { value: 0.5, label: '10⁻² × max' }, { value: 0.75, label: '10⁻¹' }, { value: 1, label: 'max' },
];

const PAD = 8;
/** The exported strip's figure is at least this wide (CSS pixels), so that its title keeps to a line or two. */
const MIN_FIGURE_WIDTH = 720;
const MAX_VISIBLE_ROWS = 12;

/**
 * The traced text, each character on the colour of the selected unit's value. Drawn on a canvas, only the rows
 * in view (10,000 characters are ~150 rows); a second canvas holds the cursor, hover and selection so that
 * hovering repaints only that. Drag to select a range for the unit search; hover for details.
 */
export class TextStrip implements View {
  readonly el: HTMLElement;
  private readonly scroller = h('div', {
    class: 'strip', tabindex: 0, role: 'img',
    'aria-roledescription': 'text strip',
  });
  private readonly view = h('div', { class: 'strip-view' });
  private readonly base = h('canvas', { id: 'strip', class: 'layer-base' });
  private readonly overlay = h('canvas', { class: 'layer-overlay', 'aria-hidden': 'true' });
  private readonly spacer = h('div', { class: 'strip-spacer' });
  private readonly legend: Legend;
  private readonly subtitle: HTMLElement;
  private layout: TextLayout | null = null;
  private cellW = 8;
  private lineH = 20;
  private width = 0;
  private viewH = 0;
  private anchor: number | null = null;
  private dragged = false;
  /** The prediction whose saliency the strip shows (null: saliency off), to reveal its characters once. */
  private salientShown: number | null = null;

  constructor(private readonly ui: TextStripContext) {
    const c = card('text', 'Text');
    this.el = c.el;
    this.subtitle = c.subtitle;
    this.legend = new Legend(ui);
    c.actions.append(this.legend.el, button('PNG', 'Save the text strip as PNG, with its colour scale and what colours it', () => this.exportFigure()));
    this.view.append(this.base, this.overlay);
    this.scroller.append(this.view, this.spacer);
    c.body.append(this.scroller);
    this.scroller.addEventListener('scroll', () => { this.paint(); this.paintOverlay(); });
    this.scroller.addEventListener('mousemove', (e) => this.onMove(e));
    this.scroller.addEventListener('mouseleave', () => { ui.tooltip.hide(); ui.hoverAt(null); });
    this.scroller.addEventListener('mousedown', (e) => this.onDown(e));
    window.addEventListener('mouseup', () => this.onUp());
    this.scroller.addEventListener('keydown', (e) => this.onKey(e));
    onWidthChange(this.scroller, () => { if (ui.trace) { this.relayout(); this.paint(); this.paintOverlay(); } });
  }

  canvases(): readonly HTMLCanvasElement[] {
    return [this.base];
  }

  update(c: ReadonlySet<Change>): void {
    if (!this.ui.trace) return;
    if (c.has('data') || c.has('theme') || c.has('size') || c.has('tab')) this.relayout();
    const recolour = c.has('data') || c.has('theme') || c.has('layer') || c.has('quantity') || c.has('unit') || c.has('size') || c.has('tab') || c.has('reach');
    if (recolour) {
      this.legend.render(this.ui.view.quantity, this.ui.saliency !== null);
      this.subtitle.textContent = this.title();
      const p = this.ui.saliency ? this.ui.reach?.model.prediction : null;
      const salient = p ? ` Most depended on: ${mostSalient(p.saliency, p.at, (t) => this.ui.chars[t] ?? '')}.` : '';
      this.scroller.setAttribute('aria-label', `${this.title()}.${salient} Arrow keys move the cursor, Shift+arrows select text for the unit search.`);
      this.paint();
    }
    if (c.has('cursor') && this.ui.hover === null) this.reveal(this.ui.view.cursor);
    // saliency colours the characters before the prediction: when it comes on, show them (the cursor's row last)
    const salientAt = this.ui.saliency && this.ui.reach ? this.ui.reach.at : null;
    if (salientAt !== null && this.salientShown === null) this.revealBefore(salientAt);
    this.salientShown = salientAt;
    if (recolour || c.has('cursor') || c.has('selection') || c.has('window') || c.has('search')) this.paintOverlay();
  }

  private title(): string {
    const v = this.ui.view;
    if (this.ui.saliency) return `coloured by saliency ‖∂L_T/∂e_t‖ of the prediction at t = ${this.ui.reach?.at}: 4 decades, log scale (brightest: most depended on)`;
    return `coloured by ${v.quantity} (${QUANTITY_NAMES[v.quantity]}) of unit ${v.unit}, layer ${v.layer}`;
  }

  private relayout(): void {
    const ui = this.ui;
    const width = this.scroller.clientWidth;
    if (width <= 0) return;
    const ctx = this.base.getContext('2d')!;
    ctx.font = this.font();
    this.cellW = Math.max(4, ctx.measureText('M').width);
    this.lineH = Math.round(ui.theme.monoSize * 1.55);
    this.width = width;
    this.layout = layoutText(ui.chars, Math.floor((width - 2 * PAD) / this.cellW));
    const rows = this.layout.rows;
    this.viewH = Math.min(rows, MAX_VISIBLE_ROWS) * this.lineH + 2 * PAD;
    this.scroller.style.height = `${this.viewH}px`;
    this.view.style.height = `${this.viewH}px`;
    this.spacer.style.height = `${Math.max(0, rows * this.lineH + 2 * PAD - this.viewH)}px`;
    sizeCanvas(this.base, width, this.viewH);
    sizeCanvas(this.overlay, width, this.viewH);
  }

  private font(): string {
    return `${this.ui.theme.monoSize}px ${this.ui.theme.mono}`;
  }

  private visibleRows(): [number, number] {
    const top = this.scroller.scrollTop;
    const first = Math.max(0, Math.floor((top - PAD) / this.lineH));
    const last = Math.min(this.layout!.rows - 1, Math.ceil((top + this.viewH - PAD) / this.lineH));
    return [first, last];
  }

  private rowY(row: number): number {
    return PAD + row * this.lineH - this.scroller.scrollTop;
  }

  private paint(): void {
    const L = this.layout;
    if (!L || !this.ui.values(this.ui.view.quantity)) return;
    const ctx = this.base.getContext('2d')!;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.width, this.viewH);
    const [r0, r1] = this.visibleRows();
    this.paintRows(ctx, r0, r1, (r) => this.rowY(r));
  }

  /** Paints rows r0..r1 of the text, row r at y = rowY(r), each character on the colour of its value (or saliency). */
  private paintRows(ctx: CanvasRenderingContext2D, r0: number, r1: number, rowY: (r: number) => number): void {
    const ui = this.ui;
    const L = this.layout!;
    const values = ui.values(ui.view.quantity)!;
    ctx.font = this.font();
    ctx.textBaseline = 'middle';
    // saliency mode: how much the prediction at the cursor depends on each character before it (log scale)
    const sal = ui.saliency;
    const { lut, inks } = sal ? ui.rampOf('f') : ui.rampOf(ui.view.quantity);
    const { lo, hi } = ui.scaleOf(ui.view.quantity);
    const H = ui.H, unit = ui.view.unit, n = lut.length / 4;
    for (let r = r0; r <= r1; r++) {
      const y = rowY(r);
      for (let t = L.rowStart[r]!; t < L.rowStart[r + 1]!; t++) {
        const x = PAD + (t - L.rowStart[r]!) * this.cellW;
        const k = sal ? (sal[t]! >= 0 ? lutIndex(sal[t]!, 0, 1, n) : -1) : lutIndex(values[t * H + unit]!, lo, hi, n);
        if (k >= 0) {
          ctx.fillStyle = `rgb(${lut[k * 4]}, ${lut[k * 4 + 1]}, ${lut[k * 4 + 2]})`;
          ctx.fillRect(x, y, this.cellW + 0.6, this.lineH);
        }
        const ch = ui.chars[t]!;
        if (ch === ' ') continue;
        const shown = ch === '\n' || ch === '\t' || ch === '\r' || (ch.codePointAt(0) ?? 32) < 32 ? displayChar(ch) : ch;
        ctx.fillStyle = shown !== ch ? ui.theme.muted : (k >= 0 ? inks[k]! : ui.theme.fg);
        ctx.fillText(shown, x, y + this.lineH / 2 + 0.5, this.cellW * 1.2);
      }
    }
  }

  /**
   * The rows of the strip in view as a figure, drawn again at the figure's resolution: under a title saying which
   * unit, quantity and layer colour it (or which prediction's saliency), with the colour bar and its numbers.
   */
  private exportFigure(): void {
    const ui = this.ui, tv = ui.traceView, L = this.layout;
    if (!tv || !L || !ui.values(ui.view.quantity)) return;
    const [r0, r1] = this.visibleRows();
    const height = (r1 - r0 + 1) * this.lineH + 2 * PAD;
    const image = document.createElement('canvas');
    image.width = Math.round(this.width * FIGURE_SCALE);
    image.height = Math.round(height * FIGURE_SCALE);
    const ctx = image.getContext('2d')!;
    ctx.setTransform(FIGURE_SCALE, 0, 0, FIGURE_SCALE, 0, 0);
    this.paintRows(ctx, r0, r1, (r) => PAD + (r - r0) * this.lineH);
    const first = L.rowStart[r0]!, last = L.rowStart[r1 + 1]! - 1;
    const v = ui.view, q = v.quantity, sal = ui.saliency, at = ui.reach?.at;
    const s = ui.scaleOf(q);
    const scale: ColourScale = sal ? { lut: ui.rampOf('f').lut, lo: 0, hi: 1, ticks: SALIENCY_TICKS } : { lut: ui.rampOf(q).lut, lo: s.lo, hi: s.hi };
    const what = sal ? `the saliency of the prediction at t = ${at}` : `${q} (${QUANTITY_NAMES[q]}) of unit ${v.unit}, layer ${v.layer}`;
    const caption = sal ? `Background: the saliency ‖∂L_T/∂e_t‖ of the prediction at t = ${at}, log scale`
      : `Background: ${q} of unit ${v.unit}, layer ${v.layer} — ${scaleCaption(q, s, !s.label.startsWith('unbounded'))}`;
    void ui.exportFigure({
      name: 'text',
      title: `${tv.documentName} coloured by ${what} · ${ui.model?.name ?? 'model'}`,
      subtitle: `Characters t ${formatCount(first)}–${formatCount(last)} of ${formatCount(ui.T)}, as the strip shows them. ` + (sal
        ? `Each character's background: how much the prediction at t = ${at} (of the character after it) depends on that character, 4 decades below the largest; uncoloured: less, or after it.`
        : `Each character's background is the value of ${q} of unit ${v.unit} just after the model read that character.`),
      width: Math.max(MIN_FIGURE_WIDTH, this.width + 2 * FIGURE_PAD),
      blocks: [{ kind: 'colourBar', caption, scale }, { kind: 'image', image, width: this.width, height }],
    });
  }

  private cellRect(t: number): { x: number; y: number } | null {
    const L = this.layout;
    if (!L || t < 0 || t >= this.ui.T) return null;
    const r = rowOf(L, t);
    return { x: PAD + (t - L.rowStart[r]!) * this.cellW, y: this.rowY(r) };
  }

  private paintOverlay(): void {
    const ui = this.ui;
    if (!this.layout) return;
    const ctx = this.overlay.getContext('2d')!;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.width, this.viewH);
    // the unit search's 0/1 feature (regex matches, ranges, strings, comments): outlined run by run, as the
    // editor outlines find matches
    const mask = ui.searchMask;
    if (mask) {
      ctx.strokeStyle = ui.theme.match;
      ctx.lineWidth = 1.5;
      this.eachVisiblePart(runsOf(mask, this.visibleSteps()), (x, y, w) => ctx.strokeRect(x + 0.75, y + 1.75, w - 1.5, this.lineH - 3.5));
    }
    const sel = ui.view.selection;
    if (sel) {
      ctx.fillStyle = ui.theme.selection;
      ctx.globalAlpha = 0.9;
      this.eachVisiblePart([sel], (x, y, w) => ctx.fillRect(x, y + this.lineH - 3, w, 3));
      ctx.globalAlpha = 1;
    }
    const box = (t: number, colour: string, width: number): void => {
      const p = this.cellRect(t);
      if (!p) return;
      ctx.strokeStyle = colour;
      ctx.lineWidth = width;
      ctx.strokeRect(p.x - width / 2, p.y + width / 2, this.cellW + width, this.lineH - width);
    };
    box(ui.view.cursor, ui.theme.cursor, 2);
    if (ui.hover !== null && ui.hover !== ui.view.cursor) box(ui.hover, ui.theme.accent, 1.5);
  }

  /** The timesteps of the rows in view, [start, end). */
  private visibleSteps(): StepRange {
    const [r0, r1] = this.visibleRows();
    return { start: this.layout!.rowStart[r0]!, end: this.layout!.rowStart[r1 + 1]! };
  }

  /** Calls draw(x, y, width) for each part, one per row in view, of each range of timesteps. */
  private eachVisiblePart(ranges: readonly StepRange[], draw: (x: number, y: number, width: number) => void): void {
    const L = this.layout!;
    const [r0, r1] = this.visibleRows();
    for (let r = r0; r <= r1; r++) {
      const rowStart = L.rowStart[r]!, rowEnd = L.rowStart[r + 1]!;
      for (const { start, end } of ranges) {
        const a = Math.max(start, rowStart), b = Math.min(end, rowEnd);
        if (b > a) draw(PAD + (a - rowStart) * this.cellW, this.rowY(r), (b - a) * this.cellW);
      }
    }
  }

  /** Scrolls the strip so that timestep t is in view. */
  private reveal(t: number): void {
    const L = this.layout;
    if (!L || !this.ui.T) return;
    const y = PAD + rowOf(L, t) * this.lineH;
    const top = this.scroller.scrollTop;
    if (y < top + PAD) this.scroller.scrollTop = y - PAD - this.lineH;
    else if (y + this.lineH > top + this.viewH - PAD) this.scroller.scrollTop = y + 2 * this.lineH - this.viewH + PAD;
  }

  /** Scrolls the rows before t's into view, t's row the last but one (or the text's start, when it is close). */
  private revealBefore(t: number): void {
    const L = this.layout;
    if (!L || !this.ui.T) return;
    const y = PAD + rowOf(L, t) * this.lineH;
    this.scroller.scrollTop = Math.max(0, y + 2 * this.lineH - this.viewH + PAD);
  }

  private tAt(e: MouseEvent): number | null {
    if (!this.layout) return null;
    const r = this.view.getBoundingClientRect();
    const x = e.clientX - r.left, y = e.clientY - r.top + this.scroller.scrollTop;
    return hitTest(this.layout, Math.floor((y - PAD) / this.lineH), Math.floor((x - PAD) / this.cellW));
  }

  private onMove(e: MouseEvent): void {
    const t = this.tAt(e);
    if (t === null) {
      this.ui.tooltip.hide();
      this.ui.hoverAt(null);
      return;
    }
    if (this.anchor !== null && (e.buttons & 1) && t !== this.anchor) {
      this.dragged = true;
      this.ui.setSelection({ start: Math.min(this.anchor, t), end: Math.max(this.anchor, t) + 1 });
    }
    this.ui.hoverAt(t);
    this.ui.tooltip.show(cursorDetails(this.ui, t, true), e.clientX, e.clientY);
  }

  private onDown(e: MouseEvent): void {
    if (e.button !== 0) return;
    const t = this.tAt(e);
    if (t === null) return;
    this.anchor = t;
    this.dragged = false;
    e.preventDefault();
    this.scroller.focus({ preventScroll: true });
  }

  private onUp(): void {
    if (this.anchor === null) return;
    const t = this.anchor;
    this.anchor = null;
    if (!this.dragged) {
      if (this.ui.view.selection) this.ui.setSelection(null);
      this.ui.moveCursor(t);
    }
  }

  private onKey(e: KeyboardEvent): void {
    const L = this.layout;
    if (!L || (e.key !== 'ArrowUp' && e.key !== 'ArrowDown')) return;
    const t = this.ui.view.cursor;
    const r = rowOf(L, t);
    const col = t - L.rowStart[r]!;
    const nr = Math.max(0, Math.min(L.rows - 1, r + (e.key === 'ArrowUp' ? -1 : 1)));
    this.ui.moveCursor(Math.min(L.rowStart[nr]! + col, L.rowStart[nr + 1]! - 1));
    e.preventDefault();
  }
}

/** The runs of 1s of a 0/1 mask within [within.start, within.end). */
function runsOf(mask: Float32Array, within: StepRange): StepRange[] {
  const runs: StepRange[] = [];
  for (let t = within.start; t < within.end; t++) {
    if (mask[t] !== 1) continue;
    const start = t;
    while (t + 1 < within.end && mask[t + 1] === 1) t++;
    runs.push({ start, end: t + 1 });
  }
  return runs;
}
