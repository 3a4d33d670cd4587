import { displayChar } from '../../src/protocol/traceQuery';
import type { Quantity } from '../../src/protocol/webview';
import { xOf } from './zoom';

/**
 * The geometry of an exported figure (the PNG a Save button writes): where its titles, colour bars with their
 * numbers, legends, axis labels and plots go, so that each panel keeps its meaning outside the inspector and no
 * two labels overlap. Text is measured by an injected function (the canvas's measureText in the page, a fixed
 * width per character in tests). Pure. All lengths are CSS pixels; the exporter draws at FIGURE_SCALE.
 */

/** Width of a figure (CSS pixels) and the pixels per CSS pixel it is drawn at: 2400 pixels wide. */
export const FIGURE_WIDTH = 1200;
export const FIGURE_SCALE = 2;
/** Margin around the figure. */
export const FIGURE_PAD = 16;
/** Gutter left of a plot for its row numbers and rotated axis label, and right of it. */
export const AXIS_LEFT = 64;
export const AXIS_RIGHT = 16;
/** Colour bar: length and thickness. */
export const BAR_W = 220;
export const BAR_H = 10;
/** Font sizes: title, panel names, labels (tick numbers, captions, legends). */
export const TITLE_PX = 16;
export const NAME_PX = 13;
export const LABEL_PX = 11;
/** Line heights of those. */
export const TITLE_LINE = 22;
export const NAME_LINE = 18;
export const LABEL_LINE = 15;

/** Width of the plot area of a figure `width` wide. */
export function plotWidth(width = FIGURE_WIDTH): number {
  return width - 2 * FIGURE_PAD - AXIS_LEFT - AXIS_RIGHT;
}

/** Measures text in the font of a size (px): its width in CSS pixels. */
export type Measure = (text: string, px: number) => number;

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/** A label placed: its text, size and box (x, y top-left). */
export interface Label extends Rect {
  readonly text: string;
  readonly px: number;
}

/** Whether two boxes share any area. */
export function overlaps(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/** A number on a tick: at most 3 significant digits, a true minus sign. */
export function formatTick(v: number): string {
  const a = Math.abs(v);
  const s = a === 0 ? '0' : a >= 100 ? v.toFixed(0) : String(Number(v.toPrecision(3)));
  return s.replace('-', '−');
}

/** 1, 2, 2.5 or 5 times a power of ten, at least x. */
export function niceStep(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x * (1 - 1e-9)) return m * p;
  return 10 * p;
}

/** Round values inside [lo, hi], about `target` of them (the ends themselves when they are round). */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!(hi > lo)) return [lo];
  const step = niceStep((hi - lo) / target);
  const out: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) out.push(Math.abs(k * step) < step * 1e-9 ? 0 : k * step);
  return out;
}

/** A tick of a colour bar: its value's label and where it goes along the bar. */
export interface Tick {
  readonly value: number;
  readonly label: string;
}

export interface PlacedTick extends Tick {
  /** Along the bar, 0 to its length. */
  readonly at: number;
  /** The label's box, relative to the bar's start (y 0 = just under the bar). */
  readonly box: Rect;
}

/**
 * The labelled ticks of a colour bar `length` long over [lo, hi]: both ends (their labels flush with the bar's
 * ends), then as many round values between as fit with `gap` pixels between labels. `ticks`: explicit ones (a
 * log scale's), placed by value the same way.
 */
export function barTicks(lo: number, hi: number, length: number, measure: Measure, ticks?: readonly Tick[], gap = 8): PlacedTick[] {
  const all: Tick[] = ticks ? [...ticks] : [lo, ...niceTicks(lo, hi, 6).filter((v) => v > lo && v < hi), hi].map((value) => ({ value, label: formatTick(value) }));
  if (!all.length) return [];
  const place = (t: Tick, k: number): PlacedTick => {
    const at = hi > lo ? Math.max(0, Math.min(1, (t.value - lo) / (hi - lo))) * length : 0;
    const w = measure(t.label, LABEL_PX);
    // the first and last labels end at the bar's ends; the others are centred on their tick
    const x = k === 0 ? Math.min(at, length - w) : k === all.length - 1 ? Math.max(0, at - w) : at - w / 2;
    return { ...t, at, box: { x, y: 2, w, h: LABEL_LINE } };
  };
  const placed = all.map(place);
  const first = placed[0]!, last = placed[placed.length - 1]!;
  const kept: PlacedTick[] = [first];
  const clear = (a: Rect, b: Rect): boolean => a.x + a.w + gap <= b.x || b.x + b.w + gap <= a.x;
  for (const t of placed.slice(1, -1)) {
    if (clear(kept[kept.length - 1]!.box, t.box) && clear(t.box, last.box) && t.box.x >= 0 && t.box.x + t.box.w <= length) kept.push(t);
  }
  if (placed.length > 1 && clear(kept[kept.length - 1]!.box, last.box)) kept.push(last);
  return kept;
}

