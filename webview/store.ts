import type { ReachView } from '../src/protocol/reach';
import { fillSegment, finishTrace, type TraceData, type TraceSegmentData, type TraceTail } from '../src/protocol/trace';
import { robustMaxAbs } from '../src/protocol/traceQuery';
import { searchRanges, viewQuantity, type UnitCorrelation, type UnitRef, type UnitsView } from '../src/protocol/units';
import {
  DEFAULT_SEARCH, quantitiesOf, quantityRange, quantityValues,
  type CompareData, type DebuggerStep, type EditedStep, type HostToWebview, type InspectorTarget, type ModelFacts, type PanelStatus, type PersistedState, type Quantity,
  type SearchState, type StepRange, type TraceView, type TrainingEnd, type TrainingHistory, type TrainingSample, type ViewState,
  type WebviewReplies, type WebviewToHost,
} from '../src/protocol/webview';
import type { TrainProgress } from '../src/protocol/worker';
import type { Theme } from './data/colour';
import { History } from './data/history';
import { REACH_K, saliencyCovers, saliencyFrom, saliencyLevels } from './data/reach';
import { rankUnits, type UnitMatch } from './data/search';
import { mostVariableUnits, saturation } from './data/stats';
import { follow } from './data/zoom';

/** What changed, so that each view repaints only what it must. */
export type Change = 'data' | 'theme' | 'layer' | 'quantity' | 'unit' | 'units' | 'window' | 'cursor' | 'selection'
  | 'threshold' | 'states' | 'compare' | 'training' | 'status' | 'tab' | 'size' | 'reach' | 'search' | 'debug';

/** What the store asks of the host (the bridge in the webview, a fake in tests): the engine's answers, the cursor. */
export interface StoreHost {
  request<K extends 'units' | 'reach'>(msg: Extract<WebviewToHost, { type: K }>): Promise<WebviewReplies[K]>;
  notify(msg: Extract<WebviewToHost, { type: 'didMoveCursor' }>): void;
}

