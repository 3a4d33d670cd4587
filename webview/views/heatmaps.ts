import { displayChar } from '../../src/protocol/traceQuery';
import { QUANTITY_NAMES, type Quantity } from '../../src/protocol/webview';
import type { FigureBlock, View, ViewContext } from '../context';
import type { Change } from '../store';
import { FIGURE_SCALE, plotWidth, scaleCaption } from '../data/figure';
import { heatmapColumns, heatmapImage } from '../data/heatmap';
import { panWindow, tAt, xOf, zoomWindow } from '../data/zoom';
import { formatCount, formatNumber, h, onWidthChange, sizeCanvas } from '../dom';
import { button, card } from './card';
import { PLOT_LEFT, PLOT_RIGHT } from './charts';
import { Legend, type LegendContext } from './legend';

/** What the heatmaps read and calls. */
type HeatmapsContext = LegendContext & Pick<ViewContext, 'model' | 'traceView' | 'trace' | 'T' | 'H' | 'chars' | 'view' | 'window' | 'hover' | 'theme' | 'quantities'
  | 'values' | 'scaleOf' | 'rampOf' | 'unitColour' | 'tooltip' | 'hoverAt' | 'moveCursor' | 'selectUnit' | 'setSelection' | 'setView' | 'setWindow' | 'exportFigure'>;

const RULER_H = 24;

interface Map1 {
  readonly q: Quantity;
  readonly el: HTMLElement;
  readonly wrap: HTMLElement;
  readonly base: HTMLCanvasElement;
  readonly overlay: HTMLCanvasElement;
  readonly legend: Legend;
  /** The pixels last computed, and for what. */
  key: string;
  image: HTMLCanvasElement;
}

/**
 * Units × time heatmaps of the gates (and optionally c and h) of the selected layer. Each is computed at the
 * resolution it is shown at (data/heatmap.ts) into an offscreen canvas, then drawn scaled; chart.js could not
 * paint 2.5 million cells per gate fast enough. Cursor, hover, selection and the selected unit live on overlay
 * canvases. Click a row to pick and plot its unit; drag to select a range; Ctrl+wheel zooms, Shift+wheel pans.
 */
export class Heatmaps implements View {
  readonly el: HTMLElement;
  private readonly list = h('div', { class: 'heatmaps' });
  private readonly ruler = h('canvas', { class: 'ruler', 'aria-hidden': 'true' });
  private readonly subtitle: HTMLElement;
  private readonly titleEl: HTMLElement;
  private readonly statesToggle: HTMLInputElement;
  private maps: Map1[] = [];
  private width = 0;
  private plotH = 96;
  private anchor: number | null = null;
  private dragged = false;

  constructor(private readonly ui: HeatmapsContext) {
    const c = card('heatmaps', 'Gate activations');
    this.el = c.el;
    this.titleEl = c.title;
    this.subtitle = c.subtitle;
    this.statesToggle = h('input', { type: 'checkbox', id: 'show-states' });
    this.statesToggle.addEventListener('change', () => ui.setView({ showStates: this.statesToggle.checked }, 'states'));
    c.actions.append(
      h('label', { class: 'check', for: 'show-states' }, this.statesToggle, 'c and h too'),
      button('PNG', 'Save the heatmaps as PNG: each panel named, with its colour scale and axes', () => void this.exportFigure()));
    c.body.append(this.list, this.ruler);
    onWidthChange(this.list, () => { if (ui.trace) this.update(new Set(['size'])); });
    window.addEventListener('mouseup', () => this.onUp());
  }

  canvases(): readonly HTMLCanvasElement[] {
    return this.maps.map((m) => m.base);
  }

