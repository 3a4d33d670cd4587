import type { ExportResult, WebviewReplies, WebviewToHost } from '../src/protocol/webview';
import type { ColourScale, Figure, FigureBlock } from './context';
import type { Theme } from './data/colour';
import {
  AXIS_LEFT, BAR_H, BAR_W, barTicks, FIGURE_PAD, FIGURE_SCALE, FIGURE_WIDTH, flowLayout, heatmapPanelLayout, heatmapPlotHeight, LABEL_LINE, LABEL_PX,
  NAME_PX, PANEL_GAP, plotWidth, SWATCH_GAP, SWATCH_W, timeAxisLayout, TITLE_LINE, TITLE_PX, wrapText, type Label, type Measure, type PlacedTick, type Rect,
} from './data/figure';

type ExportType = 'exportPng' | 'exportTrace' | 'exportLossCsv';

/** What the exporter asks of the host (the bridge): to save what it is sent, answering where it went. */
export interface ExportHost {
  request<K extends ExportType>(msg: Extract<WebviewToHost, { type: K }>, transfer?: readonly ArrayBuffer[]): Promise<WebviewReplies[K]>;
}

/** The Save buttons: figures drawn into one PNG here, the trace and the loss history written by the host. */
export class Exporter {
  constructor(private readonly host: ExportHost) {}

  /** Saves canvases, stacked on the theme's background under a title, as one PNG through the host. */
  png(theme: Theme, name: string, title: string, canvases: readonly HTMLCanvasElement[]): Promise<void> {
    if (!canvases.length) return Promise.resolve();
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(...canvases.map((c) => c.width / dpr)) + 2 * FIGURE_PAD;
    return this.figure(theme, { name, title, width, scale: dpr, blocks: canvases.map((c) => ({ kind: 'image', image: c, width: c.width / dpr, height: c.height / dpr })) });
  }

  /** Draws a figure and saves it as PNG through the host. */
  async figure(theme: Theme, fig: Figure): Promise<void> {
    const out = drawFigure(theme, fig);
    const blob = await new Promise<Blob | null>((res) => out.toBlob(res, 'image/png'));
    if (!blob) return;
    const png = new Uint8Array(await blob.arrayBuffer());
    await this.host.request({ type: 'exportPng', name: fig.name, png }, [png.buffer as ArrayBuffer]);
  }

  /** Saves the trace as JSON, in the CLI's `trace` schema (the host asks where, and builds it in the engine worker). */
  trace(): Promise<ExportResult> {
    return this.host.request({ type: 'exportTrace' });
  }

  /** Saves the attached run's loss history as CSV. */
  lossCsv(): Promise<ExportResult> {
    return this.host.request({ type: 'exportLossCsv' });
  }
}

/** One block's part of the drawing: it paints itself with its top at `y`. */
type Paint = (ctx: CanvasRenderingContext2D, y: number) => void;

/**
 * A figure on a canvas: the title (wrapped) and subtitle, then each block stacked, on the theme's background, at
 * the figure's scale. Geometry from data/figure.ts; this only paints.
 */
export function drawFigure(theme: Theme, fig: Figure): HTMLCanvasElement {
  const W = fig.width ?? FIGURE_WIDTH, s = fig.scale ?? FIGURE_SCALE;
  const inner = W - 2 * FIGURE_PAD;
  const font = (px: number, bold = false): string => `${bold ? '600 ' : ''}${px}px ${theme.font}`;
  const scratch = document.createElement('canvas').getContext('2d')!;
  const measure: Measure = (text, px) => {
    scratch.font = font(px, px >= NAME_PX);
    return scratch.measureText(text).width;
  };
  const text = (ctx: CanvasRenderingContext2D, l: Label, x0: number, y0: number, colour: string, bold = false): void => {
    ctx.font = font(l.px, bold);
    ctx.fillStyle = colour;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    ctx.fillText(l.text, x0 + l.x, y0 + l.y + l.h / 2, Math.max(l.w, 1) + 0.5);
  };

  const paints: { y: number; paint: Paint }[] = [];
  let y = FIGURE_PAD;
  for (const line of wrapText(fig.title, inner, TITLE_PX, measure)) {
    const l: Label = { text: line, px: TITLE_PX, x: 0, y: 0, w: measure(line, TITLE_PX), h: TITLE_LINE };
    paints.push({ y, paint: (ctx, y0) => text(ctx, l, FIGURE_PAD, y0, theme.fg, true) });
    y += TITLE_LINE;
  }
  if (fig.subtitle) {
    for (const line of wrapText(fig.subtitle, inner, LABEL_PX + 1, measure)) {
      const l: Label = { text: line, px: LABEL_PX + 1, x: 0, y: 0, w: measure(line, LABEL_PX + 1), h: LABEL_LINE + 2 };
      paints.push({ y, paint: (ctx, y0) => text(ctx, l, FIGURE_PAD, y0, theme.muted) });
      y += LABEL_LINE + 2;
    }
  }
  y += 10;
  fig.blocks.forEach((b, k) => {
    const { height, paint } = blockPaint(theme, b, W, measure, text, font);
    paints.push({ y, paint });
    y += height + (k < fig.blocks.length - 1 ? gapAfter(b, fig.blocks[k + 1]!) : 0);
  });
  y += FIGURE_PAD;

  const out = document.createElement('canvas');
  out.width = Math.round(W * s);
  out.height = Math.round(y * s);
  const ctx = out.getContext('2d')!;
  ctx.setTransform(s, 0, 0, s, 0, 0);
  const [r, g, b] = theme.bg;
  ctx.fillStyle = `rgb(${r}, ${g}, ${b})`;
  ctx.fillRect(0, 0, W, y);
  for (const p of paints) {
    ctx.save();
    p.paint(ctx, p.y);
    ctx.restore();
  }
  return out;
}

