import type { ExportResult, PersistedState, WebviewToHost } from '../src/protocol/webview';
import { Bridge, type BridgeShell, type Painted } from './bridge';
import type { Figure, View, ViewContext } from './context';
import type { Theme } from './data/colour';
import { h, inkOf } from './dom';
import { Exporter } from './exporter';
import { Store, type Change, type StoreListener, type Timers } from './store';
import { onThemeChange, readTheme, themeKind } from './theme';
import { CellDiagram } from './views/cellDiagram';
import { Dashboard } from './views/dashboard';
import { EditedNote } from './views/editedNote';
import { GradientChart } from './views/gradients';
import { Header } from './views/header';
import { Heatmaps } from './views/heatmaps';
import { GradientReach } from './views/reach';
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

/** Milliseconds from a trace's arrival to all views painted, of the last hover, and per view of the last of each. */
interface Timings {
  paintMs: number | null;
  hoverMs: number | null;
  readonly breakdown: Record<string, number>;
}

const timers: Timers = { setTimeout: (f, ms) => window.setTimeout(f, ms), clearTimeout: (t) => window.clearTimeout(t as number) };

/** The views' context: the store, with the page's tooltip, the exports and the host's commands; hovers are timed. */
class Inspector extends Store implements ViewContext {
  constructor(private readonly bridge: Bridge, private readonly exporter: Exporter, readonly tooltip: Tooltip,
    private readonly timings: Timings, theme: Theme, saved: PersistedState | undefined) {
    super(bridge, timers, theme, saved);
  }

  override hoverAt(t: number | null): void {
    if (t === this.hover) return;
    const t0 = performance.now();
    super.hoverAt(t);
    this.timings.hoverMs = performance.now() - t0;
  }

  exportPng(name: string, title: string, canvases: readonly HTMLCanvasElement[]): Promise<void> {
    return this.exporter.png(this.theme, name, title, canvases);
  }

  exportFigure(figure: Figure): Promise<void> {
    return this.exporter.figure(this.theme, figure);
  }

  exportTrace(): Promise<ExportResult> {
    return this.exporter.trace();
  }

  exportLossCsv(): Promise<ExportResult> {
    return this.exporter.lossCsv();
  }

  compareWithRnn(): Promise<void> {
    return this.bridge.request({ type: 'compareWithRnn' });
  }

  notify(msg: Extract<WebviewToHost, { type: 'cancelCompare' | 'cancelTrace' | 'retrace' | 'colourEditor' }>): void {
    this.bridge.notify(msg);
  }
}

/**
 * The inspector page, composed: the store (state and actions), the bridge to the host, the exporter, the views
 * laid out in the DOM. It paints the views with what changed, saves the view state, announces the cursor to
 * screen readers, follows the theme and handles the keyboard.
 */
export class App implements StoreListener, BridgeShell {
  private readonly bridge: Bridge;
  private readonly ui: Inspector;
  private readonly timings: Timings = { paintMs: null, hoverMs: null, breakdown: {} };
  private readonly cspViolations: string[] = [];
  private readonly views: View[];
  private readonly liveRegion = h('div', { class: 'sr-only', 'aria-live': 'polite', role: 'status' });
  private readonly inspectPage = h('main', { class: 'page inspect', id: 'page-inspect', role: 'tabpanel', 'aria-labelledby': 'tab-inspect' });
  private readonly trainingPage = h('main', { class: 'page training', id: 'page-training', role: 'tabpanel', 'aria-labelledby': 'tab-training' });
  private readonly reach: GradientReach;
  private readonly diagram: CellDiagram;
  private readonly search: UnitSearch;
  private saveTimer = 0;
  private announceTimer = 0;

  constructor(private readonly vscode: VsCodeApi, private readonly root: HTMLElement) {
    // VS Code's postMessage takes no transfer list: typed arrays are copied
    this.bridge = new Bridge({ postMessage: (m) => vscode.postMessage(m) });
    const ui = this.ui = new Inspector(this.bridge, new Exporter(this.bridge), new Tooltip(), this.timings, readTheme(),
      vscode.getState() as PersistedState | undefined);
    ui.subscribe(this);
    document.addEventListener('securitypolicyviolation', (e) => this.cspViolations.push(`${e.violatedDirective}: ${e.blockedURI}`));

    const header = new Header(ui);
    const toolbar = new Toolbar(ui);
    const strip = new TextStrip(ui);
    const editedNote = new EditedNote(ui);
    const heatmaps = new Heatmaps(ui);
    const trajectories = new TrajectoryChart(ui);
    const gradients = new GradientChart(ui);
    const reach = this.reach = new GradientReach(ui);
    const diagram = this.diagram = new CellDiagram(ui);
    const readout = new Readout(ui);
    const search = this.search = new UnitSearch(ui);
    const sat = new SaturationChart(ui);
    const dashboard = new Dashboard(ui);
    const timeColumn = h('div', { class: 'time-column' }, strip.el, editedNote.el, heatmaps.el, trajectories.el, reach.el, gradients.el);
    const side = h('aside', { class: 'side-column', 'aria-label': 'Details' }, readout.el, diagram.el, search.el, sat.el);
    this.inspectPage.append(h('div', { class: 'empty', id: 'empty' }, 'Tracing…'), h('div', { class: 'columns' }, timeColumn, side));
    this.trainingPage.append(dashboard.el);
    root.append(header.el, toolbar.el, this.inspectPage, this.trainingPage, this.liveRegion, ui.tooltip.el);
    this.views = [header, toolbar, strip, editedNote, heatmaps, trajectories, reach, gradients, readout, diagram, search, sat, dashboard];

    onThemeChange(() => ui.setTheme(readTheme()));
    window.addEventListener('keydown', (e) => this.onKey(e));
    this.changed(new Set(['tab']));
  }