  /**
   * The heatmaps as a figure: one panel per quantity shown, named, with what its colours mean and its colour bar
   * with numbers (the scale the view uses), units down, time across under the last, titled with the model, text
   * and layer. The pixels are computed again at the figure's width.
   */
  private exportFigure(): void {
    const ui = this.ui, tv = ui.traceView;
    if (!tv) return;
    const w = ui.window, H = ui.H, layer = ui.view.layer;
    const cols = heatmapColumns(w, plotWidth() * FIGURE_SCALE);
    const blocks: FigureBlock[] = this.quantitiesShown().map((q) => {
      const s = ui.scaleOf(q);
      const { lut } = ui.rampOf(q);
      return {
        kind: 'heatmap', name: `${q} · ${QUANTITY_NAMES[q]}`, caption: scaleCaption(q, s, !s.label.startsWith('unbounded')),
        scale: { lut, lo: s.lo, hi: s.hi }, pixels: { data: heatmapImage(ui.values(q)!, H, w, cols, lut, s.lo, s.hi), width: cols, height: H }, rowLabel: `unit (0–${H - 1})`,
      };
    });
    const shift = tv.first > 0 ? ` (the document's character ${formatCount(tv.first)} + t)` : '';
    blocks.push({ kind: 'timeAxis', start: w.start, end: w.end, title: `t: position in the traced text${shift}`, chars: ui.chars });
    const per = (w.end - w.start) / cols;
    void ui.exportFigure({
      name: 'heatmaps',
      title: `${this.titleEl.textContent ?? 'Gate activations'} · layer ${layer} · ${ui.model?.name ?? 'model'} on ${tv.documentName}`,
      subtitle: `Each row is one of the layer's ${H} units, each column ${per > 1.05 ? `the mean of ${per.toFixed(1)} characters` : 'a character'} of the text ` +
        `(t ${formatCount(w.start)}–${formatCount(w.end - 1)} of ${formatCount(ui.T)}); the colour is the value, on the scale beside each panel.`,
      blocks,
    });
  }

  private quantitiesShown(): Quantity[] {
    const all = this.ui.quantities();
    const gates = all.filter((q) => q !== 'c' && q !== 'h');
    if (!gates.length) return ['h'];
    return this.ui.view.showStates ? [...all] : gates;
  }

  update(c: ReadonlySet<Change>): void {
    const ui = this.ui;
    if (!ui.trace) return;
    const structural = c.has('data') || c.has('states') || c.has('tab');
    if (structural) this.build();
    if (structural || c.has('size') || c.has('theme')) this.resize();
    if (structural || c.has('size') || c.has('theme') || c.has('layer') || c.has('window')) {
      this.subtitle.textContent = `layer ${ui.view.layer} · ${ui.H} units × ${formatCount(ui.window.end - ui.window.start)} timesteps`;
      for (const m of this.maps) this.paint(m);
      this.paintRuler();
    }
    if (structural || c.has('size') || c.has('theme') || c.has('layer') || c.has('window') || c.has('cursor') || c.has('selection')
      || c.has('unit') || c.has('units')) {
      for (const m of this.maps) this.paintOverlay(m);
    }
    if (c.has('cursor') || c.has('selection')) this.paintRuler();
  }

  private build(): void {
    const ui = this.ui;
    const gated = ui.quantities().some((q) => q !== 'c' && q !== 'h');
    this.titleEl.textContent = gated ? 'Gate activations' : 'Hidden state';
    this.statesToggle.checked = ui.view.showStates;
    this.statesToggle.parentElement!.hidden = !ui.values('c');
    this.maps = this.quantitiesShown().map((q) => {
      const base = h('canvas', { id: `heatmap-${q}`, class: 'layer-base', role: 'img' });
      const overlay = h('canvas', { class: 'layer-overlay', 'aria-hidden': 'true' });
      const wrap = h('div', { class: 'heatmap-wrap' }, base, overlay);
      const legend = new Legend(ui);
      const el = h('div', { class: 'heatmap' },
        h('div', { class: 'heatmap-head' }, h('span', { class: 'heatmap-name' }, h('b', {}, q), ` ${QUANTITY_NAMES[q]}`), legend.el), wrap);
      const m: Map1 = { q, el, wrap, base, overlay, legend, key: '', image: document.createElement('canvas') };
      wrap.addEventListener('mousemove', (e) => this.onMove(m, e));
      wrap.addEventListener('mouseleave', () => { ui.tooltip.hide(); ui.hoverAt(null); });
      wrap.addEventListener('mousedown', (e) => this.onDown(m, e));
      wrap.addEventListener('wheel', (e) => this.onWheel(m, e), { passive: false });
      return m;
    });
    this.list.replaceChildren(...this.maps.map((m) => m.el));
  }

  private resize(): void {
    const H = this.ui.H;
    this.width = this.list.clientWidth;
    if (this.width <= 0) return;
    this.plotH = Math.max(56, Math.min(140, H * 2));
    for (const m of this.maps) {
      sizeCanvas(m.base, this.width, this.plotH);
      sizeCanvas(m.overlay, this.width, this.plotH);
      m.key = '';
    }
    sizeCanvas(this.ruler, this.width, RULER_H);
  }

  private plotW(): number {
    return Math.max(1, this.width - PLOT_LEFT - PLOT_RIGHT);
  }

