import { Messenger, type Port } from '../src/protocol/messenger';
import type { TraceData } from '../src/protocol/trace';
import type { ReachView } from '../src/protocol/reach';
import { robustMaxAbs, traceText } from '../src/protocol/traceQuery';
import { searchRanges, viewQuantity, type UnitCorrelation, type UnitRef, type UnitsView } from '../src/protocol/units';
import {
  DEFAULT_SEARCH, quantitiesOf, quantityRange, quantityValues,
  type CompareData, type HostToWebview, type InspectorSnapshot, type InspectorTarget, type ModelFacts,
  type PanelStatus, type PersistedState, type Quantity, type SearchState, type StepRange, type TraceView, type ViewState, type WebviewReplies, type WebviewToHost,
} from '../src/protocol/webview';
import { History } from './data/history';
import { rankUnits, type UnitMatch } from './data/search';
import { mostVariableUnits, saturation } from './data/stats';
import { reachHeadline, saliencyCovers, saliencyFrom, saliencyLevels } from './data/reach';
import { follow } from './data/zoom';
import { h, inkOf } from './dom';
import { onThemeChange, readTheme, themeKind, type Theme } from './theme';
import { Dashboard } from './views/dashboard';
import { CellDiagram } from './views/cellDiagram';
import { GradientChart } from './views/gradients';
import { GradientReach, REACH_K } from './views/reach';
import { Header } from './views/header';
import { Heatmaps } from './views/heatmaps';
import { Readout } from './views/readout';
import { SaturationChart } from './views/saturation';
import { TextStrip } from './views/textStrip';
import { Toolbar } from './views/toolbar';
import { Tooltip } from './views/tooltip';
import { TrajectoryChart } from './views/trajectories';
import { UnitSearch } from './views/unitSearch';

/** What the webview gets from acquireVsCodeApi(). */
export interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

/** What changed, so that each view repaints only what it must. */
export type Change = 'data' | 'theme' | 'layer' | 'quantity' | 'unit' | 'units' | 'window' | 'cursor' | 'selection'
  | 'threshold' | 'states' | 'compare' | 'training' | 'status' | 'tab' | 'size' | 'reach' | 'search';

export interface View {
  update(changes: ReadonlySet<Change>): void;
  /** Canvases for the snapshot's ink check. */
  canvases?(): readonly HTMLCanvasElement[];
}

/** Per trace and layer, computed once: colour scale of c, gate saturation. */
interface LayerStats {
  cScale: number;
  saturation: Map<Quantity, { left: Float32Array; right: Float32Array }>;
}

/** Timesteps shown when a long text is first opened (Fit shows them all). */
const INITIAL_WINDOW = 400;

export const DEFAULT_VIEW: ViewState = {
  tab: 'inspect', layer: 0, quantity: 'h', unit: 0, units: [], window: null, cursor: 0, selection: null, threshold: 0.5,
  showStates: false, search: DEFAULT_SEARCH,
};

/**
 * The inspector's controller: holds what the host sent and what the user chose (ViewState), answers the host,
 * and tells the views what changed. Views read from it and call its actions; only the views touch the DOM.
 */
export class App {
  theme: Theme;
  target: InspectorTarget | null = null;
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
  text = '';
  search: UnitMatch[] = [];
  /**
   * The feature search (modes feature, regex, ranges), answered by the engine worker on the trace it keeps:
   * `searching` until the first answer for this trace; then the last answer (null: nothing to search yet, an empty
   * regex or no ranges) or why the request failed.
   */
  featureSearch: { searching: boolean; result: UnitsView | null; error: string | null } = { searching: false, result: null, error: null };
  /** (T) where the search's 0/1 feature is 1 (regex matches, ranges, strings, comments), for the strip; else null. */
  get searchMask(): Float32Array | null {
    const r = this.featureSearch.result;
    return r?.binary && r.x && this.view.search.mode !== 'threshold' ? r.x : null;
  }
  /** The scatter the unit search drew (for the snapshot). */
  scatterDrawn: (UnitRef & { points: number }) | null = null;
  /** The result the user clicked (its scatter is shown while it is listed; the best one's otherwise). */
  private picked: UnitRef | null = null;
  /** One search in flight at a time; a change meanwhile asks once more when it is answered (the last one wins). */
  private searchInFlight = false;
  private searchAgain = false;
  /** The gradient reach at the cursor (asked of the host when the cursor, the layer or the comparison changes). */
  reach: ReachView | null = null;
  /** Saliency mode of the text strip: the characters before the cursor by how much its prediction depends on them. */
  saliencyOn = false;
  /** (T) the strip's saliency levels in [0, 1], −1 where none (data/reach.ts saliencyLevels). */
  saliency: Float32Array | null = null;
  /** Why the last reach request failed (shown in the card; the rest of the panel is unaffected). */
  reachError: string | null = null;
  private reachTimer = 0;
  private reachAsked = -1;
  readonly timings: { paintMs: number | null; hoverMs: number | null; breakdown: Record<string, number> } = { paintMs: null, hoverMs: null, breakdown: {} };
  readonly cspViolations: string[] = [];

