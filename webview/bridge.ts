import { Messenger, type Port } from '../src/protocol/messenger';
import { emptyTrace } from '../src/protocol/trace';
import { probabilityOfActual, topPredictions } from '../src/protocol/traceQuery';
import type { CanvasInk, HostToWebview, InspectorSnapshot, WebviewReplies, WebviewToHost } from '../src/protocol/webview';
import { editedMark, seriesNote } from './data/edited';
import { reachHeadline } from './data/reach';
import type { Store } from './store';

/** What only the painted page knows, for the snapshot. */
export interface Painted {
  /** Every canvas of the visible tab, with its ink. */
  readonly canvases: readonly CanvasInk[];
  /** The reach card's curves: all of them, and the comparison model's. */
  readonly reachCurves: { readonly all: number; readonly compare: number };
  /** The scatter the unit search drew. */
  readonly scatter: NonNullable<InspectorSnapshot['featureSearch']>['scatter'];
  readonly diagram: InspectorSnapshot['diagram'];
  readonly theme: InspectorSnapshot['theme'];
  readonly timings: InspectorSnapshot['timings'];
  readonly cspViolations: readonly string[];
}

/** What the bridge asks of the page. */
export interface BridgeShell {
  /** Runs f (a trace arriving), timing it up to the frame after the views painted it. */
  timePaint(f: () => void): void;
  /** Scrolls the unit search into view (the host set the search). */
  revealSearch(): void;
  painted(): Painted;
}

/**
 * The webview's end of protocol/webview.ts: owns the Messenger, hands the host's notifications to the store,
 * answers `getState` with the snapshot, and sends the store's, the exporter's and the views' messages. No DOM.
 */
export class Bridge {
  private readonly messenger: Messenger<WebviewToHost, HostToWebview, WebviewReplies>;
  private inbound: { readonly store: Store; readonly shell: BridgeShell } | null = null;

  constructor(port: Port) {
    this.messenger = new Messenger<WebviewToHost, HostToWebview, WebviewReplies>(port, {
      onRequest: (req) => this.onRequest(req),
      onNotification: (n) => this.onNotification(n),
    });
  }

  /**
   * From now on the host's messages go to `store`; tells the host the webview listens (`ready`, after which the
   * host sends `init`). Call once, after the message listener is installed.
   */
  start(store: Store, shell: BridgeShell): void {
    this.inbound = { store, shell };
    this.messenger.notify({ type: 'ready' });
  }

  /** Feed every message from the host here. */
  receive(message: unknown): void {
    void this.messenger.receive(message);
  }

  request<K extends keyof WebviewReplies>(msg: Extract<WebviewToHost, { type: K }>, transfer: readonly ArrayBuffer[] = []): Promise<WebviewReplies[K]> {
    return this.messenger.request(msg, transfer);
  }

  notify(msg: WebviewToHost): void {
    this.messenger.notify(msg);
  }

  private onNotification(n: HostToWebview): void {
    if (!this.inbound) return;
    const { store, shell } = this.inbound;
    switch (n.type) {
      case 'init':
        shell.timePaint(() => store.init(n));
        break;
      case 'didTrace':
        shell.timePaint(() => store.traced(n.target, n.model, n.trace));
        break;
      case 'didTraceStart':
        store.traced(n.target, n.model, { ...n.view, trace: emptyTrace(n.shape), pending: { filled: 0, stopped: false } });
        break;
      case 'didTraceSegment':
        store.traceSegment(n.segment);
        break;
      case 'didTraceEnd':
        shell.timePaint(() => store.traceEnded(n.tail, n.stopped));
        break;
      case 'didChangeStatus':
        store.setStatus(n.status);
        break;
      case 'didCompare':
        store.setCompare(n.compare);
        break;
      case 'showTab':
        store.setView({ tab: n.tab }, 'tab');
        break;
      case 'didStartTraining':
        store.trainingStarted(n.training);
        break;
      case 'didLoadHistory':
        store.historyLoaded(n.training);
        break;
      case 'didCompareTraining':
        store.trainingCompared(n.training);
        break;
      case 'didProgress':
        store.trainingProgressed(n.runId, n.progress);
        break;
      case 'didSample':
        store.trainingSampled(n.runId, n.sample);
        break;
      case 'didFinishTraining':
        store.trainingFinished(n.runId, n.end, n.model);
        break;
      case 'setCursor':
        store.moveCursor(n.t, true);
        break;
      case 'didStep':
        store.debuggerStepped(n.step);
        break;
      case 'selectRange':
        store.setSelection(n.range.end > n.range.start ? n.range : null);
        break;
      case 'searchUnits':
        store.showSearch(n.search);
        shell.revealSearch();
        break;
      case 'getState':
        break;
    }
  }