/** Splits text into lines no wider than `maxWidth` (at spaces; a word wider than that gets a line of its own). */
export function wrapText(text: string, maxWidth: number, px: number, measure: Measure): string[] {
  const lines: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(' ')) {
      const next = line ? `${line} ${word}` : word;
      if (line && measure(next, px) > maxWidth) {
        lines.push(line);
        line = word;
      } else {
        line = next;
      }
    }
    lines.push(line);
  }
  return lines;
}

/** Legend entries laid out left to right, wrapping into rows `maxWidth` wide: each entry's x and row. */
export function flowLayout(widths: readonly number[], maxWidth: number, gap = 18): { readonly x: number; readonly row: number }[] {
  let x = 0, row = 0;
  return widths.map((w) => {
    if (x > 0 && x + w > maxWidth) {
      x = 0;
      row++;
    }
    const at = { x, row };
    x += w + gap;
    return at;
  });
}

/** The entries of a line legend: the swatch's length, the gap to the label. */
export const SWATCH_W = 28;
export const SWATCH_GAP = 6;

/**
 * One heatmap panel of a figure: a header with the quantity's name (and what its colours mean) on the left and
 * its colour bar with numbers on the right, then the plot with the row axis in the gutter — the first row's
 * number at the plot's top, the last row's at its bottom, and the axis name rotated between them. Panels stack
 * with `PANEL_GAP` between them, so one panel's last row number never meets the next one's first.
 */
export interface HeatmapPanelLayout {
  readonly height: number;
  readonly name: Label;
  readonly caption: Label;
  /** The colour bar (its ticks are placed relative to bar.x, bar.y + bar.h). */
  readonly bar: Rect;
  readonly ticks: readonly PlacedTick[];
  readonly plot: Rect;
  /** The first and last row numbers, right-aligned in the gutter. */
  readonly rowLabels: readonly Label[];
  /** The rotated axis name: its box as drawn (upright extent). */
  readonly axisLabel: Label;
}

export const PANEL_GAP = 14;

export interface HeatmapPanelInput {
  /** "i · input gate". */
  readonly name: string;
  /** What the colours are: "σ gate: 0 closed, 1 open". */
  readonly caption: string;
  readonly lo: number;
  readonly hi: number;
  readonly ticks?: readonly Tick[];
  /** Rows of the plot (units). */
  readonly rows: number;
  /** The rows' axis name. */
  readonly rowLabel: string;
  readonly plotHeight: number;
}

/** The layout of a heatmap panel in a figure `width` wide, from its top (y 0) and the figure's left pad (x 0). */
export function heatmapPanelLayout(p: HeatmapPanelInput, measure: Measure, width = FIGURE_WIDTH): HeatmapPanelLayout {
  const inner = width - 2 * FIGURE_PAD;
  const barX = inner - AXIS_RIGHT - BAR_W;
  const nameW = measure(p.name, NAME_PX);
  const name: Label = { text: p.name, px: NAME_PX, x: AXIS_LEFT, y: 0, w: nameW, h: NAME_LINE };
  const bar: Rect = { x: barX, y: 3, w: BAR_W, h: BAR_H };
  const ticks = barTicks(p.lo, p.hi, BAR_W, measure, p.ticks);
  const barBottom = bar.y + bar.h + 2 + LABEL_LINE;
  // the caption follows the name on its line when it fits before the bar, else it takes the line under the name
  const capW = measure(p.caption, LABEL_PX);
  const sameLine = AXIS_LEFT + nameW + 12 + capW + 16 <= barX;
  const caption: Label = sameLine
    ? { text: p.caption, px: LABEL_PX, x: AXIS_LEFT + nameW + 12, y: (NAME_LINE - LABEL_LINE) / 2 + 1, w: capW, h: LABEL_LINE }
    : { text: p.caption, px: LABEL_PX, x: AXIS_LEFT, y: NAME_LINE, w: Math.min(capW, barX - 16 - AXIS_LEFT), h: LABEL_LINE };
  const headH = Math.max(barBottom, caption.y + caption.h) + 4;
  const plot: Rect = { x: AXIS_LEFT, y: headH, w: plotWidth(width), h: p.plotHeight };
  const firstRow = '0', lastRow = String(Math.max(0, p.rows - 1));
  const rw = (s: string): number => measure(s, LABEL_PX);
  const rowLabels: Label[] = [
    { text: firstRow, px: LABEL_PX, x: AXIS_LEFT - 6 - rw(firstRow), y: plot.y, w: rw(firstRow), h: LABEL_LINE },
    ...(p.rows > 1 ? [{ text: lastRow, px: LABEL_PX, x: AXIS_LEFT - 6 - rw(lastRow), y: plot.y + plot.h - LABEL_LINE, w: rw(lastRow), h: LABEL_LINE }] : []),
  ];
  const axisLen = measure(p.rowLabel, LABEL_PX);
  const axisLabel: Label = { text: p.rowLabel, px: LABEL_PX, x: 4, y: plot.y + plot.h / 2 - axisLen / 2, w: LABEL_LINE, h: axisLen };
  return { height: plot.y + plot.h, name, caption, bar, ticks, plot, rowLabels, axisLabel };
}