  private readonly messenger: Messenger<WebviewToHost, HostToWebview, WebviewReplies>;
  private readonly stats = new Map<number, LayerStats>();
  private readonly views: View[] = [];
  private readonly liveRegion: HTMLElement;
  private readonly root: HTMLElement;
  private readonly inspectPage: HTMLElement;
  private readonly trainingPage: HTMLElement;
  private saveTimer = 0;
  private announceTimer = 0;
  readonly tooltip: Tooltip;
  private readonly reachView: GradientReach;
  private readonly diagram: CellDiagram;

  constructor(private readonly vscode: VsCodeApi, mount: HTMLElement) {
    const port: Port = { postMessage: (m) => vscode.postMessage(m) };
    this.messenger = new Messenger<WebviewToHost, HostToWebview, WebviewReplies>(port, {
      onRequest: (req) => this.onRequest(req),
      onNotification: (n) => this.onNotification(n),
    });
    const saved = vscode.getState() as PersistedState | undefined;
    this.view = { ...DEFAULT_VIEW, ...(saved?.view ?? {}), search: { ...DEFAULT_SEARCH, ...(saved?.view?.search ?? {}) } };
    this.target = saved?.target ?? null;
    this.theme = readTheme();
    document.addEventListener('securitypolicyviolation', (e) => this.cspViolations.push(`${e.violatedDirective}: ${e.blockedURI}`));

    this.root = mount;
    this.tooltip = new Tooltip(this);
    this.liveRegion = h('div', { class: 'sr-only', 'aria-live': 'polite', role: 'status' });
    const header = new Header(this);
    const toolbar = new Toolbar(this);
    this.inspectPage = h('main', { class: 'page inspect', id: 'page-inspect', role: 'tabpanel', 'aria-labelledby': 'tab-inspect' });
    this.trainingPage = h('main', { class: 'page training', id: 'page-training', role: 'tabpanel', 'aria-labelledby': 'tab-training' });
    const timeColumn = h('div', { class: 'time-column' });
    const side = h('aside', { class: 'side-column', 'aria-label': 'Details' });
    const strip = new TextStrip(this);
    const heatmaps = new Heatmaps(this);
    const trajectories = new TrajectoryChart(this);
    const gradients = new GradientChart(this);
    const reach = new GradientReach(this);
    const diagram = new CellDiagram(this);
    const readout = new Readout(this);
    const search = new UnitSearch(this);
    const sat = new SaturationChart(this);
    const dashboard = new Dashboard(this);
    timeColumn.append(strip.el, heatmaps.el, trajectories.el, reach.el, gradients.el);
    side.append(readout.el, diagram.el, search.el, sat.el);
    const empty = h('div', { class: 'empty', id: 'empty' }, 'Tracing…');
    this.inspectPage.append(empty, h('div', { class: 'columns' }, timeColumn, side));
    this.trainingPage.append(dashboard.el);
    this.root.append(header.el, toolbar.el, this.inspectPage, this.trainingPage, this.liveRegion, this.tooltip.el);
    this.views.push(header, toolbar, strip, heatmaps, trajectories, reach, gradients, readout, diagram, search, sat, dashboard);
    this.reachView = reach;
    this.diagram = diagram;

    onThemeChange(() => {
      this.theme = readTheme();
      this.update('theme');
    });
    window.addEventListener('keydown', (e) => this.onKey(e));
    this.update('tab');
  }

  /** Tells the host the webview listens. Call once, after the message listener is installed. */
  start(): void {
    this.messenger.notify({ type: 'ready' });
  }

