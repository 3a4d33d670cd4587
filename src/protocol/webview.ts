import type { CellType, Lang, TensorHistory, UnitQuantity } from '../engine/types';
import type { DidStepBody } from './debug';
import type { ReachView } from './reach';
import { SEARCH_MODES, type SearchState, type StepRange, type UnitRef, type UnitsView } from './units';
import type { TraceData, TraceSegmentData, TraceShape, TraceTail } from './trace';
import type { TrainProgress } from './worker';

export { DEFAULT_SEARCH, SEARCH_MODES, type SearchMode, type SearchState, type StepRange } from './units';

/**
 * The boundary between the extension host and the Inspector webview. Both ends import this module only.
 * The webview posts `ready` first; the host never posts before it, then sends `init` (the full state), then
 * deltas. Arrays cross as typed arrays (VS Code ≥ 1.57 carries them as binary), never as JSON number arrays.
 * Dimension legend: T characters, H hidden units, L layers, N progress reports.
 */

/** The webview panel type (WebviewPanelSerializer, `onWebviewPanel:` activation). */
export const INSPECTOR_VIEW_TYPE = 'gatescope.inspector';

/** What one panel inspects. The webview persists it with setState, so that a reload can restore the panel. */
export interface InspectorTarget {
  /** Model file URI; null while a training run has not yet written one. */
  readonly model: string | null;
  /** Text document URI; null for a panel that shows only a training run. */
  readonly document: string | null;
  /** The traced part of the document, UTF-16 offsets [start, end); null: the whole document. */
  readonly range: { readonly start: number; readonly end: number } | null;
  /** The training run shown in the dashboard, if any (not restored after a reload: runs end with the window). */
  readonly runId: number | null;
}

/** Facts about the model shown in the header. */
export interface ModelFacts {
  readonly name: string;
  readonly cell: CellType;
  readonly layers: number;      // L
  readonly hidden: number;      // H
  readonly embed: number;
  readonly vocabSize: number;
  readonly parameters: number;
  readonly steps: number | null;
  readonly trainLoss: number | null;
  readonly valLoss: number | null;
  readonly source: string | null;
}

/** A trace and where its text sits in the document. */
export interface TraceView {
  readonly trace: TraceData;
  readonly documentName: string;
  /** Code points of the document before the traced text (timestep t is the document's character first + t). */
  readonly first: number;
  /** Code points in the whole document. */
  readonly total: number;
  /** Things the user should know about this trace (truncated text, characters outside the vocabulary). */
  readonly notices: readonly string[];
  /**
   * A trace still arriving (the worker streams it in segments): the internals and predictions of timesteps
   * [0, filled) are there, the loss and gradient norms not yet (`stopped`: the user cancelled it there). Absent
   * once complete.
   */
  readonly pending?: { readonly filled: number; readonly stopped: boolean };
}

/** Gradient norms of the vanilla RNN trained for comparison, per layer. */
export interface CompareData {
  readonly label: string;
  readonly loss: number;
  readonly layers: readonly { readonly gradH: Float32Array; readonly gradC: Float32Array | null }[]; // each (T)
}

/** A training run's history as columns, one entry per progress report. */
export interface TrainingHistory {
  readonly runId: number;
  readonly title: string;
  readonly step: Float64Array;        // (N)
  readonly loss: Float32Array;        // (N)
  readonly valLoss: Float32Array;     // (N) NaN where not measured
  readonly gradNorm: Float32Array;    // (N)
  readonly clipRatio: Float32Array;   // (N)
  readonly charsPerSec: Float32Array; // (N)
  readonly latest: TrainProgress | null;
  readonly samples: readonly TrainingSample[];
  readonly finished: TrainingEnd | null;
  /** Per-tensor diagnostics every statsEvery steps (grad norms, update ratios): the run's so far, or the model file's. */
  readonly tensors?: TensorHistory | null;
}

export interface TrainingSample {
  readonly step: number;
  readonly text: string;
}

export interface TrainingEnd {
  readonly reason: 'done' | 'cancelled' | 'error';
  readonly message: string | null;
}