  private paint(m: Map1): void {
    const ui = this.ui;
    const values = ui.values(m.q);
    if (!values || this.width <= 0) return;
    const dpr = window.devicePixelRatio || 1;
    const w = ui.window;
    const H = ui.H;
    const cols = heatmapColumns(w, this.plotW() * dpr);
    const scale = ui.scaleOf(m.q);
    const key = `${ui.view.layer}|${w.start}|${w.end}|${cols}|${ui.theme.kind}|${ui.theme.bg.join()}|${scale.hi}`;
    if (key !== m.key) {
      const { lut } = ui.rampOf(m.q);
      const px = heatmapImage(values, H, w, cols, lut, scale.lo, scale.hi);
      m.image.width = cols;
      m.image.height = H;
      m.image.getContext('2d')!.putImageData(new ImageData(px, cols, H), 0, 0);
      m.key = key;
    }
    const ctx = m.base.getContext('2d')!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.width, this.plotH);
    // upscaled cells stay crisp; downscaled (H > pixel rows) average smoothly
    ctx.imageSmoothingEnabled = H > this.plotH * dpr;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(m.image, PLOT_LEFT, 0, this.plotW(), this.plotH);
    ctx.strokeStyle = ui.theme.border;
    ctx.lineWidth = 1;
    ctx.strokeRect(PLOT_LEFT - 0.5, -0.5, this.plotW() + 1, this.plotH + 1);
    // gutter: unit axis
    ctx.fillStyle = ui.theme.muted;
    ctx.font = `10px ${ui.theme.font}`;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'top';
    ctx.fillText('0', PLOT_LEFT - 6, 1);
    ctx.textBaseline = 'bottom';
    ctx.fillText(String(H - 1), PLOT_LEFT - 6, this.plotH - 1);
    ctx.save();
    ctx.translate(12, this.plotH / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText('unit', 0, 0);
    ctx.restore();
    m.base.setAttribute('aria-label', `Heatmap of ${m.q} (${QUANTITY_NAMES[m.q]}), layer ${ui.view.layer}: ${H} units by ` +
      `timesteps ${w.start} to ${w.end - 1}, colour scale ${scale.label}`);
    m.legend.render(m.q);
  }

  private unitY(unit: number): number {
    return (unit / this.ui.H) * this.plotH;
  }