  get theme(): Theme {
    return this.ui.theme;
  }

  /** Tells the host the webview listens. Call once, after the message listener is installed. */
  start(): void {
    this.bridge.start(this.ui, this);
  }

  receive(message: unknown): void {
    this.bridge.receive(message);
  }

  // ---- painting (StoreListener) -------------------------------------------------------------------------

  changed(set: ReadonlySet<Change>): void {
    const ui = this.ui;
    if (set.has('tab') || set.has('data') || set.has('status')) {
      const training = ui.view.tab === 'training';
      this.inspectPage.hidden = training;
      this.trainingPage.hidden = !training;
      const empty = this.root.querySelector('#empty');
      empty?.toggleAttribute('hidden', !!ui.trace);
      if (empty && !ui.trace) {
        empty.textContent = ui.target && !ui.target.document
          ? 'This panel follows a training run. When the model is saved, inspect it on a text: Gatescope: Inspect Model on File.'
          : ui.status?.kind === 'error' ? 'No trace.' : 'Tracing…';
      }
      this.inspectPage.classList.toggle('has-trace', !!ui.trace);
    }
    const timed = set.has('data') || set.has('cursor');
    for (const v of this.views) {
      const t0 = timed ? performance.now() : 0;
      v.update(set);
      if (timed) this.timings.breakdown[`${set.has('data') ? 'data' : 'hover'}:${v.constructor.name}`] = performance.now() - t0;
    }
  }

  /** Saves the view state (restored after a reload) and tells the host, once it settles. */
  persist(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = window.setTimeout(() => {
      const { target, view } = this.ui;
      if (target) this.vscode.setState({ target, view } satisfies PersistedState);
      this.bridge.notify({ type: 'didChangeView', view });
    }, 100);
  }

  /** Tells screen readers where the cursor is, once it settles. */
  announce(): void {
    clearTimeout(this.announceTimer);
    this.announceTimer = window.setTimeout(() => {
      const ui = this.ui, t = ui.view.cursor;
      const v = ui.values(ui.view.quantity);
      if (!v) return;
      const ch = ui.chars[t] ?? '';
      this.liveRegion.textContent = `t ${t}, ${JSON.stringify(ch)}, ${ui.view.quantity} of unit ${ui.view.unit} = ${v[t * ui.H + ui.view.unit]!.toFixed(2)}`;
    }, 250);
  }

  // ---- the bridge's questions (BridgeShell) -------------------------------------------------------------

  /** Runs f (a trace arriving) and times it to the frame after every view painted it (the speed target: < 0.5 s). */
  timePaint(f: () => void): void {
    const t0 = performance.now();
    f();
    requestAnimationFrame(() => requestAnimationFrame(() => {
      this.timings.paintMs = performance.now() - t0;
    }));
  }

  revealSearch(): void {
    document.getElementById('search')?.scrollIntoView({ block: 'nearest' });
  }

  painted(): Painted {
    const canvases = this.views.flatMap((v) => v.canvases?.() ?? [])
      .filter((c) => c.isConnected && c.offsetParent !== null)
      .map((c) => ({ id: c.id || c.getAttribute('aria-label') || 'canvas', width: c.width, height: c.height, ink: inkOf(c) }));
    const curves = this.reach.curves, d = this.diagram.last;
    return {
      canvases, reachCurves: { all: curves.length, compare: curves.filter((c) => c.model === 'compare').length }, scatter: this.search.scatterDrawn,
      diagram: d ? { t: d.t, layer: d.layer, unit: d.unit, values: { ...d.values }, edited: this.diagram.lastEdited } : null, theme: themeKind(),
      timings: { paintMs: this.timings.paintMs, hoverMs: this.timings.hoverMs, breakdown: { ...this.timings.breakdown } }, cspViolations: [...this.cspViolations],
    };
  }

  // ---- keyboard -----------------------------------------------------------------------------------------

  private onKey(e: KeyboardEvent): void {
    const ui = this.ui;
    const target = e.target as HTMLElement;
    if (target.closest('input, select, textarea') || e.altKey || e.metaKey || !ui.T || ui.view.tab !== 'inspect') return;
    const step = e.ctrlKey ? 10 : 1;
    const sel = ui.view.selection, cursor = ui.view.cursor;
    const extend = (to: number): void => {
      const anchor = sel ? (sel.start === cursor ? sel.end - 1 : sel.start) : cursor;
      ui.setSelection({ start: Math.min(anchor, to), end: Math.max(anchor, to) + 1 });
      ui.moveCursor(to);
    };
    switch (e.key) {
      case 'ArrowLeft':
        if (e.shiftKey) extend(Math.max(0, cursor - step));
        else ui.moveCursor(cursor - step);
        break;
      case 'ArrowRight':
        if (e.shiftKey) extend(Math.min(ui.T - 1, cursor + step));
        else ui.moveCursor(cursor + step);
        break;
      case 'Home': ui.moveCursor(0); break;
      case 'End': ui.moveCursor(ui.T - 1); break;
      case 'ArrowUp':
        if (target.closest('.strip')) return; // the strip moves by rows itself
        ui.selectUnit(ui.view.unit - 1);
        break;
      case 'ArrowDown':
        if (target.closest('.strip')) return;
        ui.selectUnit(ui.view.unit + 1);
        break;
      case 'Escape':
        if (!sel) return;
        ui.setSelection(null);
        break;
      default:
        return;
    }
    e.preventDefault();
  }
}