/** A line of status over the views: work under way, a problem, or a notice with an optional action. */
export interface PanelStatus {
  readonly kind: 'busy' | 'error' | 'notice';
  readonly message: string;
  /** Fraction done, for a progress bar. */
  readonly progress?: number;
  /** What the status's button does. */
  readonly action?: 'cancelCompare' | 'retrace' | 'cancelTrace';
}

/** The quantity a view shows for a unit: the hidden state, the LSTM cell state, or a gate by name. */
export type Quantity = 'h' | 'c' | 'i' | 'f' | 'g' | 'o' | 'r' | 'z' | 'n';

/**
 * Where the debugger is on the panel's text: the newest live Gatescope debug session on its document. Its t wins over
 * the cursor a webview restored; its edited state, when it has one, overlays the views of that one step.
 */
export interface DebuggerStep {
  /** The panel's timestep of the debugger's character. */
  readonly t: number;
  /** The debugger's state at t when an intervention (Set Value) made it differ from the trace, with the panel's model; else null. */
  readonly edited: EditedStep | null;
}

/** The debugger's state at one step, interventions included. H units, L layers, as in the trace. */
export interface EditedStep {
  /** Per layer (L): h, c (LSTM; else null) and the gates by name after the step, h and c after the step before. Each (H). */
  readonly layers: readonly EditedLayer[];
  /** The likeliest next characters, most likely first. */
  readonly top: readonly { readonly char: string; readonly p: number }[];
  /** The character that comes next and its probability; null at the end of the debugger's text. */
  readonly next: { readonly char: string; readonly p: number } | null;
  /** The probability the step before gave this step's character (null at the first). */
  readonly pChar: number | null;
  /** The interventions at or before this step; `t` is the panel's timestep (null: outside the traced text). */
  readonly edits: readonly { readonly t: number | null; readonly layer: number; readonly state: 'h' | 'c'; readonly unit: number; readonly value: number }[];
}

export interface EditedLayer {
  readonly h: Float32Array;                                  // (H)
  readonly c: Float32Array | null;                           // (H)
  readonly gates: Readonly<Record<string, Float32Array>>;    // each (H)
  readonly hPrev: Float32Array;                              // (H)
  readonly cPrev: Float32Array | null;                       // (H)
}

/**
 * The debugger's edited state in the panel's terms, from a didStep event of a session with the panel's model, or null
 * when it has none or it does not fit the trace (L layers of H units, the cell's gates). `stepAt` maps a document
 * offset to the panel's timestep. The event comes from our own adapter, but across a process and a protocol: it is
 * checked as any message is.
 */
export function editedStepOf(body: DidStepBody, cell: CellType, L: number, H: number, stepAt: (offset: number) => number | null): EditedStep | null {
  const st = body.state;
  if (!body.diverged || !st || st.layers.length !== L) return null;
  const vec = (v: unknown): Float32Array | null => (Array.isArray(v) && v.length === H && v.every((x) => typeof x === 'number') ? Float32Array.from(v as number[]) : null);
  const gateNames = quantitiesOf(cell).filter((q) => q !== 'h' && q !== 'c');
  const layers: EditedLayer[] = [];
  for (const l of st.layers) {
    const h = vec(l.h), hPrev = vec(l.hPrev);
    const c = cell === 'lstm' ? vec(l.c) : null, cPrev = cell === 'lstm' ? vec(l.cPrev) : null;
    const gates: Record<string, Float32Array> = {};
    for (const q of gateNames) {
      const g = vec(l.gates?.[q]);
      if (!g) return null;
      gates[q] = g;
    }
    if (!h || !hPrev || (cell === 'lstm' && (!c || !cPrev))) return null;
    layers.push({ h, c, gates, hPrev, cPrev });
  }
  return {
    layers,
    top: body.top.map((x) => ({ char: x.ch, p: x.p })),
    next: body.next ? { char: body.next.ch, p: body.next.p } : null,
    pChar: st.pChar,
    edits: st.edits.map((e) => ({ t: stepAt(e.offset), layer: e.layer, state: e.state, unit: e.unit, value: e.value })),
  };
}