  receive(message: unknown): void {
    void this.messenger.receive(message);
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

  quantities(): readonly Quantity[] {
    return this.trace ? quantitiesOf(this.trace.cell) : ['h'];
  }

  values(q: Quantity, layer = this.view.layer): Float32Array | null {
    const L = this.trace?.layers[layer];
    return L ? quantityValues(L, q) : null;
  }

  /** The colour scale of a quantity: its bounded range, or ±(99th percentile of |c|) for the cell state. */
  scaleOf(q: Quantity, layer = this.view.layer): { lo: number; hi: number; label: string } {
    const r = quantityRange(q);
    if (r) return { ...r, label: r.lo === 0 ? '[0, 1]' : '[−1, 1]' };
    const s = this.layerStats(layer).cScale;
    return { lo: -s, hi: s, label: `unbounded · colours ±${s.toPrecision(3)} (99th pct of |c|)` };
  }

  /** The ramp of a quantity: sequential for the σ gates, diverging (zero = background) for the rest. */
  rampOf(q: Quantity): { lut: Uint8ClampedArray; inks: readonly string[] } {
    const seq = quantityRange(q)?.lo === 0;
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
      s = { cScale: c ? robustMaxAbs(c) : 1, saturation: new Map() };
      this.stats.set(layer, s);
    }
    return s;
  }

  /** Colour series k of the trajectory chart and unit markers. */
  unitColour(unit: number): string {
    const k = this.view.units.indexOf(unit);
    return this.theme.series[(k < 0 ? 0 : k) % this.theme.series.length]!;
  }

  // ---- actions (called by the views) --------------------------------------------------------------------

  /** Changes the view state, persists it, tells the host and repaints what depends on it. */
  setView(patch: Partial<ViewState>, ...changes: Change[]): void {
    this.view = { ...this.view, ...patch };
    if ('selection' in patch || 'threshold' in patch || 'quantity' in patch || 'layer' in patch) this.runSearch();
    // the ranges search counts the selection until it is added
    if ('selection' in patch && this.view.search.mode === 'ranges') this.askUnits();
    this.persist();
    this.update(...changes);
  }

  /** The mouse is over timestep t (null: it left). Repaints only the highlights; timed for the benchmark. */
  hoverAt(t: number | null): void {
    if (t === this.hover) return;
    const t0 = performance.now();
    this.hover = t;
    this.update('cursor');
    this.timings.hoverMs = performance.now() - t0;
    if (t !== null) this.messenger.notify({ type: 'didMoveCursor', t });
  }

