import type { ExportResult, WebviewToHost } from '../src/protocol/webview';
import type { Tick } from './data/figure';
import type { Change, Store } from './store';

/** A part of the page: repaints what depends on the changes it is told of. */
export interface View {
  update(changes: ReadonlySet<Change>): void;
  /** Canvases for the snapshot's ink check. */
  canvases?(): readonly HTMLCanvasElement[];
}

/** The floating tooltip the canvases share. */
export interface Tip {
  show(content: Node, clientX: number, clientY: number): void;
  hide(): void;
}

/** The store as the views see it: its state and derived data read-only, and its actions. */
export type StoreContext = Readonly<Pick<Store,
  // state
  | 'theme' | 'model' | 'traceView' | 'trace' | 'compare' | 'history' | 'comparedRun' | 'status' | 'view' | 'hover' | 'chars'
  | 'search' | 'featureSearch' | 'reach' | 'reachError' | 'saliencyOn' | 'saliency' | 'debugStep'
  // derived
  | 'T' | 'H' | 'window' | 'focus' | 'searchMask' | 'editedAt' | 'quantities' | 'values' | 'scaleOf' | 'rampOf' | 'saturationOf' | 'unitColour'
  | 'searchMessage'
  // actions
  | 'setView' | 'hoverAt' | 'moveCursor' | 'selectUnit' | 'togglePlotted' | 'setWindow' | 'setSelection' | 'setSearch'
  | 'addSearchRange' | 'pickSearchResult' | 'setSaliency'
>>;

/**
 * Everything a view may read or call: the store, the shared tooltip, the exports and the host's commands — not the
 * bridge, persistence or painting. Each view takes the Pick of it that it uses.
 */
export interface ViewContext extends StoreContext {
  readonly tooltip: Tip;
  /** Saves canvases as one PNG (titled, on the theme's background). */
  exportPng(name: string, title: string, canvases: readonly HTMLCanvasElement[]): Promise<void>;
  /** Saves a figure as PNG: its titles, panels, colour bars, legends and axes laid out by data/figure.ts. */
  exportFigure(figure: Figure): Promise<void>;
  exportTrace(): Promise<ExportResult>;
  exportLossCsv(): Promise<ExportResult>;
  /** Trains (or reopens) the comparison model and overlays it; resolves when it is done, failed or cancelled. */
  compareWithRnn(): Promise<void>;
  /** The host's commands without an answer: cancel the comparison, trace again, colour the editor's text. */
  notify(msg: Extract<WebviewToHost, { type: 'cancelCompare' | 'cancelTrace' | 'retrace' | 'colourEditor' }>): void;
}

/** A figure to save as PNG: titled, on the theme's background, its blocks stacked top to bottom. */
export interface Figure {
  /** Part of the file name (lower-case letters, digits and dashes). */
  readonly name: string;
  readonly title: string;
  /** What it shows, where from (a line or two under the title). */
  readonly subtitle?: string;
  /** CSS pixels; data/figure.ts FIGURE_WIDTH when absent. */
  readonly width?: number;
  /** Pixels per CSS pixel; FIGURE_SCALE when absent (a figure of the page's own canvases: the page's ratio). */
  readonly scale?: number;
  readonly blocks: readonly FigureBlock[];
}

/** A colour scale as drawn: the ramp over [lo, hi], with explicit ticks when they are not round values (a log scale). */
export interface ColourScale {
  readonly lut: Uint8ClampedArray;
  readonly lo: number;
  readonly hi: number;
  readonly ticks?: readonly Tick[];
}

/** RGBA pixels, row-major (data/heatmap.ts heatmapImage). */
export interface Pixels {
  readonly data: Uint8ClampedArray<ArrayBuffer>;
  readonly width: number;
  readonly height: number;
}

export type FigureBlock =
  /** A rows × time heatmap: its name, what its colours mean, its colour bar with numbers, the row axis. */
  | { readonly kind: 'heatmap'; readonly name: string; readonly caption: string; readonly scale: ColourScale; readonly pixels: Pixels; readonly rowLabel: string }
  /** The time axis under the heatmaps: round timesteps, the characters when they fit, the axis title. */
  | { readonly kind: 'timeAxis'; readonly start: number; readonly end: number; readonly title: string; readonly chars?: readonly string[] }
  /** A canvas drawn at `width` × `height` CSS pixels (a chart rendered for the figure, or a view's canvas). */
  | { readonly kind: 'image'; readonly image: HTMLCanvasElement; readonly width: number; readonly height: number }
  /** A colour bar with its numbers, after a caption saying what is coloured. */
  | { readonly kind: 'colourBar'; readonly caption: string; readonly scale: ColourScale }
  /** Which line is which: a swatch (dashed or solid) and a label per line. */
  | { readonly kind: 'lineLegend'; readonly items: readonly { readonly label: string; readonly colour: string; readonly dashed: boolean }[] }
  /** A paragraph of small print. */
  | { readonly kind: 'note'; readonly text: string };