/** Everything the user chose, persisted with the webview's setState and restored after a reload. */
export interface ViewState {
  readonly tab: 'inspect' | 'training';
  readonly layer: number;
  readonly quantity: Quantity;
  readonly unit: number;
  /** Units drawn in the trajectory chart. */
  readonly units: readonly number[];
  /** The visible time window (zoom); null: the whole text. */
  readonly window: StepRange | null;
  readonly cursor: number;
  /** The text range of the unit search. */
  readonly selection: StepRange | null;
  readonly threshold: number;
  /** The unit search's feature and scope. */
  readonly search: SearchState;
  /** Also show heatmaps of c and h under the gates. */
  readonly showStates: boolean;
}

/** The webview's persisted state (vscode.setState): what it inspects and how it is viewed. */
export interface PersistedState {
  readonly target: InspectorTarget;
  readonly view: ViewState;
}

/** Host → webview. `getState` is a request (test-only); the rest are notifications. */
export type HostToWebview =
  /** The full state, once after each `ready`. */
  | { type: 'init'; target: InspectorTarget; model: ModelFacts | null; trace: TraceView | null; compare: CompareData | null;
      training: TrainingHistory | null; status: PanelStatus | null }
  /** A new trace (the first, after the text changed, or of another range: `target` says which). */
  | { type: 'didTrace'; target: InspectorTarget; model: ModelFacts; trace: TraceView }
  /**
   * A new trace that arrives in segments: its shape (the webview allocates its arrays, src/protocol/trace.ts
   * emptyTrace), then didTraceSegment for each segment in order, then didTraceEnd.
   */
  | { type: 'didTraceStart'; target: InspectorTarget; model: ModelFacts; view: Omit<TraceView, 'trace' | 'pending'>; shape: TraceShape }
  | { type: 'didTraceSegment'; segment: TraceSegmentData }
  /** The streamed trace is complete (its loss and gradient norms), or was stopped after `stopped` timesteps. */
  | { type: 'didTraceEnd'; tail: TraceTail | null; stopped: number | null }
  /** The status line changed (null clears it). */
  | { type: 'didChangeStatus'; status: PanelStatus | null }
  /** The RNN comparison arrived (or was removed). */
  | { type: 'didCompare'; compare: CompareData | null }
  /** Show a tab (the dashboard while a comparison trains, the inspector again after it). */
  | { type: 'showTab'; tab: ViewState['tab'] }
  /** Another run to draw beside this panel's on its dashboard (the explosion's unclipped run beside the clipped). */
  | { type: 'didCompareTraining'; training: TrainingHistory }
  /** The model's own training history (from its file: a finished model no run of this window trained). */
  | { type: 'didLoadHistory'; training: TrainingHistory }
  /** A training run is attached to this panel (its history so far). */
  | { type: 'didStartTraining'; training: TrainingHistory }
  /** One progress report of the attached run. */
  | { type: 'didProgress'; runId: number; progress: TrainProgress }
  /** Text sampled from the model during training. */
  | { type: 'didSample'; runId: number; sample: TrainingSample }
  /** The attached run ended. */
  | { type: 'didFinishTraining'; runId: number; end: TrainingEnd; model: string | null }
  /** Move the cursor to timestep t (the editor cursor moved). */
  | { type: 'setCursor'; t: number }
  /**
   * Where the debugger is (null: no Gatescope debug session on this text): after `init`, after each `didTrace` and at
   * every debugger stop. The cursor moves to its t; its edited state overlays the views of that step.
   */
  | { type: 'didStep'; step: DebuggerStep | null }
  /** Select a range of timesteps for the unit search (the editor's selection). */
  | { type: 'selectRange'; range: StepRange }
  /** Set the unit search (Find Units for Selection, the walkthrough) and show its results. */
  | { type: 'searchUnits'; search: Partial<SearchState> }
  /** Test-only request: what the view shows. Replies InspectorSnapshot. */
  | { type: 'getState' };