/** Space between two blocks: none between the last heatmap and its time axis, which belong together. */
function gapAfter(a: FigureBlock, b: FigureBlock): number {
  return a.kind === 'heatmap' && b.kind === 'timeAxis' ? 0 : PANEL_GAP;
}

type TextFn = (ctx: CanvasRenderingContext2D, l: Label, x0: number, y0: number, colour: string, bold?: boolean) => void;

function blockPaint(theme: Theme, b: FigureBlock, W: number, measure: Measure, text: TextFn, font: (px: number, bold?: boolean) => string): { height: number; paint: Paint } {
  const x0 = FIGURE_PAD;
  const inner = W - 2 * FIGURE_PAD;
  switch (b.kind) {
    case 'heatmap': {
      const rows = b.pixels.height;
      const L = heatmapPanelLayout({ name: b.name, caption: b.caption, lo: b.scale.lo, hi: b.scale.hi, ticks: b.scale.ticks, rows, rowLabel: b.rowLabel,
        plotHeight: heatmapPlotHeight(rows) }, measure, W);
      return {
        height: L.height,
        paint: (ctx, y0) => {
          text(ctx, L.name, x0, y0, theme.fg, true);
          text(ctx, L.caption, x0, y0, theme.muted);
          paintBar(ctx, theme, b.scale, { ...L.bar, x: x0 + L.bar.x, y: y0 + L.bar.y }, L.ticks, text);
          const img = document.createElement('canvas');
          img.width = b.pixels.width;
          img.height = rows;
          img.getContext('2d')!.putImageData(new ImageData(b.pixels.data, b.pixels.width, rows), 0, 0);
          const p = L.plot;
          // upscaled cells stay crisp; downscaled (more rows or columns than pixels) average smoothly
          ctx.imageSmoothingEnabled = rows > p.h * FIGURE_SCALE || b.pixels.width > p.w * FIGURE_SCALE;
          ctx.imageSmoothingQuality = 'high';
          ctx.drawImage(img, x0 + p.x, y0 + p.y, p.w, p.h);
          ctx.strokeStyle = theme.border;
          ctx.lineWidth = 1;
          ctx.strokeRect(x0 + p.x - 0.5, y0 + p.y - 0.5, p.w + 1, p.h + 1);
          for (const l of L.rowLabels) text(ctx, l, x0, y0, theme.muted);
          rotated(ctx, L.axisLabel, x0, y0, theme.muted, font);
        },
      };
    }
    case 'timeAxis': {
      const pw = plotWidth(W);
      const A = timeAxisLayout(b.start, b.end, pw, b.title, measure, b.chars);
      const left = x0 + AXIS_LEFT;
      return {
        height: A.height,
        paint: (ctx, y0) => {
          for (const c of A.chars) text(ctx, c, left, y0, theme.fg);
          const markY = y0 + (A.ticks[0]?.y ?? 6) - 6;
          ctx.strokeStyle = theme.muted;
          ctx.lineWidth = 1;
          for (const x of A.marks) {
            ctx.beginPath();
            ctx.moveTo(left + x, markY);
            ctx.lineTo(left + x, markY + 4);
            ctx.stroke();
          }
          for (const t of A.ticks) text(ctx, t, left, y0, theme.muted);
          text(ctx, A.title, left, y0, theme.fg);
        },
      };
    }
    case 'image':
      return { height: b.height, paint: (ctx, y0) => ctx.drawImage(b.image, x0, y0, b.width, b.height) };
    case 'colourBar': {
      // the caption, then the bar on its line when both fit, else the bar under the (wrapped) caption
      const capW = measure(b.caption, LABEL_PX);
      const inline = capW + 16 + BAR_W <= inner;
      const lines = inline ? [b.caption] : wrapText(b.caption, inner, LABEL_PX, measure);
      const caps: Label[] = lines.map((line, k) => ({ text: line, px: LABEL_PX, x: 0, y: k * LABEL_LINE, w: measure(line, LABEL_PX), h: LABEL_LINE }));
      const bar: Rect = inline ? { x: capW + 16, y: 2, w: BAR_W, h: BAR_H } : { x: 0, y: lines.length * LABEL_LINE + 4, w: BAR_W, h: BAR_H };
      const ticks = barTicks(b.scale.lo, b.scale.hi, BAR_W, measure, b.scale.ticks);
      return {
        height: bar.y + bar.h + 2 + LABEL_LINE,
        paint: (ctx, y0) => {
          for (const cap of caps) text(ctx, cap, x0, y0, theme.fg);
          paintBar(ctx, theme, b.scale, { ...bar, x: x0 + bar.x, y: y0 + bar.y }, ticks, text);
        },
      };
    }
    case 'lineLegend': {
      const widths = b.items.map((it) => SWATCH_W + SWATCH_GAP + measure(it.label, LABEL_PX));
      const at = flowLayout(widths, inner - AXIS_LEFT);
      const rows = at.length ? at[at.length - 1]!.row + 1 : 0;
      const rowH = LABEL_LINE + 5;
      return {
        height: rows * rowH,
        paint: (ctx, y0) => {
          b.items.forEach((it, k) => {
            const x = x0 + AXIS_LEFT + at[k]!.x, y = y0 + at[k]!.row * rowH;
            ctx.strokeStyle = it.colour;
            ctx.lineWidth = 2.5;
            ctx.setLineDash(it.dashed ? [5, 3] : []);
            ctx.beginPath();
            ctx.moveTo(x, y + rowH / 2);
            ctx.lineTo(x + SWATCH_W, y + rowH / 2);
            ctx.stroke();
            ctx.setLineDash([]);
            text(ctx, { text: it.label, px: LABEL_PX, x: 0, y: 0, w: widths[k]! - SWATCH_W - SWATCH_GAP, h: rowH }, x + SWATCH_W + SWATCH_GAP, y, theme.fg);
          });
        },
      };
    }
    case 'note': {
      const lines = wrapText(b.text, inner - AXIS_LEFT, LABEL_PX, measure);
      return {
        height: lines.length * LABEL_LINE,
        paint: (ctx, y0) => lines.forEach((line, k) =>
          text(ctx, { text: line, px: LABEL_PX, x: 0, y: k * LABEL_LINE, w: measure(line, LABEL_PX), h: LABEL_LINE }, x0 + AXIS_LEFT, y0, theme.muted)),
      };
    }
  }
}