  private onRequest(req: HostToWebview): unknown {
    if (req.type === 'getState' && this.inbound) return snapshotOf(this.inbound.store, this.inbound.shell.painted());
    throw new Error(`the webview does not answer ${req.type}`);
  }
}

/** What the view shows (test-only `getState`): the store's state and what the page painted of it. */
export function snapshotOf(store: Store, painted: Painted): InspectorSnapshot {
  const tr = store.trace, f = store.featureSearch, r = store.reach, hist = store.history;
  return {
    target: store.target, view: store.view, model: store.model?.name ?? null, cell: tr?.cell ?? null, steps: store.T,
    tracing: store.traceView?.pending ?? null,
    layers: tr?.layers.length ?? 0, hidden: store.H, cursorChar: store.chars[store.view.cursor] ?? null, canvases: painted.canvases,
    search: store.search.slice(0, 10).map((m) => ({ unit: m.unit, sign: m.sign, score: m.score })),
    featureSearch: store.view.search.mode === 'threshold' ? null : {
      feature: f.result?.feature ?? null,
      units: (f.result?.units ?? []).slice(0, 10).map((u) => ({ ...u })),
      matches: f.result?.matches ?? null,
      message: store.searchMessage(),
      scatter: painted.scatter,
      pending: store.unitsPending,
    },
    compare: store.compare?.label ?? null,
    reach: r ? {
      at: r.at, maxK: r.model.summary?.maxK ?? null, horizon: r.model.summary?.horizon ?? [],
      compareHorizon: r.compare?.summary?.horizon ?? null, headline: reachHeadline(r, store.view.layer),
      curves: painted.reachCurves.all, compareCurves: painted.reachCurves.compare,
      saliency: store.saliency ? store.saliency.reduce((n, v) => n + (v >= 0 ? 1 : 0), 0) : 0,
      note: [r.model.predictionNote, r.model.summaryNote, r.compareNote].filter((x) => x).join(' ') || null,
    } : null,
    diagram: painted.diagram,
    training: hist ? {
      runId: hist.runId, reports: hist.length, step: hist.latest?.step ?? 0, samples: hist.samples.length, finished: !!hist.finished,
      tensorRows: hist.tensorRows.length, compared: store.comparedRun?.title ?? null,
    } : null,
    status: store.status,
    debugger: store.debugStep ? { t: store.debugStep.t, edited: store.debugStep.edited !== null } : null,
    readout: tr ? readoutOf(store) : null,
    seriesNote: store.editedAt(store.view.cursor) ? seriesNote(store.view.cursor) : null,
    theme: painted.theme, timings: painted.timings, cspViolations: painted.cspViolations,
  };
}

/** What the Cursor card shows of its step: the debugger's edited state there, marked, or the trace's. */
function readoutOf(store: Store): NonNullable<InspectorSnapshot['readout']> {
  const t = store.focus, e = store.editedAt(t);
  if (e) return { t, edited: true, mark: editedMark(e), top: e.top.map((x) => ({ ...x })), pChar: e.pChar };
  return { t, edited: false, mark: null, top: topPredictions(store.trace!, t, 5), pChar: probabilityOfActual(store.trace!, t) };
}