/** The height of a heatmap's plot in a figure: two pixels a row, within [80, 180]. */
export function heatmapPlotHeight(rows: number): number {
  return Math.max(80, Math.min(180, rows * 2));
}

/**
 * The time axis under a figure's plots: tick marks at round timesteps whose labels do not overlap, the characters
 * themselves when each timestep is at least `CHAR_MIN_PX` wide, and the axis title under them.
 */
export interface TimeAxisLayout {
  readonly height: number;
  readonly ticks: readonly Label[];
  /** Tick marks' x (plot coordinates). */
  readonly marks: readonly number[];
  readonly chars: readonly Label[];
  readonly title: Label;
}

export const CHAR_MIN_PX = 7;

export function timeAxisLayout(start: number, end: number, plotW: number, title: string, measure: Measure, chars?: readonly string[]): TimeAxisLayout {
  const w = { start, end };
  const perT = plotW / Math.max(1, end - start);
  let y = 0;
  const charLabels: Label[] = [];
  if (chars && perT >= CHAR_MIN_PX) {
    const px = Math.min(12, Math.floor(perT * 0.9));
    for (let t = start; t < end; t++) {
      const text = displayChar(chars[t] ?? '');
      const cw = measure(text, px);
      charLabels.push({ text, px, x: xOf(t, w, plotW) - cw / 2, y: 2, w: cw, h: px + 4 });
    }
    y = px + 6;
  }
  const step = Math.max(1, niceStep((end - start) / Math.max(2, plotW / 90)));
  const ticks: Label[] = [];
  const marks: number[] = [];
  for (let t = Math.ceil(start / step) * step; t < end; t += step) {
    const x = xOf(t, w, plotW);
    const text = Math.round(t).toLocaleString('en-US');
    const tw = measure(text, LABEL_PX);
    const box: Label = { text, px: LABEL_PX, x: Math.max(0, Math.min(plotW - tw, x - tw / 2)), y: y + 6, w: tw, h: LABEL_LINE };
    const prev = ticks[ticks.length - 1];
    if (prev && prev.x + prev.w + 8 > box.x) continue;
    ticks.push(box);
    marks.push(x);
  }
  const titleW = measure(title, LABEL_PX);
  const titleLabel: Label = { text: title, px: LABEL_PX, x: Math.max(0, (plotW - titleW) / 2), y: y + 6 + LABEL_LINE + 2, w: titleW, h: LABEL_LINE };
  return { height: titleLabel.y + titleLabel.h, ticks, marks, chars: charLabels, title: titleLabel };
}

/** What a quantity's colours mean, for a figure's panel: its range and how to read it. */
export function scaleCaption(q: Quantity, scale: { readonly lo: number; readonly hi: number }, bounded: boolean): string {
  if (!bounded) return `unbounded: colours saturate at ±${formatTick(scale.hi)} (99th percentile of |${q}| in this layer)`;
  switch (q) {
    case 'i': case 'f': case 'o': case 'r': case 'z': return 'σ gate, in [0, 1]: 0 closed, 1 open';
    case 'g': return 'tanh, in [−1, 1]: what the input would write into c';
    case 'n': return 'tanh, in [−1, 1]: the candidate for the new h';
    case 'h': return 'in [−1, 1]: what the unit passes on';
    case 'c': return `in [${formatTick(scale.lo)}, ${formatTick(scale.hi)}]`;
  }
}