/** A colour bar: the ramp, its frame, tick marks and the numbers under it. */
function paintBar(ctx: CanvasRenderingContext2D, theme: Theme, scale: ColourScale, bar: Rect, ticks: readonly PlacedTick[], text: TextFn): void {
  const n = scale.lut.length / 4;
  const cols = Math.round(bar.w * FIGURE_SCALE);
  for (let c = 0; c < cols; c++) {
    const k = Math.round((c / (cols - 1)) * (n - 1)) * 4;
    ctx.fillStyle = `rgb(${scale.lut[k]}, ${scale.lut[k + 1]}, ${scale.lut[k + 2]})`;
    ctx.fillRect(bar.x + c / FIGURE_SCALE, bar.y, 1 / FIGURE_SCALE + 0.05, bar.h);
  }
  ctx.strokeStyle = theme.border;
  ctx.lineWidth = 1;
  ctx.strokeRect(bar.x - 0.5, bar.y - 0.5, bar.w + 1, bar.h + 1);
  ctx.strokeStyle = theme.muted;
  for (const t of ticks) {
    const x = Math.min(bar.x + bar.w - 0.5, Math.max(bar.x + 0.5, bar.x + t.at));
    ctx.beginPath();
    ctx.moveTo(x, bar.y + bar.h);
    ctx.lineTo(x, bar.y + bar.h + 3);
    ctx.stroke();
    text(ctx, { ...t.box, text: t.label, px: LABEL_PX }, bar.x, bar.y + bar.h, theme.muted);
  }
}

/** A label turned a quarter to the left, centred in its (upright) box. */
function rotated(ctx: CanvasRenderingContext2D, l: Label, x0: number, y0: number, colour: string, font: (px: number) => string): void {
  ctx.save();
  ctx.translate(x0 + l.x + l.w / 2, y0 + l.y + l.h / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.font = font(l.px);
  ctx.fillStyle = colour;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(l.text, 0, 0);
  ctx.restore();
}