/** Webview → host. Requests (sent with Messenger.request) are marked; the rest are notifications. */
export type WebviewToHost =
  /** The webview is listening; the host answers with `init`. */
  | { type: 'ready' }
  /** The user hovered or picked timestep t: highlight and reveal its character in the editor. */
  | { type: 'didMoveCursor'; t: number }
  /** The view state changed (layer, unit, quantity… drive Colour Text by Unit and the editor hover). */
  | { type: 'didChangeView'; view: ViewState }
  /** Request: train (or load) a vanilla RNN and overlay its gradients. Replies when done, failed or cancelled. */
  | { type: 'compareWithRnn' }
  | { type: 'cancelCompare' }
  /** Stop the trace under way (the views keep the timesteps that arrived). */
  | { type: 'cancelTrace' }
  /** Trace the text again (after it changed). */
  | { type: 'retrace' }
  /** Run Colour Text by Unit with the current layer, unit and quantity. */
  | { type: 'colourEditor' }
  /**
   * Request: the gradient reach of the prediction at timestep `at` (K = maxK steps back; the per-step factor of
   * `layer`; with `saliencyFrom`, the saliency back to that timestep), of the model and of the comparison model.
   * Replies ReachView (src/protocol/reach.ts).
   */
  | { type: 'reach'; at: number; maxK: number; layer: number; saliencyFrom?: number }
  /**
   * Request: the units ranked against the search's feature (the selection counts in the ranges mode), at most `top`;
   * the scatter's values are of `pick` while it is listed, else of the best unit. Replies UnitsView
   * (src/protocol/units.ts), or null when the search has nothing to search yet (an empty regex, no ranges).
   */
  | { type: 'units'; search: SearchState; selection: StepRange | null; top: number; pick: UnitRef | null }
  /** Request: save a chart as PNG. Replies ExportResult. */
  | { type: 'exportPng'; name: string; png: Uint8Array }
  /** Request: save the trace as JSON, in the CLI's `trace` schema. Replies ExportResult. */
  | { type: 'exportTrace' }
  /** Request: save the attached run's loss history as CSV. Replies ExportResult. */
  | { type: 'exportLossCsv' };

/** What the host answers each webview request with. */
export interface WebviewReplies {
  compareWithRnn: void;
  reach: ReachView;
  units: UnitsView | null;
  exportPng: ExportResult;
  exportTrace: ExportResult;
  exportLossCsv: ExportResult;
}

/** What the webview answers each host request with. */
export interface HostReplies {
  getState: InspectorSnapshot;
}

export interface ExportResult {
  /** Where it was saved; null when the user cancelled. */
  readonly path: string | null;
}

/** Test-only: what the view shows, for in-host tests and the standalone page. */
export interface InspectorSnapshot {
  readonly target: InspectorTarget | null;
  readonly view: ViewState;
  readonly model: string | null;
  readonly cell: CellType | null;
  /** T of the shown trace (0: none). */
  readonly steps: number;
  /** A trace still arriving: timesteps there so far, and whether it was stopped (null: complete or none). */
  readonly tracing: { readonly filled: number; readonly stopped: boolean } | null;
  readonly layers: number;
  readonly hidden: number;
  /** The character under the cursor. */
  readonly cursorChar: string | null;
  /** Every canvas of the visible tab: its id, size in device pixels and the fraction of its pixels drawn. */
  readonly canvases: readonly CanvasInk[];
  /** Units ranked by the unit search, best first (at most 10). */
  readonly search: readonly { readonly unit: number; readonly sign: 1 | -1; readonly score: number }[];
  /**
   * The feature search (modes feature, regex, ranges): the feature's name, its best units (at most 10), the
   * positions where a 0/1 feature is 1, what the card says instead of results (an invalid regex, a constant
   * feature), and the points of the scatter drawn.
   */
  readonly featureSearch: {
    readonly feature: string | null;
    readonly units: readonly { readonly layer: number; readonly unit: number; readonly quantity: UnitQuantity; readonly r: number; readonly meanIn?: number; readonly meanOut?: number }[];
    readonly matches: number | null;
    readonly message: string | null;
    readonly scatter: { readonly layer: number; readonly unit: number; readonly quantity: UnitQuantity; readonly points: number } | null;
    /** A search is under way: what is shown is the previous one's answer. */
    readonly pending: boolean;
  } | null;
  readonly compare: string | null;
  /** The gradient reach card: the prediction's position, K, horizons (model, comparison), headline, curves drawn. */
  readonly reach: {
    readonly at: number; readonly maxK: number | null; readonly horizon: readonly (number | null)[];
    readonly compareHorizon: readonly (number | null)[] | null; readonly headline: string;
    readonly curves: number; readonly compareCurves: number;
    /** Characters of the strip coloured by saliency (0: saliency mode off). */
    readonly saliency: number;
    readonly note: string | null;
  } | null;
  /** The cell diagram: the step, layer and unit (null: mean over units) it shows, and its numbers. */
  readonly diagram: {
    readonly t: number; readonly layer: number; readonly unit: number | null; readonly values: Readonly<Record<string, number | string>>;
    /** The values are the debugger's edited state (Set Value), marked so on the diagram. */
    readonly edited: boolean;
  } | null;
  readonly training: {
    readonly runId: number; readonly reports: number; readonly step: number; readonly samples: number; readonly finished: boolean;
    /** Per-tensor diagnostics rows drawn (the "Which weights learn" card), and the run drawn beside this one (its title). */
    readonly tensorRows: number; readonly compared: string | null;
  } | null;
  readonly status: PanelStatus | null;
  /** The debugger this panel follows (null: none on its text): its timestep here, and whether its state there is edited (Set Value). */
  readonly debugger: { readonly t: number; readonly edited: boolean } | null;
  /**
   * The Cursor card: its step, whether its numbers are the debugger's edited ones, the mark it then shows, its top
   * next-character predictions and p of the character at the step; null without a trace.
   */
  readonly readout: {
    readonly t: number; readonly edited: boolean; readonly mark: string | null;
    readonly top: readonly { readonly char: string; readonly p: number }[]; readonly pChar: number | null;
  } | null;
  /** The one line over the time-series views while the cursor's step is edited in the debugger (null: not shown). */
  readonly seriesNote: string | null;
  readonly theme: 'dark' | 'light' | 'high-contrast' | 'high-contrast-light';
  /** Milliseconds from the trace's arrival to all views painted, of the last hover, and per view of the last of each. */
  readonly timings: { readonly paintMs: number | null; readonly hoverMs: number | null; readonly breakdown: Readonly<Record<string, number>> };
  /** Content-Security-Policy violations seen by the page (must be 0). */
  readonly cspViolations: readonly string[];
}