/** setTimeout and clearTimeout, injected so that tests decide when time passes. */
export interface Timers {
  setTimeout(f: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Told what the store's actions did, synchronously and in order. */
export interface StoreListener {
  /** Repaint what depends on these. */
  changed(changes: ReadonlySet<Change>): void;
  /** The view state or the target changed: save it and tell the host (the listener debounces). */
  persist?(): void;
  /** The cursor or the selected unit moved: tell screen readers where it is, once it settles. */
  announce?(): void;
}

/** The init notification's payload. */
export type InitState = Omit<Extract<HostToWebview, { type: 'init' }>, 'type'>;

/** Per trace and layer, computed once: colour scale of c, gate saturation. */
interface LayerStats {
  cScale: number;
  /** A ReLU RNN's h: the 99th percentile of its values (its [0, ∞) colour scale), made on first use. */
  hScale: number | null;
  saturation: Map<Quantity, { left: Float32Array; right: Float32Array }>;
}

/** While a trace streams in, the views repaint at most this often. */
const SEGMENT_PAINT_MS = 150;

/** Timesteps shown when a long text is first opened (Fit shows them all). */
const INITIAL_WINDOW = 400;
/** Units plotted at most (the oldest goes first). */
const MAX_PLOTTED = 8;
/** Units listed by the threshold search and asked of the feature search. */
const TOP_UNITS = 30;
/** The cursor rests this long before the reach at it is asked for (a held arrow key asks once). */
const REACH_DELAY_MS = 60;

export const DEFAULT_VIEW: ViewState = {
  tab: 'inspect', layer: 0, quantity: 'h', unit: 0, units: [], window: null, cursor: 0, selection: null, threshold: 0.5,
  showStates: false, search: DEFAULT_SEARCH,
};

/**
 * The inspector's state: what the host sent and what the user chose (ViewState), the data derived from them, and
 * the actions that change them. No DOM: the host is reached through `StoreHost`, time through `Timers`, and the
 * page repaints, saves and announces when its `StoreListener` is told to. The fields are written by the store
 * only; the views see them read-only (context.ts).
 */
export class Store {
  theme: Theme;
  target: InspectorTarget | null;
  model: ModelFacts | null = null;
  traceView: TraceView | null = null;
  compare: CompareData | null = null;
  history: History | null = null;
  status: PanelStatus | null = null;
  view: ViewState;
  /** The timestep under the mouse, if any (the views show it in place of the cursor). */
  hover: number | null = null;
  /** The characters of the trace, one per timestep. */
  chars: string[] = [];
  /** The threshold search's ranking of the units on the selection. */
  search: UnitMatch[] = [];
  /**
   * The feature search (modes feature, regex, ranges), answered by the engine worker on the trace it keeps:
   * `searching` until the first answer for this trace; then the last answer (null: nothing to search yet, an empty
   * regex or no ranges) or why the request failed.
   */
  featureSearch: { searching: boolean; result: UnitsView | null; error: string | null } = { searching: false, result: null, error: null };
  /** The gradient reach at the cursor (asked of the host when the cursor, the layer or the comparison changes). */
  reach: ReachView | null = null;
  /** Saliency mode of the text strip: the characters before the cursor by how much its prediction depends on them. */
  saliencyOn = false;
  /** (T) the strip's saliency levels in [0, 1], −1 where none (data/reach.ts saliencyLevels). */
  saliency: Float32Array | null = null;
  /** Why the last reach request failed (shown in the card; the rest of the panel is unaffected). */
  reachError: string | null = null;
  /**
   * Where the debugger is on this text (null: no Gatescope debug session on it). Its edited state (Set Value) overlays
   * the views of its step only; the time-series views keep the trace.
   */
  debugStep: DebuggerStep | null = null;

  /** The result the user clicked (its scatter is shown while it is listed; the best one's otherwise). */
  private picked: UnitRef | null = null;
  /** One search in flight at a time; a change meanwhile asks once more when it is answered (the last one wins). */
  private searchInFlight = false;
  private searchAgain = false;
  private reachTimer: unknown = undefined;
  private reachAsked = -1;
  private readonly stats = new Map<number, LayerStats>();
  /** The units shown were picked for a trace still arriving: pick again as it fills, until the user chooses. */
  private autoUnits = false;
  /** The repaint scheduled for arriving segments, and whether this trace painted any yet. */
  private segmentPaint: unknown = undefined;
  private emitted = false;
  private readonly listeners: StoreListener[] = [];

  constructor(private readonly host: StoreHost, private readonly timers: Timers, theme: Theme, saved?: PersistedState) {
    this.theme = theme;
    this.view = { ...DEFAULT_VIEW, ...(saved?.view ?? {}), search: { ...DEFAULT_SEARCH, ...(saved?.view?.search ?? {}) } };
    this.target = saved?.target ?? null;
  }

  /** Adds a listener: the page, which paints, saves and announces. */
  subscribe(listener: StoreListener): void {
    this.listeners.push(listener);
  }

  // ---- derived data -------------------------------------------------------------------------------------

  get trace(): TraceData | null {
    return this.traceView?.trace ?? null;
  }

  get T(): number {
    return this.trace?.tokens.length ?? 0;
  }

  get H(): number {
    return this.trace?.hidden ?? 0;
  }

  /** The visible time window (the zoom). */
  get window(): StepRange {
    return this.view.window ?? { start: 0, end: this.T };
  }

  /** The timestep the views highlight: the one under the mouse, else the cursor. */
  get focus(): number {
    return this.hover ?? this.view.cursor;
  }

  /** (T) where the search's 0/1 feature is 1 (regex matches, ranges, strings, comments), for the strip; else null. */
  get searchMask(): Float32Array | null {
    const r = this.featureSearch.result;
    return r?.binary && r.x && this.view.search.mode !== 'threshold' ? r.x : null;
  }

  /** A units request is under way: what is shown is the previous one's answer. */
  get unitsPending(): boolean {
    return this.searchInFlight;
  }

  /** The debugger's edited state at timestep t, when it has one there (the Cursor card, the tooltip and the diagram show it). */
  editedAt(t: number): EditedStep | null {
    const d = this.debugStep;
    return d?.edited && d.t === t ? d.edited : null;
  }

  quantities(): readonly Quantity[] {
    return this.trace ? quantitiesOf(this.trace.cell) : ['h'];
  }

  /** (T, H) values of a quantity in a layer (the view's layer by default); null where the cell has none. */
  values(q: Quantity, layer = this.view.layer): Float32Array | null {
    const L = this.trace?.layers[layer];
    return L ? quantityValues(L, q) : null;
  }

  /** The colour scale of a quantity: its bounded range, or ±(99th percentile of |c|) for the cell state. */
  scaleOf(q: Quantity, layer = this.view.layer): { lo: number; hi: number; label: string } {
    const r = quantityRange(q, this.trace?.cell);
    if (r) return { ...r, label: r.lo === 0 ? '[0, 1]' : '[−1, 1]' };
    if (q !== 'c') {
      // a ReLU RNN's h: [0, ∞), coloured up to the 99th percentile of its own values (once per trace and layer)
      const st = this.layerStats(layer);
      const v = this.values(q, layer);
      const s = st.hScale ??= v ? robustMaxAbs(v) || 1 : 1;
      return { lo: 0, hi: s, label: `[0, ∞) · colours 0 to ${s.toPrecision(3)} (99th pct of ${q})` };
    }
    const s = this.layerStats(layer).cScale;
    return { lo: -s, hi: s, label: `unbounded · colours ±${s.toPrecision(3)} (99th pct of |c|)` };
  }

  /** The ramp of a quantity: sequential for the σ gates, diverging (zero = background) for the rest. */
  rampOf(q: Quantity): { lut: Uint8ClampedArray; inks: readonly string[] } {
    const seq = (quantityRange(q, this.trace?.cell)?.lo ?? (q === 'c' ? -1 : 0)) === 0;
    return seq ? { lut: this.theme.luts.sequential, inks: this.theme.inks.sequential } : { lut: this.theme.luts.diverging, inks: this.theme.inks.diverging };
  }

  saturationOf(q: Quantity, layer = this.view.layer): { left: Float32Array; right: Float32Array } | null {
    const st = this.layerStats(layer);
    let s = st.saturation.get(q);
    const v = this.values(q, layer);
    if (!s && v) {
      s = saturation(v, this.T, this.H);
      st.saturation.set(q, s);
    }
    return s ?? null;
  }

  private layerStats(layer: number): LayerStats {
    let s = this.stats.get(layer);
    if (!s) {
      const c = this.values('c', layer);
      s = { cScale: c ? robustMaxAbs(c) : 1, hScale: null, saturation: new Map() };
      this.stats.set(layer, s);
    }
    return s;
  }

  /** Colour series k of the trajectory chart and unit markers. */
  unitColour(unit: number): string {
    const k = this.view.units.indexOf(unit);
    return this.theme.series[(k < 0 ? 0 : k) % this.theme.series.length]!;
  }

  /** What the unit search card says instead of (or before) its results; null when it shows units. */
  searchMessage(): string | null {
    const f = this.featureSearch;
    if (f.error) return `The search failed: ${f.error}`;
    if (f.searching) return 'Searching…';
    if (f.result) return f.result.message;
    return this.view.search.mode === 'regex' ? 'Type a regular expression: units are ranked by how they follow its matches.'
      : 'Select text (drag in the strip, Shift+arrows, or in the editor): units are ranked by how they follow it. Add keeps it; select more.';
  }

  // ---- actions (the views, the keyboard, the host) ------------------------------------------------------

  /** Changes the view state, persists it, tells the host and repaints what depends on it. */
  setView(patch: Partial<ViewState>, ...changes: Change[]): void {
    this.view = { ...this.view, ...patch };
    if ('unit' in patch || 'units' in patch || 'layer' in patch) this.autoUnits = false;
    if ('selection' in patch || 'threshold' in patch || 'quantity' in patch || 'layer' in patch) this.runSearch();
    // the ranges search counts the selection until it is added
    if ('selection' in patch && this.view.search.mode === 'ranges') this.askUnits();
    this.persist();
    this.emit(...changes);
  }

  /** The mouse is over timestep t (null: it left). Repaints only the highlights. */
  hoverAt(t: number | null): void {
    if (t === this.hover) return;
    this.hover = t;
    this.emit('cursor');
    if (t !== null) this.host.notify({ type: 'didMoveCursor', t });
  }

  /** Moves the cursor (a click, the arrow keys, the editor), the window following it. `fromHost`: do not echo it back. */
  moveCursor(t: number, fromHost = false): void {
    if (!this.T) return;
    const cursor = Math.max(0, Math.min(this.T - 1, Math.round(t)));
    const changes: Change[] = ['cursor'];
    const w = this.view.window;
    let window = w;
    if (w) {
      window = follow(w, this.T, cursor);
      if (window !== w) changes.push('window');
    }
    this.setView({ cursor, window }, ...changes);
    if (!fromHost) this.host.notify({ type: 'didMoveCursor', t: cursor });
    this.announce();
  }

  /** Selects a unit (clamped to the layer's); with `plot`, plots it too. */
  selectUnit(unit: number, plot = false): void {
    if (!this.H) return;
    const u = Math.max(0, Math.min(this.H - 1, Math.round(unit)));
    let units = this.view.units;
    if (plot && !units.includes(u)) units = plotted(units, u);
    this.setView({ unit: u, units }, 'unit', 'units');
    this.announce();
  }

  togglePlotted(unit: number): void {
    const units = this.view.units.includes(unit) ? this.view.units.filter((u) => u !== unit) : plotted(this.view.units, unit);
    this.setView({ units }, 'units');
  }

  /** Zooms to a window of timesteps (null, or the whole text: no zoom). */
  setWindow(window: StepRange | null): void {
    const full = !window || (window.start <= 0 && window.end >= this.T);
    this.setView({ window: full ? null : window }, 'window');
  }

  setSelection(selection: StepRange | null): void {
    this.setView({ selection }, 'selection');
  }

  /** Changes the unit search (mode, feature, regex, ranges, scope) and ranks the units again. */
  setSearch(patch: Partial<SearchState>): void {
    const search = { ...this.view.search, ...patch };
    this.view = { ...this.view, search };
    if (search.mode === 'threshold') this.runSearch();
    else this.askUnits();
    this.persist();
    this.emit('search');
  }

  /** Adds the selected range to the ranges searched (and clears the selection, for the next one). */
  addSearchRange(): void {
    const sel = this.view.selection;
    if (!sel) return;
    this.view = { ...this.view, selection: null, search: { ...this.view.search, ranges: searchRanges(this.view.search.ranges, sel, this.T) } };
    this.runSearch();
    this.askUnits();
    this.persist();
    this.emit('selection', 'search');
  }

  /** A feature-search result clicked: the text coloured by that unit (tanh(c) shows as c), its trajectory plotted. */
  pickSearchResult(u: UnitCorrelation): void {
    this.picked = { layer: u.layer, unit: u.unit, quantity: u.quantity };
    const units = this.view.units.includes(u.unit) ? this.view.units : plotted(this.view.units, u.unit);
    this.setView({ layer: u.layer, quantity: viewQuantity(u.quantity), unit: u.unit, units }, 'layer', 'quantity', 'unit', 'units');
    this.askUnits(); // for the picked unit's scatter
    this.announce();
  }

  /** The host set the unit search (Find Units for Selection, the walkthrough): show the Inspect tab and search. */
  showSearch(patch: Partial<SearchState>): void {
    if (this.view.tab !== 'inspect') this.setView({ tab: 'inspect' }, 'tab');
    this.picked = null;
    this.setSearch(patch);
  }

  setSaliency(on: boolean): void {
    this.saliencyOn = on;
    // the saliency reaches back to the start of the strip's window: a reach asked without it (or for a window that
    // started later) is asked again
    if (on && this.reach && !saliencyCovers(this.reach, saliencyFrom(this.view.window, this.reach.at))) this.askReach(true);
    this.saliency = on && this.reach?.model.prediction ? saliencyLevels(this.reach.model.prediction.saliency, this.reach.at, this.T) : null;
    this.emit('reach');
  }

  /** VS Code switched themes. */
  setTheme(theme: Theme): void {
    this.theme = theme;
    this.emit('theme');
  }

  // ---- what the host sent -------------------------------------------------------------------------------

  /** The full state, once after each `ready`: a panel following a training run without a trace opens on its dashboard. */
  init(s: InitState): void {
    this.target = s.target;
    this.model = s.model;
    this.compare = s.compare;
    this.status = s.status;
    this.history = s.training ? new History(s.training) : null;
    // (a model file's own history, runId 0, does not: the panel is there to inspect that model)
    if (!s.trace && this.history && this.history.runId !== 0 && this.view.tab !== 'training') this.view = { ...this.view, tab: 'training' };
    this.setTrace(s.trace);
    this.persist();
    this.emit('data', 'compare', 'training', 'status', 'tab');
  }

  /** A new trace (the text changed, or another range of it). */
  traced(target: InspectorTarget, model: ModelFacts, trace: TraceView): void {
    this.target = target;
    this.model = model;
    this.setTrace(trace);
    this.persist();
    this.emit('data');
  }

  /**
   * The debugger stopped (or its state changed, or its session ended: null). Its t wins over the cursor the view had
   * (restored after a reload, or kept from another trace); an edited state that does not fit the trace is dropped.
   */
  debuggerStepped(step: DebuggerStep | null): void {
    const fits = step !== null && step.t >= 0 && step.t < this.T;
    const edited = fits && step.edited && step.edited.layers.length === this.trace!.layers.length &&
      step.edited.layers.every((l) => l.h.length === this.H) ? step.edited : null;
    this.debugStep = fits ? { t: step.t, edited } : null;
    if (this.debugStep) this.moveCursor(this.debugStep.t, true);
    this.emit('debug');
  }

  setStatus(status: PanelStatus | null): void {
    this.status = status;
    this.emit('status');
  }

  setCompare(compare: CompareData | null): void {
    this.compare = compare;
    this.emit('compare');
  }

  trainingStarted(training: TrainingHistory): void {
    this.history = new History(training);
    this.comparedRun = null;
    this.target = this.target ? { ...this.target, runId: training.runId } : this.target;
    this.emit('training');
  }

  /** Another run drawn beside this one on the dashboard (its gradient norm), or null. */
  comparedRun: History | null = null;

  trainingCompared(training: TrainingHistory): void {
    this.comparedRun = new History(training);
    this.emit('training');
  }

  /** The model file's training history: shown on the Training tab unless a run of this window is attached. */
  historyLoaded(training: TrainingHistory): void {
    if (this.history && this.history.runId !== training.runId) return;
    this.history = new History(training);
    this.emit('training');
  }

  trainingProgressed(runId: number, progress: TrainProgress): void {
    if (this.history?.runId !== runId) return;
    this.history.push(progress);
    this.emit('training');
  }

  trainingSampled(runId: number, sample: TrainingSample): void {
    if (this.history?.runId !== runId) return;
    this.history.samples.push(sample);
    this.emit('training');
  }

  /**
   * A segment of the trace under way arrived: its timesteps join the views (repainted at most every
   * SEGMENT_PAINT_MS while segments stream in, so a fast trace does not repaint per segment).
   */
  traceSegment(seg: TraceSegmentData): void {
    const tv = this.traceView;
    if (!tv?.pending || seg.end > tv.trace.tokens.length) return;
    fillSegment(tv.trace, seg);
    this.traceView = { ...tv, pending: { filled: seg.end, stopped: false } };
    // what is computed once per trace (colour scales, saturation) is computed again on the data there now
    this.stats.clear();
    if (this.autoUnits && seg.start === 0) this.pickUnits();
    if (this.segmentPaint === undefined) {
      this.segmentPaint = this.timers.setTimeout(() => {
        this.segmentPaint = undefined;
        this.emit('data');
      }, this.emitted ? SEGMENT_PAINT_MS : 0);
      this.emitted = true;
    }
  }

  /** The trace under way is complete (its loss and gradient norms), or was stopped after `stopped` timesteps. */
  traceEnded(tail: TraceTail | null, stopped: number | null): void {
    const tv = this.traceView;
    if (!tv?.pending) return;
    if (this.segmentPaint !== undefined) this.timers.clearTimeout(this.segmentPaint);
    this.segmentPaint = undefined;
    this.traceView = tail ? { ...tv, trace: finishTrace(tv.trace, tail), pending: undefined } : { ...tv, pending: { filled: stopped ?? tv.pending.filled, stopped: true } };
    this.stats.clear();
    if (this.autoUnits) this.pickUnits();
    this.emit('data');
  }

  /** The units whose hidden state swings the most (of the timesteps there): they make the strip and trajectories speak. */
  private pickUnits(): void {
    const trace = this.trace!;
    const T = this.traceView?.pending?.filled ?? trace.tokens.length;
    if (T === 0) return;
    const units = mostVariableUnits(trace.layers[this.view.layer]!.h.subarray(0, T * trace.hidden), T, trace.hidden, Math.min(3, trace.hidden));
    this.view = { ...this.view, units, unit: units[0] ?? 0 };
  }

  /** The attached run ended; `model`: the file it saved, which the panel inspects from now on. */
  trainingFinished(runId: number, end: TrainingEnd, model: string | null): void {
    if (this.history?.runId !== runId) return;
    this.history.finished = end;
    if (model && this.target) this.target = { ...this.target, model };
    this.persist();
    this.emit('training');
  }

  private setTrace(tv: TraceView | null): void {
    this.traceView = tv;
    // the host says again where the debugger is on this trace (didStep follows every init and didTrace)
    this.debugStep = null;
    this.stats.clear();
    this.hover = null;
    this.featureSearch = { searching: true, result: null, error: null };
    if (this.segmentPaint !== undefined) this.timers.clearTimeout(this.segmentPaint);
    this.segmentPaint = undefined;
    this.emitted = false;
    this.autoUnits = false;
    const trace = tv?.trace;
    if (!trace) {
      this.chars = [];
      return;
    }
    this.chars = Array.from(trace.tokens, (id) => trace.vocab[id]!);
    const T = trace.tokens.length, H = trace.hidden;
    // keep the restored view where it still fits this trace
    const v = this.view;
    const layer = Math.min(v.layer, trace.layers.length - 1);
    const quantity = quantitiesOf(trace.cell).includes(v.quantity) ? v.quantity : 'h';
    const fresh = !v.units.length || v.units.some((u) => u >= H) || v.unit >= H;
    let unit = v.unit, units = v.units;
    if (fresh) {
      // start on the units whose hidden state swings the most: they make the strip and trajectories speak
      units = mostVariableUnits(trace.layers[layer]!.h, T, H, Math.min(3, H));
      unit = units[0] ?? 0;
      this.autoUnits = !!tv.pending;
    }
    const inRange = (r: StepRange | null): StepRange | null => (r && r.end <= T && r.start < r.end ? r : null);
    // a fresh view of a long text starts zoomed on its beginning, where single characters can be told apart
    const window = fresh ? (T > INITIAL_WINDOW * 2 ? { start: 0, end: INITIAL_WINDOW } : null) : inRange(v.window);
    const search: SearchState = {
      ...v.search,
      layer: v.search.layer !== null && v.search.layer < trace.layers.length ? v.search.layer : null,
      quantity: v.search.quantity === 'all' || (v.search.quantity === 'tanh(c)' ? quantitiesOf(trace.cell).includes('c') : quantitiesOf(trace.cell).includes(v.search.quantity)) ? v.search.quantity : 'all',
      ranges: v.search.ranges.filter((r) => r.end <= T && r.start < r.end),
    };
    this.view = { ...v, layer, quantity, unit, units, cursor: Math.min(v.cursor, T - 1), window, selection: inRange(v.selection), search };
    this.runSearch();
    this.askUnits();
  }

  // ---- the host's answers -------------------------------------------------------------------------------

  private runSearch(): void {
    const sel = this.view.selection;
    const v = this.values(this.view.quantity);
    this.search = sel && v ? rankUnits(v, this.T, this.H, this.view.quantity, sel, this.view.threshold, TOP_UNITS) : [];
  }

  /** Asks the host (the engine worker) to rank the units against the search's feature. */
  private askUnits(): void {
    const s = this.view.search;
    if (!this.trace || s.mode === 'threshold') return;
    if (this.searchInFlight) {
      this.searchAgain = true;
      return;
    }
    this.searchInFlight = true;
    const traced = this.traceView?.trace.tokens;
    const done = (result: UnitsView | null, error: string | null): void => {
      this.searchInFlight = false;
      // an answer about a trace that has been replaced is dropped (the new trace's search is asked next); one still
      // arriving in segments is the same trace (the worker answers once it is complete)
      if (this.traceView?.trace.tokens === traced) this.featureSearch = { searching: false, result, error };
      if (this.searchAgain) {
        this.searchAgain = false;
        this.askUnits();
      }
      this.emit('search');
    };
    void this.host.request({ type: 'units', search: s, selection: this.view.selection, top: TOP_UNITS, pick: this.picked })
      .then((r) => done(r, null), (e: Error) => done(null, e.message));
  }

  /** Asks the host for the reach at the cursor, after the cursor rests for a moment (a held arrow key asks once). */
  private askReach(force = false): void {
    if (!this.trace || (!force && this.view.cursor === this.reachAsked)) return;
    this.timers.clearTimeout(this.reachTimer);
    this.reachTimer = this.timers.setTimeout(() => {
      const at = this.view.cursor;
      this.reachAsked = at;
      const from = this.saliencyOn ? { saliencyFrom: saliencyFrom(this.view.window, at) } : {};
      void this.host.request({ type: 'reach', at, maxK: REACH_K, layer: this.view.layer, ...from }).then((r) => {
        // the cursor moved on: its own reach is asked (or will be)
        if (at !== this.view.cursor) return;
        this.reach = r;
        this.reachError = null;
        this.setSaliency(this.saliencyOn);
      }, (e: Error) => {
        this.reach = null;
        this.reachError = e.message;
        this.emit('reach');
      });
    }, REACH_DELAY_MS);
  }

  // ---- telling the listeners ----------------------------------------------------------------------------

  /** Keeps the reach in step with what changed (a new trace, comparison or layer drops it), then tells the listeners. */
  private emit(...changes: Change[]): void {
    const set = new Set(changes);
    if (set.has('data') || set.has('compare') || set.has('layer')) {
      this.reach = null;
      this.saliency = null;
      this.askReach(true);
    } else if (set.has('cursor')) {
      this.askReach();
    } else if (set.has('window') && this.saliencyOn && this.reach && !saliencyCovers(this.reach, saliencyFrom(this.view.window, this.reach.at))) {
      this.askReach(true);
    }
    for (const l of this.listeners) l.changed(set);
  }

  private persist(): void {
    for (const l of this.listeners) l.persist?.();
  }

  private announce(): void {
    for (const l of this.listeners) l.announce?.();
  }
}

/** The plotted units with `unit` added last, keeping the newest MAX_PLOTTED. */
function plotted(units: readonly number[], unit: number): number[] {
  return [...units, unit].slice(-MAX_PLOTTED);
}