  /** Moves the cursor (a click, the arrow keys, the editor). `fromHost`: do not echo it back. */
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
    if (!fromHost) this.messenger.notify({ type: 'didMoveCursor', t: cursor });
    this.announce();
  }

  selectUnit(unit: number, plot = false): void {
    if (!this.H) return;
    const u = Math.max(0, Math.min(this.H - 1, Math.round(unit)));
    let units = this.view.units;
    if (plot && !units.includes(u)) units = [...units, u].slice(-8);
    this.setView({ unit: u, units }, 'unit', 'units');
    this.announce();
  }

  togglePlotted(unit: number): void {
    const units = this.view.units.includes(unit) ? this.view.units.filter((u) => u !== unit) : [...this.view.units, unit].slice(-8);
    this.setView({ units }, 'units');
  }

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
    this.update('search');
  }

  /** Adds the selected range to the ranges searched (and clears the selection, for the next one). */
  addSearchRange(): void {
    const sel = this.view.selection;
    if (!sel) return;
    this.view = { ...this.view, selection: null, search: { ...this.view.search, ranges: searchRanges(this.view.search.ranges, sel, this.T) } };
    this.runSearch();
    this.askUnits();
    this.persist();
    this.update('selection', 'search');
  }

  /** A feature-search result clicked: the text coloured by that unit (tanh(c) shows as c), its trajectory plotted. */
  pickSearchResult(u: UnitCorrelation): void {
    this.picked = { layer: u.layer, unit: u.unit, quantity: u.quantity };
    const units = this.view.units.includes(u.unit) ? this.view.units : [...this.view.units, u.unit].slice(-8);
    this.setView({ layer: u.layer, quantity: viewQuantity(u.quantity), unit: u.unit, units }, 'layer', 'quantity', 'unit', 'units');
    this.askUnits(); // for the picked unit's scatter
    this.announce();
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

  /** Asks the host (the engine worker) to rank the units against the search's feature. */
  private askUnits(): void {
    const s = this.view.search;
    if (!this.trace || s.mode === 'threshold') return;
    if (this.searchInFlight) {
      this.searchAgain = true;
      return;
    }
    this.searchInFlight = true;
    const traced = this.traceView;
    const done = (result: UnitsView | null, error: string | null): void => {
      this.searchInFlight = false;
      if (this.traceView === traced) this.featureSearch = { searching: false, result, error };
      if (this.searchAgain) {
        this.searchAgain = false;
        this.askUnits();
      }
      this.update('search');
    };
    void this.messenger.request({ type: 'units', search: s, selection: this.view.selection, top: 30, pick: this.picked })
      .then((r) => done(r, null), (e: Error) => done(null, e.message));
  }

  setSaliency(on: boolean): void {
    this.saliencyOn = on;
    // the saliency reaches back to the start of the strip's window: a reach asked without it (or for a window that
    // started later) is asked again
    if (on && this.reach && !saliencyCovers(this.reach, saliencyFrom(this.view.window, this.reach.at))) this.askReach(true);
    this.saliency = on && this.reach?.model.prediction ? saliencyLevels(this.reach.model.prediction.saliency, this.reach.at, this.T) : null;
    this.update('reach');
  }

  /** Asks the host for the reach at the cursor, after the cursor rests for a moment (a held arrow key asks once). */
  private askReach(force = false): void {
    if (!this.trace || (!force && this.view.cursor === this.reachAsked)) return;
    clearTimeout(this.reachTimer);
    this.reachTimer = window.setTimeout(() => {
      const at = this.view.cursor;
      this.reachAsked = at;
      const from = this.saliencyOn ? { saliencyFrom: saliencyFrom(this.view.window, at) } : {};
      void this.messenger.request({ type: 'reach', at, maxK: REACH_K, layer: this.view.layer, ...from }).then((r) => {
        if (at !== this.view.cursor) return;
        this.reach = r;
        this.reachError = null;
        this.setSaliency(this.saliencyOn);
      }, (e: Error) => {
        this.reach = null;
        this.reachError = e.message;
        this.update('reach');
      });
    }, 60);
  }

  request<K extends 'compareWithRnn' | 'exportTrace' | 'exportLossCsv' | 'exportPng'>(msg: Extract<WebviewToHost, { type: K }>): Promise<WebviewReplies[K]> {
    const png = (msg as WebviewToHost).type === 'exportPng' ? [(msg as Extract<WebviewToHost, { type: 'exportPng' }>).png.buffer as ArrayBuffer] : [];
    return this.messenger.request(msg, png);
  }

  notify(msg: Extract<WebviewToHost, { type: 'cancelCompare' | 'retrace' | 'colourEditor' }>): void {
    this.messenger.notify(msg);
  }

  /** Saves a canvas (composited on the theme's background, with a title) as PNG through the host. */
  async exportPng(name: string, title: string, canvases: readonly HTMLCanvasElement[]): Promise<void> {
    const base = canvases[0];
    if (!base) return;
    const pad = 12 * (window.devicePixelRatio || 1);
    const titleH = 24 * (window.devicePixelRatio || 1);
    const out = document.createElement('canvas');
    out.width = base.width + 2 * pad;
    out.height = canvases.reduce((s, c) => s + c.height, 0) + titleH + 2 * pad;
    const ctx = out.getContext('2d')!;
    const [r, g, b] = this.theme.bg;
    ctx.fillStyle = `rgb(${r}, ${g}, ${b})`;
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.fillStyle = this.theme.fg;
    ctx.font = `${13 * (window.devicePixelRatio || 1)}px ${this.theme.font}`;
    ctx.textBaseline = 'top';
    ctx.fillText(title, pad, pad);
    let y = pad + titleH;
    for (const c of canvases) {
      ctx.drawImage(c, pad, y);
      y += c.height;
    }
    const blob = await new Promise<Blob | null>((res) => out.toBlob(res, 'image/png'));
    if (!blob) return;
    const png = new Uint8Array(await blob.arrayBuffer());
    await this.request({ type: 'exportPng', name, png });
  }

  // ---- host messages ------------------------------------------------------------------------------------

  private onNotification(n: HostToWebview): void {
    switch (n.type) {
      case 'init': {
        const t0 = performance.now();
        this.target = n.target;
        this.model = n.model;
        this.compare = n.compare;
        this.status = n.status;
        this.history = n.training ? new History(n.training) : null;
        if (!n.trace && this.history && this.view.tab !== 'training') this.view = { ...this.view, tab: 'training' };
        this.setTrace(n.trace);
        this.persist();
        this.update('data', 'compare', 'training', 'status', 'tab');
        this.measurePaint(t0);
        break;
      }
      case 'didTrace': {
        const t0 = performance.now();
        this.target = n.target;
        this.model = n.model;
        this.setTrace(n.trace);
        this.persist();
        this.update('data');
        this.measurePaint(t0);
        break;
      }
      case 'didChangeStatus':
        this.status = n.status;
        this.update('status');
        break;
      case 'didCompare':
        this.compare = n.compare;
        this.update('compare');
        break;
      case 'showTab':
        this.setView({ tab: n.tab }, 'tab');
        break;
      case 'didStartTraining':
        this.history = new History(n.training);
        this.target = this.target ? { ...this.target, runId: n.training.runId } : this.target;
        this.update('training');
        break;
      case 'didProgress':
        if (this.history?.runId === n.runId) {
          this.history.push(n.progress);
          this.update('training');
        }
        break;
      case 'didSample':
        if (this.history?.runId === n.runId) {
          this.history.samples.push(n.sample);
          this.update('training');
        }
        break;
      case 'didFinishTraining':
        if (this.history?.runId === n.runId) {
          this.history.finished = n.end;
          if (n.model && this.target) this.target = { ...this.target, model: n.model };
          this.persist();
          this.update('training');
        }
        break;
      case 'setCursor':
        this.moveCursor(n.t, true);
        break;
      case 'selectRange':
        this.setSelection(n.range.end > n.range.start ? n.range : null);
        break;
      case 'searchUnits':
        if (this.view.tab !== 'inspect') this.setView({ tab: 'inspect' }, 'tab');
        this.picked = null;
        this.setSearch(n.search);
        document.getElementById('search')?.scrollIntoView({ block: 'nearest' });
        break;
      case 'getState':
        break;
    }
  }

  private onRequest(req: HostToWebview): unknown {
    if (req.type === 'getState') return this.snapshot();
    throw new Error(`the webview does not answer ${req.type}`);
  }

  private setTrace(tv: TraceView | null): void {
    this.traceView = tv;
    this.stats.clear();
    this.hover = null;
    this.featureSearch = { searching: true, result: null, error: null };
    const trace = tv?.trace;
    if (!trace) {
      this.chars = [];
      this.text = '';
      return;
    }
    this.chars = Array.from(trace.tokens, (id) => trace.vocab[id]!);
    this.text = traceText(trace);
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

  private runSearch(): void {
    const sel = this.view.selection;
    const v = this.values(this.view.quantity);
    this.search = sel && v ? rankUnits(v, this.T, this.H, this.view.quantity, sel, this.view.threshold, 30) : [];
  }

  /** Time from a trace's arrival to the frame after every view painted it (the speed target: < 0.5 s). */
  private measurePaint(t0: number): void {
    requestAnimationFrame(() => requestAnimationFrame(() => {
      this.timings.paintMs = performance.now() - t0;
    }));
  }

  // ---- painting -----------------------------------------------------------------------------------------

  update(...changes: Change[]): void {
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
    if (set.has('tab') || set.has('data') || set.has('status')) {
      const training = this.view.tab === 'training';
      this.inspectPage.hidden = training;
      this.trainingPage.hidden = !training;
      const empty = this.root.querySelector('#empty');
      empty?.toggleAttribute('hidden', !!this.trace);
      if (empty && !this.trace) {
        empty.textContent = this.target && !this.target.document
          ? 'This panel follows a training run. When the model is saved, inspect it on a text: Gatescope: Inspect Model on File.'
          : this.status?.kind === 'error' ? 'No trace.' : 'Tracing…';
      }
      this.inspectPage.classList.toggle('has-trace', !!this.trace);
    }
    const timed = set.has('data') || set.has('cursor');
    for (const v of this.views) {
      const t0 = timed ? performance.now() : 0;
      v.update(set);
      if (timed) this.timings.breakdown[`${set.has('data') ? 'data' : 'hover'}:${v.constructor.name}`] = performance.now() - t0;
    }
  }

  private persist(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = window.setTimeout(() => {
      if (this.target) this.vscode.setState({ target: this.target, view: this.view } satisfies PersistedState);
      this.messenger.notify({ type: 'didChangeView', view: this.view });
    }, 100);
  }

  /** Tells screen readers where the cursor is, once it settles. */
  private announce(): void {
    clearTimeout(this.announceTimer);
    this.announceTimer = window.setTimeout(() => {
      const t = this.view.cursor;
      const v = this.values(this.view.quantity);
      if (!v) return;
      const ch = this.chars[t] ?? '';
      this.liveRegion.textContent = `t ${t}, ${JSON.stringify(ch)}, ${this.view.quantity} of unit ${this.view.unit} = ${v[t * this.H + this.view.unit]!.toFixed(2)}`;
    }, 250);
  }

  private onKey(e: KeyboardEvent): void {
    const target = e.target as HTMLElement;
    if (target.closest('input, select, textarea') || e.altKey || e.metaKey || !this.T || this.view.tab !== 'inspect') return;
    const step = e.ctrlKey ? 10 : 1;
    const sel = this.view.selection;
    const extend = (to: number): void => {
      const anchor = sel ? (sel.start === this.view.cursor ? sel.end - 1 : sel.start) : this.view.cursor;
      const a = Math.min(anchor, to), b = Math.max(anchor, to) + 1;
      this.setSelection({ start: a, end: b });
      this.moveCursor(to);
    };
    switch (e.key) {
      case 'ArrowLeft':
        if (e.shiftKey) extend(Math.max(0, this.view.cursor - step));
        else this.moveCursor(this.view.cursor - step);
        break;
      case 'ArrowRight':
        if (e.shiftKey) extend(Math.min(this.T - 1, this.view.cursor + step));
        else this.moveCursor(this.view.cursor + step);
        break;
      case 'Home': this.moveCursor(0); break;
      case 'End': this.moveCursor(this.T - 1); break;
      case 'ArrowUp':
        if (target.closest('.strip')) return; // the strip moves by rows itself
        this.selectUnit(this.view.unit - 1);
        break;
      case 'ArrowDown':
        if (target.closest('.strip')) return;
        this.selectUnit(this.view.unit + 1);
        break;
      case 'Escape':
        if (!sel) return;
        this.setSelection(null);
        break;
      default:
        return;
    }
    e.preventDefault();
  }

  private snapshot(): InspectorSnapshot {
    const canvases = this.views.flatMap((v) => v.canvases?.() ?? [])
      .filter((c) => c.isConnected && c.offsetParent !== null)
      .map((c) => ({ id: c.id || c.getAttribute('aria-label') || 'canvas', width: c.width, height: c.height, ink: inkOf(c) }));
    const tr = this.trace;
    return {
      target: this.target, view: this.view, model: this.model?.name ?? null, cell: tr?.cell ?? null, steps: this.T,
      layers: tr?.layers.length ?? 0, hidden: this.H, cursorChar: this.chars[this.view.cursor] ?? null, canvases,
      search: this.search.slice(0, 10).map((m) => ({ unit: m.unit, sign: m.sign, score: m.score })),
      featureSearch: this.view.search.mode === 'threshold' ? null : {
        feature: this.featureSearch.result?.feature ?? null,
        units: (this.featureSearch.result?.units ?? []).slice(0, 10).map((u) => ({ ...u })),
        matches: this.featureSearch.result?.matches ?? null,
        message: this.searchMessage(),
        scatter: this.scatterDrawn,
        pending: this.searchInFlight,
      },
      compare: this.compare?.label ?? null,
      reach: this.reach ? {
        at: this.reach.at, maxK: this.reach.model.summary?.maxK ?? null, horizon: this.reach.model.summary?.horizon ?? [],
        compareHorizon: this.reach.compare?.summary?.horizon ?? null, headline: reachHeadline(this.reach, this.view.layer),
        curves: this.reachView.curves.length, compareCurves: this.reachView.curves.filter((c) => c.model === 'compare').length,
        saliency: this.saliency ? this.saliency.reduce((n, v) => n + (v >= 0 ? 1 : 0), 0) : 0,
        note: [this.reach.model.predictionNote, this.reach.model.summaryNote, this.reach.compareNote].filter((x) => x).join(' ') || null,
      } : null,
      diagram: this.diagram.last ? { t: this.diagram.last.t, layer: this.diagram.last.layer, unit: this.diagram.last.unit, values: { ...this.diagram.last.values } } : null,
      training: this.history ? { runId: this.history.runId, reports: this.history.length, step: this.history.latest?.step ?? 0,
        samples: this.history.samples.length, finished: !!this.history.finished } : null,
      status: this.status, theme: themeKind(), timings: { paintMs: this.timings.paintMs, hoverMs: this.timings.hoverMs, breakdown: { ...this.timings.breakdown } }, cspViolations: [...this.cspViolations],
    };
  }
}