export interface CanvasInk {
  readonly id: string;
  readonly width: number;
  readonly height: number;
  readonly ink: number;
}

/**
 * σ gates are in [0, 1]; g, n and h in [−1, 1]; the LSTM cell state is unbounded, and so is the h of a ReLU RNN
 * (in [0, ∞): pass the cell to have it; without one, h is taken as a tanh's).
 */
export function quantityRange(q: Quantity, cell?: CellType): { readonly lo: number; readonly hi: number } | null {
  switch (q) {
    case 'i': case 'f': case 'o': case 'r': case 'z':
      return { lo: 0, hi: 1 };
    case 'h':
      return cell === 'rnn_relu' ? null : { lo: -1, hi: 1 };
    case 'g': case 'n':
      return { lo: -1, hi: 1 };
    case 'c':
      return null;
  }
}

/** The quantities a cell has, in display order: its gates, then c (LSTM), then h. */
export function quantitiesOf(cell: CellType): readonly Quantity[] {
  switch (cell) {
    case 'lstm': return ['i', 'f', 'g', 'o', 'c', 'h'];
    case 'gru': return ['r', 'z', 'n', 'h'];
    case 'rnn_tanh': case 'rnn_relu': return ['h'];
  }
}

/** Human names of the quantities. */
export const QUANTITY_NAMES: Readonly<Record<Quantity, string>> = {
  i: 'input gate', f: 'forget gate', g: 'cell candidate', o: 'output gate',
  r: 'reset gate', z: 'update gate', n: 'new gate', c: 'cell state', h: 'hidden state',
};

/** The (T, H) values of a quantity in a layer of a trace, or null when the cell has none. */
export function quantityValues(layer: TraceData['layers'][number], q: Quantity): Float32Array | null {
  if (q === 'h') return layer.h;
  if (q === 'c') return layer.c;
  return layer.gates[q] ?? null;
}