  private paintOverlay(m: Map1): void {
    const ui = this.ui;
    if (this.width <= 0) return;
    const ctx = m.overlay.getContext('2d')!;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.width, this.plotH);
    const w = ui.window, pw = this.plotW();
    const rowH = Math.max(1, this.plotH / ui.H);
    const sel = ui.view.selection;
    if (sel && sel.end > w.start && sel.start < w.end) {
      const x0 = PLOT_LEFT + Math.max(0, ((sel.start - w.start) / (w.end - w.start)) * pw);
      const x1 = PLOT_LEFT + Math.min(pw, ((sel.end - w.start) / (w.end - w.start)) * pw);
      ctx.fillStyle = ui.theme.selection;
      ctx.globalAlpha = 0.35;
      ctx.fillRect(x0, 0, Math.max(1, x1 - x0), this.plotH);
      ctx.globalAlpha = 1;
      ctx.strokeStyle = ui.theme.selection;
      ctx.strokeRect(x0 + 0.5, 0.5, Math.max(1, x1 - x0) - 1, this.plotH - 1);
    }
    // plotted units: coloured ticks in the gutter; the selected unit: a marker and a thin frame across the row
    for (const u of ui.view.units) {
      ctx.fillStyle = ui.unitColour(u);
      ctx.fillRect(PLOT_LEFT - 5, this.unitY(u), 4, Math.max(2, rowH));
    }
    const uy = this.unitY(ui.view.unit);
    ctx.fillStyle = ui.theme.fg;
    ctx.beginPath();
    ctx.moveTo(PLOT_LEFT - 1, uy + rowH / 2);
    ctx.lineTo(PLOT_LEFT - 9, uy + rowH / 2 - 4);
    ctx.lineTo(PLOT_LEFT - 9, uy + rowH / 2 + 4);
    ctx.fill();
    ctx.strokeStyle = ui.theme.fg;
    ctx.globalAlpha = 0.55;
    ctx.lineWidth = 1;
    ctx.strokeRect(PLOT_LEFT + 0.5, uy - 0.5, pw - 1, rowH + 1);
    ctx.globalAlpha = 1;
    const line = (t: number, colour: string, width: number): void => {
      if (t < w.start || t >= w.end) return;
      const x = PLOT_LEFT + xOf(t, w, pw);
      const cw = Math.max(width, pw / (w.end - w.start));
      ctx.fillStyle = colour;
      ctx.fillRect(x - cw / 2, 0, cw, this.plotH);
    };
    ctx.globalAlpha = 0.9;
    line(ui.view.cursor, ui.theme.cursor, 1.5);
    if (ui.hover !== null && ui.hover !== ui.view.cursor) {
      ctx.globalAlpha = 0.6;
      line(ui.hover, ui.theme.accent, 1);
    }
    ctx.globalAlpha = 1;
  }

  private paintRuler(): void {
    const ui = this.ui;
    if (this.width <= 0) return;
    const ctx = this.ruler.getContext('2d')!;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.width, RULER_H);
    const w = ui.window, pw = this.plotW();
    const perT = pw / (w.end - w.start);
    ctx.font = `10px ${ui.theme.font}`;
    ctx.textBaseline = 'top';
    ctx.fillStyle = ui.theme.muted;
    ctx.textAlign = 'right';
    ctx.fillText('t', PLOT_LEFT - 6, 4);
    if (perT >= 8) {
      // zoomed in: the characters themselves
      ctx.font = `${Math.min(12, perT * 0.9)}px ${ui.theme.mono}`;
      ctx.textAlign = 'center';
      for (let t = w.start; t < w.end; t++) {
        ctx.fillStyle = t === ui.view.cursor ? ui.theme.fg : ui.theme.muted;
        ctx.fillText(displayChar(ui.chars[t]!), PLOT_LEFT + xOf(t, w, pw), 4);
      }
      return;
    }
    const step = niceStep((w.end - w.start) / Math.max(2, pw / 90));
    ctx.textAlign = 'center';
    ctx.strokeStyle = ui.theme.border;
    for (let t = Math.ceil(w.start / step) * step; t < w.end; t += step) {
      const x = PLOT_LEFT + xOf(t, w, pw);
      ctx.beginPath();
      ctx.moveTo(x, 0);
      ctx.lineTo(x, 4);
      ctx.stroke();
      ctx.fillText(formatCount(t), x, 6);
    }
  }

  private at(m: Map1, e: MouseEvent): { t: number; unit: number } {
    const r = m.wrap.getBoundingClientRect();
    const x = e.clientX - r.left - PLOT_LEFT;
    const y = e.clientY - r.top;
    const unit = Math.max(0, Math.min(this.ui.H - 1, Math.floor((y / this.plotH) * this.ui.H)));
    return { t: tAt(x, this.ui.window, this.plotW()), unit };
  }

  private onMove(m: Map1, e: MouseEvent): void {
    const ui = this.ui;
    const { t, unit } = this.at(m, e);
    if (this.anchor !== null && (e.buttons & 1) && t !== this.anchor) {
      this.dragged = true;
      ui.setSelection({ start: Math.min(this.anchor, t), end: Math.max(this.anchor, t) + 1 });
    }
    ui.hoverAt(t);
    const v = ui.values(m.q)![t * ui.H + unit]!;
    ui.tooltip.show(h('div', { class: 'details compact' },
      h('div', { class: 'd-head' }, h('span', { class: 'd-char' }, displayChar(ui.chars[t] ?? '')), h('span', { class: 'd-t' }, `t = ${formatCount(t)}`)),
      h('div', { class: 'd-row current' }, h('span', { class: 'd-q wide' }, `${m.q} · ${QUANTITY_NAMES[m.q]}, unit ${unit}`), h('span', { class: 'd-v' }, formatNumber(v, 3))),
      h('div', { class: 'd-hint' }, 'click: select and plot this unit')), e.clientX, e.clientY);
  }

  private onDown(m: Map1, e: MouseEvent): void {
    if (e.button !== 0) return;
    const { t, unit } = this.at(m, e);
    this.anchor = t;
    this.dragged = false;
    this.pendingUnit = unit;
    e.preventDefault();
  }

  private pendingUnit = 0;

  private onUp(): void {
    if (this.anchor === null) return;
    const t = this.anchor;
    this.anchor = null;
    if (!this.dragged) {
      this.ui.moveCursor(t);
      this.ui.selectUnit(this.pendingUnit, true);
    }
  }

  private onWheel(m: Map1, e: WheelEvent): void {
    const ui = this.ui;
    const horizontal = Math.abs(e.deltaX) > Math.abs(e.deltaY);
    if (!e.ctrlKey && !e.shiftKey && !horizontal) return; // let the page scroll
    e.preventDefault();
    const w = ui.window;
    if (e.ctrlKey) {
      const { t } = this.at(m, e);
      ui.setWindow(zoomWindow(w, ui.T, Math.exp(e.deltaY * 0.002), t));
    } else {
      const d = horizontal ? e.deltaX : e.deltaY;
      ui.setWindow(panWindow(w, ui.T, (d / this.plotW()) * (w.end - w.start)));
    }
  }
}

/** 1, 2 or 5 times a power of ten, at least x. */
export function niceStep(x: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(1, x)));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}
