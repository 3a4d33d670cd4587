import type { ExportResult, WebviewToHost } from '../src/protocol/webview';
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
  | 'theme' | 'model' | 'traceView' | 'trace' | 'compare' | 'history' | 'status' | 'view' | 'hover' | 'chars'
  | 'search' | 'featureSearch' | 'reach' | 'reachError' | 'saliencyOn' | 'saliency'
  // derived
  | 'T' | 'H' | 'window' | 'focus' | 'searchMask' | 'quantities' | 'values' | 'scaleOf' | 'rampOf' | 'saturationOf' | 'unitColour'
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
  exportTrace(): Promise<ExportResult>;
  exportLossCsv(): Promise<ExportResult>;
  /** Trains (or reopens) the comparison model and overlays it; resolves when it is done, failed or cancelled. */
  compareWithRnn(): Promise<void>;
  /** The host's commands without an answer: cancel the comparison, trace again, colour the editor's text. */
  notify(msg: Extract<WebviewToHost, { type: 'cancelCompare' | 'retrace' | 'colourEditor' }>): void;
}