// ---- checking what the webview sends -------------------------------------------------------------------------
// The webview runs the extension's own script, but its messages still cross a process boundary: the host acts on a
// message only after checking every field it reads (types, ranges, sizes), as it would a file.

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, lo = 0, hi = 2 ** 31): v is number => Number.isSafeInteger(v) && (v as number) >= lo && (v as number) <= hi;
const isRange = (v: unknown): v is StepRange => isObj(v) && isInt(v['start']) && isInt(v['end']) && (v['start'] as number) <= (v['end'] as number);
const oneOf = <T extends string>(v: unknown, xs: readonly T[]): v is T => typeof v === 'string' && (xs as readonly string[]).includes(v);
const QUANTITIES: readonly Quantity[] = ['h', 'c', 'i', 'f', 'g', 'o', 'r', 'z', 'n'];
const UNIT_QUANTITIES: readonly UnitQuantity[] = ['c', 'tanh(c)', 'h', 'i', 'f', 'g', 'o', 'r', 'z', 'n'];
const FEATURES: readonly SearchState['feature'][] = ['column', 'line-length', 'indent', 'depth', 'string', 'comment'];
const LANG_NAMES: readonly Lang[] = ['python', 'c', 'js', 'shell', 'plain'];

function isUnitRef(v: unknown): v is UnitRef {
  return isObj(v) && isInt(v['layer'], 0, 4096) && isInt(v['unit']) && oneOf(v['quantity'], UNIT_QUANTITIES);
}

export function isSearchState(v: unknown): v is SearchState {
  return isObj(v) && oneOf(v['mode'], SEARCH_MODES) && oneOf(v['feature'], FEATURES) && (v['lang'] === null || oneOf(v['lang'], LANG_NAMES)) &&
    typeof v['regex'] === 'string' && v['regex'].length <= 10_000 && Array.isArray(v['ranges']) && v['ranges'].length <= 10_000 && v['ranges'].every(isRange) &&
    (v['quantity'] === 'all' || oneOf(v['quantity'], UNIT_QUANTITIES)) && (v['layer'] === null || isInt(v['layer'], 0, 4096));
}

export function isViewState(v: unknown): v is ViewState {
  return isObj(v) && oneOf(v['tab'], ['inspect', 'training'] as const) && isInt(v['layer'], 0, 4096) && oneOf(v['quantity'], QUANTITIES) &&
    isInt(v['unit']) && Array.isArray(v['units']) && v['units'].length <= 64 && v['units'].every((u) => isInt(u)) &&
    (v['window'] === null || isRange(v['window'])) && isInt(v['cursor']) && (v['selection'] === null || isRange(v['selection'])) &&
    typeof v['threshold'] === 'number' && v['threshold'] >= 0 && v['threshold'] <= 1 && typeof v['showStates'] === 'boolean' && isSearchState(v['search']);
}

/** The message when every field the host reads is what the protocol says; null otherwise (the host ignores it). */
export function checkWebviewToHost(m: unknown): WebviewToHost | null {
  if (!isObj(m) || typeof m['type'] !== 'string') return null;
  switch (m['type']) {
    case 'ready': case 'compareWithRnn': case 'cancelCompare': case 'cancelTrace': case 'retrace': case 'colourEditor': case 'exportTrace': case 'exportLossCsv':
      return m as WebviewToHost;
    case 'didMoveCursor':
      return isInt(m['t']) ? m as WebviewToHost : null;
    case 'didChangeView':
      return isViewState(m['view']) ? m as WebviewToHost : null;
    case 'reach':
      return isInt(m['at']) && isInt(m['maxK'], 1, 100_000) && isInt(m['layer'], 0, 4096) && (m['saliencyFrom'] === undefined || isInt(m['saliencyFrom']))
        ? m as WebviewToHost : null;
    case 'units':
      return isSearchState(m['search']) && (m['selection'] === null || isRange(m['selection'])) && isInt(m['top'], 1, 1000) && (m['pick'] === null || isUnitRef(m['pick']))
        ? m as WebviewToHost : null;
    case 'exportPng':
      // a chart's name (a file name's part) and a PNG of at most 64 MB, starting with PNG's signature
      return typeof m['name'] === 'string' && /^[a-z0-9-]{1,40}$/.test(m['name']) && m['png'] instanceof Uint8Array && m['png'].length <= 64 * 2 ** 20 &&
        [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((b, k) => (m['png'] as Uint8Array)[k] === b) ? m as WebviewToHost : null;
    default:
      return null;
  }
}
