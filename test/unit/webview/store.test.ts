import * as assert from 'node:assert/strict';
import { Network } from '../../../src/engine/network';
import { Rng } from '../../../src/engine/rng';
import { traceTokens } from '../../../src/engine/trace';
import type { CellType } from '../../../src/engine/types';
import type { ReachView } from '../../../src/protocol/reach';
import { emptyTrace, type TraceData, type TraceSegmentData, type TraceShape, type TraceTail } from '../../../src/protocol/trace';
import { slicePredictions } from '../../../src/engine/predictions';
import type { UnitsView } from '../../../src/protocol/units';
import type { EditedStep, InspectorSnapshot, InspectorTarget, TraceView, ViewState, WebviewReplies, WebviewToHost } from '../../../src/protocol/webview';
import { Bridge, type BridgeShell, type Painted } from '../../../webview/bridge';
import { buildLut, paletteFor, type Rgb, type Theme } from '../../../webview/data/colour';
import { REACH_K } from '../../../webview/data/reach';
import { DEFAULT_VIEW, Store, type Change, type StoreHost, type Timers } from '../../../webview/store';

/** A real engine trace of a small model, as it crosses to the webview (T characters, H units). */
function traceOf(cell: CellType, T: number, H: number, layers: number, seed = 4): TraceData {
  const rng = new Rng(seed);
  const net = new Network({ cell, vocabSize: 5, embed: 3, hidden: H, layers });
  net.initialize(rng);
  for (let i = 0; i < net.params.length; i++) net.params[i] *= 3;
  const tokens = Int32Array.from({ length: T }, () => rng.nextUint32() % 5);
  const t = traceTokens(net, tokens);
  return { cell, vocab: ['a', 'b', 'c', ' ', '\n'], hidden: H, tokens: t.tokens, loss: t.loss, predictions: t.predictions, probs: t.probs, layers: t.layers };
}

function viewOf(trace: TraceData): TraceView {
  return { trace, documentName: 'a.txt', first: 0, total: trace.tokens.length, notices: [] };
}

const TARGET: InspectorTarget = { model: 'file:///m.safetensors', document: 'file:///a.txt', range: null, runId: null };
const SERIES = ['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7'];

function testTheme(): Theme {
  const bg: Rgb = [31, 31, 31];
  const palette = paletteFor('dark', bg);
  return {
    kind: 'dark', bg, fg: '#cccccc', fgRgb: [204, 204, 204], muted: '#9d9d9d', border: '#3c3c3c', grid: '#cccccc80', accent: '#0078d4',
    cursor: '#aeafad', selection: '#264f78', match: '#cca700', font: 'sans-serif', mono: 'monospace', monoSize: 13, series: SERIES, palette,
    luts: { sequential: buildLut(palette.sequential), diverging: buildLut(palette.diverging) }, inks: { sequential: [], diverging: [] },
  };
}

/** The host, answered by hand: each request waits until the test resolves or rejects it. */
class FakeHost implements StoreHost {
  readonly asked: { msg: WebviewToHost; resolve(v: unknown): void; reject(e: Error): void }[] = [];
  readonly notes: WebviewToHost[] = [];

  request<K extends 'units' | 'reach'>(msg: Extract<WebviewToHost, { type: K }>): Promise<WebviewReplies[K]> {
    return new Promise((resolve, reject) => this.asked.push({ msg, resolve: resolve as (v: unknown) => void, reject }));
  }

  notify(msg: Extract<WebviewToHost, { type: 'didMoveCursor' }>): void {
    this.notes.push(msg);
  }

  /** The requests of one type, in the order asked. */
  of<K extends 'units' | 'reach'>(type: K): { msg: Extract<WebviewToHost, { type: K }>; resolve(v: WebviewReplies[K]): void; reject(e: Error): void }[] {
    return this.asked.filter((a) => a.msg.type === type) as never;
  }
}

/** Time that passes only when the test says so. */
class FakeTimers implements Timers {
  private now = 0;
  private nextId = 1;
  private readonly due = new Map<number, { at: number; f: () => void }>();

  setTimeout(f: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.due.set(id, { at: this.now + ms, f });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.due.delete(handle as number);
  }

  tick(ms: number): void {
    this.now += ms;
    for (const [id, t] of [...this.due].sort((a, b) => a[1].at - b[1].at)) {
      if (t.at > this.now) break;
      this.due.delete(id);
      t.f();
    }
  }
}

/** Lets the promise callbacks (the host's answers) run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function setup(saved?: Partial<ViewState>) {
  const host = new FakeHost();
  const timers = new FakeTimers();
  const store = new Store(host, timers, testTheme(), saved ? { target: TARGET, view: { ...DEFAULT_VIEW, ...saved } } : undefined);
  const changes: Change[][] = [];
  let persisted = 0, announced = 0;
  store.subscribe({ changed: (c) => changes.push([...c]), persist: () => persisted++, announce: () => announced++ });
  const load = (trace: TraceData): void => store.init({ target: TARGET, model: null, trace: viewOf(trace), compare: null, training: null, status: null });
  return { host, timers, store, changes, load, persisted: () => persisted, announced: () => announced };
}

function unitsView(feature: string, units: number[] = []): UnitsView {
  return {
    feature, binary: false, x: null, matches: null, units: units.map((unit) => ({ layer: 0, unit, quantity: 'h', r: 0.5 })), searched: 10, constant: 0,
    message: null, scatter: null,
  };
}

/** The debugger's state at t as the trace has it, with h[unit] of `layer` set to `value` and a top prediction of its own. */
function editedFrom(trace: TraceData, t: number, layer: number, unit: number, value: number): EditedStep {
  const H = trace.hidden;
  const row = (a: Float32Array | null, tt: number): Float32Array | null => (a ? (tt < 0 ? new Float32Array(H) : a.slice(tt * H, (tt + 1) * H)) : null);
  return {
    layers: trace.layers.map((l, k) => {
      const h = row(l.h, t)!;
      if (k === layer) h[unit] = value;
      return { h, c: row(l.c, t), hPrev: row(l.h, t - 1)!, cPrev: row(l.c, t - 1),
        gates: Object.fromEntries(Object.entries(l.gates).map(([q, g]) => [q, row(g, t)!])) };
    }),
    top: [{ char: 'c', p: 0.283 }, { char: 'a', p: 0.2 }], next: { char: 'a', p: 0.2 }, pChar: 0.1,
    edits: [{ t, layer, state: 'h', unit, value }],
  };
}

function reachAt(at: number): ReachView {
  return { at, model: { cell: 'lstm', prediction: null, predictionNote: null, summary: null, summaryNote: 'short', factors: null }, compare: null, compareLabel: null, compareNote: null };
}

describe('webview store: a trace arrives', () => {
  it('restores the saved view, the search filled in with its defaults', () => {
    const { store } = setup({ unit: 2, search: { mode: 'regex', regex: 'x' } as ViewState['search'] });
    assert.equal(store.view.unit, 2);
    assert.equal(store.view.search.regex, 'x');
    assert.equal(store.view.search.quantity, 'all', 'a field the saved search lacks comes from DEFAULT_SEARCH');
    assert.deepEqual(store.target, TARGET);
  });

  it('keeps a restored view where it still fits the trace: layer, quantity, cursor, ranges and scope clamped', () => {
    const s = setup({
      layer: 3, quantity: 'f', unit: 2, units: [1, 2], cursor: 100, window: { start: 2, end: 10 }, selection: { start: 2, end: 40 },
      search: { mode: 'ranges', feature: 'column', lang: null, regex: '', ranges: [{ start: 0, end: 5 }, { start: 8, end: 40 }], quantity: 'i', layer: 5 },
    });
    s.load(traceOf('gru', 12, 6, 1));
    const v = s.store.view;
    assert.equal(v.layer, 0, 'one layer');
    assert.equal(v.quantity, 'h', 'a GRU has no f');
    assert.equal(v.unit, 2);
    assert.deepEqual(v.units, [1, 2], 'the plotted units exist: kept');
    assert.equal(v.cursor, 11);
    assert.deepEqual(v.window, { start: 2, end: 10 });
    assert.equal(v.selection, null, 'past the end of the text');
    assert.deepEqual(v.search.ranges, [{ start: 0, end: 5 }]);
    assert.equal(v.search.quantity, 'all', 'a GRU has no i');
    assert.equal(v.search.layer, null);
    assert.deepEqual(s.changes, [['data', 'compare', 'training', 'status', 'tab']]);
    assert.equal(s.persisted(), 1);
    assert.equal(s.store.chars.length, 12);
    assert.equal(s.store.featureSearch.searching, true, 'searching until the first answer');
  });

  it('a fresh view starts on the units that swing the most, zoomed on the start of a long text', () => {
    const s = setup({ unit: 9, units: [9] });
    s.load(traceOf('lstm', 1000, 4, 1));
    const v = s.store.view;
    assert.equal(v.units.length, 3);
    assert.equal(v.unit, v.units[0]);
    assert.ok(v.units.every((u) => u < 4));
    assert.deepEqual(v.window, { start: 0, end: 400 });
    assert.deepEqual(s.store.window, { start: 0, end: 400 });
  });

  it('a panel following a training run without a trace opens on its dashboard', () => {
    const s = setup();
    const empty = new Float32Array(0);
    s.store.init({ target: { ...TARGET, document: null }, model: null, trace: null, compare: null, status: null,
      training: { runId: 3, title: 'r', step: new Float64Array(0), loss: empty, valLoss: empty, gradNorm: empty, clipRatio: empty, charsPerSec: empty, latest: null, samples: [], finished: null } });
    assert.equal(s.store.view.tab, 'training');
    assert.equal(s.store.T, 0);
    assert.equal(s.host.asked.length, 0, 'nothing to ask about');
  });
});

describe('webview store: a trace that arrives in segments', () => {
  /** The shape and segments of a trace, as the worker streams them (segments of K timesteps). */
  function streamed(trace: TraceData, K: number): { shape: TraceShape; segments: TraceSegmentData[]; tail: TraceTail } {
    const T = trace.tokens.length, H = trace.hidden;
    const shape: TraceShape = { cell: trace.cell, vocab: trace.vocab, hidden: H, layers: trace.layers.length,
      gates: Object.keys(trace.layers[0]!.gates), tokens: trace.tokens, k: trace.predictions.k };
    const segments: TraceSegmentData[] = [];
    for (let a = 0; a < T; a += K) {
      const b = Math.min(T, a + K);
      segments.push({
        start: a, end: b, predictions: slicePredictions(trace.predictions, a, b),
        layers: trace.layers.map((l) => ({ gates: Object.fromEntries(Object.entries(l.gates).map(([g, x]) => [g, x.slice(a * H, b * H)])), c: l.c?.slice(a * H, b * H) ?? null, h: l.h.slice(a * H, b * H) })),
      });
    }
    return { shape, segments, tail: { loss: trace.loss, gradH: trace.layers.map((l) => l.gradH), gradC: trace.layers.map((l) => l.gradC) } };
  }

  it('fills the views as segments come (repainting at most every 150 ms), then takes the loss and norms: the same trace as one sent whole', () => {
    const { store, timers, changes } = setup();
    const whole = traceOf('lstm', 90, 6, 2);
    const { shape, segments, tail } = streamed(whole, 32);
    store.traced(TARGET, { name: 'm', cell: 'lstm', layers: 2, hidden: 6, embed: 3, vocab: 5, parameters: 1, steps: null, trainLoss: null, valLoss: null, source: null } as never,
      { trace: emptyTrace(shape), documentName: 'a.txt', first: 0, total: 90, notices: [], pending: { filled: 0, stopped: false } });
    assert.deepEqual(store.traceView!.pending, { filled: 0, stopped: false });
    changes.length = 0;
    store.traceSegment(segments[0]!);
    timers.tick(0);
    assert.equal(changes.length, 1, 'the first segment paints at once');
    store.traceSegment(segments[1]!);
    timers.tick(100);
    assert.equal(changes.length, 1, 'the next one waits for the 150 ms');
    timers.tick(60);
    assert.equal(changes.length, 2);
    assert.deepEqual(store.traceView!.pending, { filled: 64, stopped: false });
    assert.deepEqual(store.trace!.layers[1]!.h.subarray(0, 64 * 6), whole.layers[1]!.h.subarray(0, 64 * 6));
    store.traceSegment(segments[2]!);
    store.traceEnded(tail, null);
    assert.equal(store.traceView!.pending, undefined);
    const got = store.trace!;
    assert.equal(got.loss, whole.loss);
    assert.deepEqual(got.layers[0]!.c, whole.layers[0]!.c);
    assert.deepEqual(got.layers[0]!.gates['f'], whole.layers[0]!.gates['f']);
    assert.deepEqual(got.layers[1]!.gradH, whole.layers[1]!.gradH);
    assert.deepEqual(got.predictions.topIds, whole.predictions.topIds);
    // units picked for the incomplete trace are picked again on the whole one (the user chose none)
    const { store: ref } = setup();
    ref.init({ target: TARGET, model: null, trace: viewOf(whole), compare: null, training: null, status: null });
    assert.deepEqual(store.view.units, ref.view.units);
  });

  it('a units answer for the trace still arriving is kept (the worker answers once it is complete); a stopped trace keeps its timesteps', async () => {
    const { store, host } = setup({ search: { ...DEFAULT_VIEW.search, mode: 'feature' } });
    const whole = traceOf('gru', 50, 4, 1);
    const { shape, segments } = streamed(whole, 20);
    store.traced(TARGET, {} as never, { trace: emptyTrace(shape), documentName: 'a.txt', first: 0, total: 50, notices: [], pending: { filled: 0, stopped: false } });
    const asked = host.of('units');
    assert.equal(asked.length, 1);
    store.traceSegment(segments[0]!);
    asked[0]!.resolve(unitsView('column', [2]));
    await Promise.resolve();
    assert.equal(store.featureSearch.result?.feature, 'column', 'the answer is about this trace, filled in since');
    store.traceEnded(null, 20);
    assert.deepEqual(store.traceView!.pending, { filled: 20, stopped: true });
    assert.deepEqual(store.trace!.layers[0]!.h.subarray(0, 20 * 4), whole.layers[0]!.h.subarray(0, 20 * 4));
    assert.ok(Number.isNaN(store.trace!.loss), 'no loss for a trace stopped part way');
  });
});

describe('webview store: actions', () => {
  it('moveCursor clamps to the text, the window follows it, the host hears of it unless it said so', () => {
    const s = setup();
    s.load(traceOf('lstm', 1000, 4, 1));
    s.changes.length = 0;
    s.store.moveCursor(5000);
    assert.equal(s.store.view.cursor, 999);
    assert.deepEqual(s.store.view.window, { start: 600, end: 1000 }, 'moved just enough, as wide as before');
    assert.deepEqual(s.changes, [['cursor', 'window']]);
    assert.deepEqual(s.host.notes, [{ type: 'didMoveCursor', t: 999 }]);
    s.store.moveCursor(700.4, true);
    assert.equal(s.store.view.cursor, 700);
    assert.deepEqual(s.changes[1], ['cursor'], 'inside the window: it stays');
    assert.equal(s.host.notes.length, 1, 'not echoed back to the host');
    s.store.moveCursor(-3);
    assert.equal(s.store.view.cursor, 0);
    assert.deepEqual(s.store.view.window, { start: 0, end: 400 });
    assert.equal(s.announced(), 3);
  });

  it('moveCursor without a trace does nothing', () => {
    const s = setup();
    s.store.moveCursor(3);
    assert.deepEqual(s.changes, []);
    assert.deepEqual(s.host.notes, []);
  });

  it('hoverAt repaints the highlights and tells the host, once per timestep', () => {
    const s = setup();
    s.load(traceOf('lstm', 12, 4, 1));
    s.changes.length = 0;
    s.store.hoverAt(5);
    s.store.hoverAt(5);
    s.store.hoverAt(null);
    assert.deepEqual(s.changes, [['cursor'], ['cursor']]);
    assert.deepEqual(s.host.notes, [{ type: 'didMoveCursor', t: 5 }]);
    assert.equal(s.store.focus, s.store.view.cursor);
  });

  it('selectUnit clamps to the layer; plotting keeps the newest 8 units', () => {
    const s = setup({ units: [0], unit: 0 });
    s.load(traceOf('lstm', 12, 16, 1));
    s.store.selectUnit(100);
    assert.equal(s.store.view.unit, 15);
    s.store.selectUnit(-2.7);
    assert.equal(s.store.view.unit, 0);
    for (let u = 4; u < 14; u++) s.store.selectUnit(u, true);
    assert.deepEqual(s.store.view.units, [6, 7, 8, 9, 10, 11, 12, 13], 'the newest 8, the newest last');
    assert.equal(s.store.view.unit, 13);
    s.store.selectUnit(12, true);
    assert.deepEqual(s.store.view.units, [6, 7, 8, 9, 10, 11, 12, 13], 'already plotted: not added twice');
    assert.equal(s.store.unitColour(11), SERIES[5]);
  });

  it('togglePlotted removes a plotted unit and adds one, at most 8', () => {
    const s = setup({ units: [0, 1, 2, 3, 4, 5, 6, 7], unit: 0 });
    s.load(traceOf('lstm', 12, 16, 1));
    s.store.togglePlotted(3);
    assert.deepEqual(s.store.view.units, [0, 1, 2, 4, 5, 6, 7]);
    s.store.togglePlotted(9);
    s.store.togglePlotted(10);
    assert.deepEqual(s.store.view.units, [1, 2, 4, 5, 6, 7, 9, 10]);
    assert.deepEqual(s.changes.slice(-1), [['units']]);
  });

  it('setWindow: the whole text is no zoom', () => {
    const s = setup();
    s.load(traceOf('lstm', 100, 4, 1));
    s.store.setWindow({ start: 10, end: 50 });
    assert.deepEqual(s.store.view.window, { start: 10, end: 50 });
    s.store.setWindow({ start: 0, end: 100 });
    assert.equal(s.store.view.window, null);
  });

  it('addSearchRange merges the selection into the ranges, clears it and searches again', () => {
    const s = setup({ search: { mode: 'ranges', feature: 'column', lang: null, regex: '', ranges: [{ start: 0, end: 3 }], quantity: 'all', layer: null } });
    s.load(traceOf('lstm', 40, 4, 1));
    s.changes.length = 0;
    s.store.addSearchRange();
    assert.deepEqual(s.changes, [], 'no selection: nothing to add');
    s.store.setSelection({ start: 2, end: 6 });
    s.store.addSearchRange();
    assert.deepEqual(s.store.view.search.ranges, [{ start: 0, end: 6 }]);
    assert.equal(s.store.view.selection, null);
    assert.deepEqual(s.changes.slice(-1), [['selection', 'search']]);
  });

  it('the threshold search ranks the units on the selection, in the store', () => {
    const s = setup({ search: { mode: 'threshold', feature: 'column', lang: null, regex: '', ranges: [], quantity: 'all', layer: null } });
    s.load(traceOf('lstm', 40, 4, 1));
    assert.equal(s.host.of('units').length, 0, 'not asked of the host');
    assert.equal(s.store.search.length, 0);
    s.store.setSelection({ start: 5, end: 12 });
    assert.ok(s.store.search.length > 0);
    assert.ok(s.store.search.every((m) => m.unit >= 0 && m.unit < 4));
  });
});

describe('webview store: the debugger\'s step', () => {
  it('moves the cursor to the debugger\'s t over the restored one, without echoing it to the host', () => {
    const s = setup({ cursor: 10, units: [1], unit: 1 });
    s.load(traceOf('lstm', 30, 4, 2));
    assert.equal(s.store.view.cursor, 10, 'the saved view is restored first');
    s.store.debuggerStepped({ t: 3, edited: null });
    assert.equal(s.store.view.cursor, 3);
    assert.deepEqual(s.store.debugStep, { t: 3, edited: null });
    assert.equal(s.store.editedAt(3), null);
    assert.ok(s.changes.at(-1)!.includes('debug'));
    assert.ok(!s.host.notes.some((n) => n.type === 'didMoveCursor'), 'the host said so: no echo');
  });

  it('overlays its edited state on its step only, until it is no longer edited or the session ends', () => {
    const s = setup();
    const trace = traceOf('lstm', 20, 4, 2);
    s.load(trace);
    const e = editedFrom(trace, 7, 1, 2, -1);
    s.store.debuggerStepped({ t: 7, edited: e });
    assert.equal(s.store.view.cursor, 7);
    assert.equal(s.store.editedAt(7), e);
    assert.equal(s.store.editedAt(6), null, 'other steps show the trace');
    s.store.moveCursor(2);
    assert.equal(s.store.editedAt(7), e, 'the overlay stays with its step while the cursor is elsewhere');
    s.store.debuggerStepped({ t: 8, edited: null });
    assert.equal(s.store.editedAt(7), null, 'no longer diverged: gone');
    s.store.debuggerStepped({ t: 7, edited: e });
    s.store.debuggerStepped(null);
    assert.equal(s.store.debugStep, null, 'the session ended');
    assert.equal(s.store.editedAt(7), null);
    assert.equal(s.store.view.cursor, 7, 'the cursor stays where the debugger left it');
  });

  it('drops a step outside the trace, an edited state that does not fit it, and the step when a new trace arrives', () => {
    const s = setup();
    const trace = traceOf('lstm', 20, 4, 2);
    s.load(trace);
    s.store.debuggerStepped({ t: 20, edited: null });
    assert.equal(s.store.debugStep, null);
    const other = editedFrom(traceOf('lstm', 20, 5, 2), 4, 0, 0, 1);
    s.store.debuggerStepped({ t: 4, edited: other });
    assert.deepEqual(s.store.debugStep, { t: 4, edited: null }, 'H 5 on a trace of H 4: the cursor follows, the values do not');
    s.store.debuggerStepped({ t: 4, edited: editedFrom(trace, 4, 0, 0, 1) });
    s.store.traced(TARGET, { name: 'm', cell: 'lstm', layers: 2, hidden: 4, embed: 3, vocabSize: 5, parameters: 1, steps: null, trainLoss: null, valLoss: null, source: null },
      viewOf(traceOf('lstm', 20, 4, 2, 9)));
    assert.equal(s.store.debugStep, null, 'the host says again where the debugger is on the new trace');
  });

  it('a step before the trace arrives is dropped (the host sends it again after the trace)', () => {
    const s = setup();
    s.store.debuggerStepped({ t: 2, edited: null });
    assert.equal(s.store.debugStep, null);
  });
});

describe('webview store: asking the host', () => {
  it('keeps one units request in flight, and asks once more with the latest state when a change came meanwhile', async () => {
    const s = setup();
    s.load(traceOf('lstm', 40, 4, 1));
    const asked = (): WebviewToHost[] => s.host.of('units').map((a) => a.msg);
    assert.equal(asked().length, 1, 'the trace\'s search');
    s.store.setSearch({ mode: 'regex', regex: 'a' });
    s.store.setSearch({ regex: 'ab' });
    assert.equal(asked().length, 1, 'one in flight');
    assert.equal(s.store.unitsPending, true);
    s.host.of('units')[0]!.resolve(unitsView('column', [1]));
    await settle();
    assert.equal(asked().length, 2, 'asked once more');
    const again = s.host.of('units')[1]!.msg;
    assert.equal(again.search.regex, 'ab', 'with the latest state');
    assert.equal(again.search.mode, 'regex');
    assert.equal(s.store.featureSearch.result?.feature, 'column', 'the answer is shown meanwhile');
    assert.equal(s.store.searchMessage(), null);
    s.host.of('units')[1]!.resolve(unitsView('regex /ab/', [2]));
    await settle();
    assert.equal(asked().length, 2, 'nothing changed since: no third request');
    assert.equal(s.store.unitsPending, false);
    assert.equal(s.store.featureSearch.result?.feature, 'regex /ab/');
    assert.deepEqual(s.changes.slice(-1), [['search']]);
  });

  it('a failed search says why', async () => {
    const s = setup();
    s.load(traceOf('lstm', 40, 4, 1));
    s.host.of('units')[0]!.reject(new Error('the worker stopped'));
    await settle();
    assert.equal(s.store.searchMessage(), 'The search failed: the worker stopped');
  });

  it('ignores a units answer about a trace that has been replaced, and asks again for the new one', async () => {
    const s = setup();
    s.load(traceOf('lstm', 40, 4, 1));
    const next = viewOf(traceOf('lstm', 30, 4, 1, 9));
    s.store.traced(TARGET, { name: 'm', cell: 'lstm', layers: 1, hidden: 4, embed: 3, vocabSize: 5, parameters: 1, steps: null, trainLoss: null, valLoss: null, source: null }, next);
    s.host.of('units')[0]!.resolve(unitsView('stale', [3]));
    await settle();
    assert.equal(s.store.featureSearch.result?.feature, undefined, 'the old trace\'s answer is dropped');
    assert.equal(s.store.featureSearch.searching, true);
    assert.equal(s.host.of('units').length, 2, 'the new trace is searched');
    s.host.of('units')[1]!.resolve(unitsView('fresh', [0]));
    await settle();
    assert.equal(s.store.featureSearch.result?.feature, 'fresh');
  });

  it('a picked result is asked for by name (its scatter) and shown in its layer and quantity', () => {
    const s = setup();
    s.load(traceOf('lstm', 40, 4, 2));
    s.host.of('units')[0]!.resolve(unitsView('column'));
    s.store.pickSearchResult({ layer: 1, unit: 3, quantity: 'tanh(c)', r: 0.9 });
    assert.equal(s.store.view.layer, 1);
    assert.equal(s.store.view.quantity, 'c', 'tanh(c) shows as c');
    assert.equal(s.store.view.unit, 3);
    assert.ok(s.store.view.units.includes(3));
  });

  it('asks for the reach once the cursor rests, and ignores an answer for a cursor that moved on', async () => {
    const s = setup();
    s.load(traceOf('lstm', 40, 4, 1));
    s.timers.tick(60);
    assert.deepEqual(s.host.of('reach').map((a) => a.msg), [{ type: 'reach', at: 0, maxK: REACH_K, layer: 0 }]);
    s.store.moveCursor(5);
    s.store.moveCursor(6);
    s.store.moveCursor(7);
    s.host.of('reach')[0]!.resolve(reachAt(0));
    await settle();
    assert.equal(s.store.reach?.at, undefined, 'the cursor moved: the answer is not shown');
    s.timers.tick(59);
    assert.equal(s.host.of('reach').length, 1, 'the cursor has not rested yet');
    s.timers.tick(1);
    assert.deepEqual(s.host.of('reach').map((a) => a.msg.at), [0, 7], 'a held key asks once, for where it stopped');
    s.changes.length = 0;
    s.host.of('reach')[1]!.resolve(reachAt(7));
    await settle();
    assert.equal(s.store.reach?.at, 7);
    assert.equal(s.store.reachError, null);
    assert.deepEqual(s.changes, [['reach']]);
  });

  it('a new layer drops the reach and asks again; a failure is kept to be shown', async () => {
    const s = setup();
    s.load(traceOf('lstm', 40, 4, 2));
    s.timers.tick(60);
    s.host.of('reach')[0]!.resolve(reachAt(0));
    await settle();
    assert.equal(s.store.reach?.at, 0);
    s.store.setView({ layer: 1 }, 'layer');
    assert.equal(s.store.reach, null);
    s.timers.tick(60);
    assert.deepEqual(s.host.of('reach')[1]!.msg, { type: 'reach', at: 0, maxK: REACH_K, layer: 1 });
    s.host.of('reach')[1]!.reject(new Error('no model'));
    await settle();
    assert.equal(s.store.reachError, 'no model');
  });

  it('saliency asks for the reach back to the window\'s start', async () => {
    const s = setup();
    s.load(traceOf('lstm', 40, 4, 1));
    s.store.moveCursor(20);
    s.store.setSaliency(true);
    s.timers.tick(60);
    assert.deepEqual(s.host.of('reach').map((a) => a.msg), [{ type: 'reach', at: 20, maxK: REACH_K, layer: 0, saliencyFrom: 0 }]);
  });
});

describe('webview bridge', () => {
  function connect() {
    const posted: unknown[] = [];
    const bridge = new Bridge({ postMessage: (m) => posted.push(m) });
    const store = new Store(bridge, new FakeTimers(), testTheme());
    let revealed = 0, timed = 0;
    const painted: Painted = { canvases: [], reachCurves: { all: 0, compare: 0 }, scatter: null, diagram: null, theme: 'dark',
      timings: { paintMs: 12, hoverMs: null, breakdown: {} }, cspViolations: [] };
    const shell: BridgeShell = { timePaint: (f) => { timed++; f(); }, revealSearch: () => revealed++, painted: () => painted };
    bridge.start(store, shell);
    const send = async (body: unknown, id?: number): Promise<void> => {
      bridge.receive(id === undefined ? { body } : { id, body });
      await settle();
    };
    return { posted, store, send, revealed: () => revealed, timed: () => timed };
  }

  it('says ready, hands the host\'s notifications to the store and answers getState with the snapshot', async () => {
    const b = connect();
    assert.deepEqual(b.posted, [{ body: { type: 'ready' } }]);
    const trace = traceOf('lstm', 12, 4, 1);
    await b.send({ type: 'init', target: TARGET, model: null, trace: viewOf(trace), compare: null, training: null, status: null });
    assert.equal(b.timed(), 1, 'a trace\'s paint is timed');
    assert.equal(b.store.T, 12);
    assert.deepEqual((b.posted[1] as { body: WebviewToHost }).body.type, 'units', 'the store asks through the bridge');
    await b.send({ type: 'setCursor', t: 4 });
    assert.equal(b.store.view.cursor, 4);
    assert.ok(!b.posted.some((m) => (m as { body?: WebviewToHost }).body?.type === 'didMoveCursor'), 'the host\'s cursor is not echoed');
    await b.send({ type: 'selectRange', range: { start: 3, end: 3 } });
    assert.equal(b.store.view.selection, null, 'an empty range selects nothing');
    await b.send({ type: 'searchUnits', search: { mode: 'regex', regex: 'b' } });
    assert.equal(b.store.view.search.regex, 'b');
    assert.equal(b.revealed(), 1);
    await b.send({ type: 'getState' }, 41);
    const reply = b.posted.find((m) => (m as { inReplyTo?: number }).inReplyTo === 41) as unknown as { result: InspectorSnapshot };
    const keys: (keyof InspectorSnapshot)[] = ['target', 'view', 'model', 'cell', 'steps', 'tracing', 'layers', 'hidden', 'cursorChar', 'canvases', 'search',
      'featureSearch', 'compare', 'reach', 'diagram', 'training', 'status', 'debugger', 'readout', 'seriesNote', 'theme', 'timings', 'cspViolations'];
    assert.deepEqual(Object.keys(reply.result), keys);
    assert.equal(reply.result.steps, 12);
    assert.equal(reply.result.tracing, null, 'the trace arrived whole');
    assert.equal(reply.result.cursorChar, b.store.chars[4]);
    assert.equal(reply.result.featureSearch?.pending, true);
    assert.equal(reply.result.timings.paintMs, 12);
  });

  it('didStep moves the cursor and overlays the edited step; the snapshot says what the Cursor card shows, marked', async () => {
    const b = connect();
    const trace = traceOf('lstm', 12, 4, 1);
    await b.send({ type: 'init', target: TARGET, model: null, trace: viewOf(trace), compare: null, training: null, status: null });
    await b.send({ type: 'didStep', step: { t: 5, edited: editedFrom(trace, 5, 0, 3, -1) } });
    const state = async (id: number): Promise<InspectorSnapshot> => {
      await b.send({ type: 'getState' }, id);
      return (b.posted.find((m) => (m as { inReplyTo?: number }).inReplyTo === id) as unknown as { result: InspectorSnapshot }).result;
    };
    const s = await state(50);
    assert.equal(s.view.cursor, 5);
    assert.deepEqual(s.debugger, { t: 5, edited: true });
    assert.equal(s.readout?.edited, true);
    assert.deepEqual(s.readout?.top[0], { char: 'c', p: 0.283 });
    assert.match(s.readout!.mark!, /Edited in the debugger \(Set Value: h\[3\] = −1 at t = 5\)/);
    assert.match(s.seriesNote!, /t = 5 is edited in the debugger.*unedited trace/);
    await b.send({ type: 'didStep', step: null });
    const after = await state(51);
    assert.equal(after.debugger, null);
    assert.equal(after.readout?.edited, false);
    assert.equal(after.readout?.mark, null);
    assert.equal(after.seriesNote, null);
    const { k, topIds, topProbs } = trace.predictions;
    assert.deepEqual(after.readout!.top[0], { char: trace.vocab[topIds[5 * k]!], p: topProbs[5 * k] }, 'the trace\'s prediction again');
  });

  it('drops a progress report of another run', async () => {
    const b = connect();
    const empty = new Float32Array(0);
    await b.send({ type: 'didStartTraining', training: { runId: 2, title: 'r', step: new Float64Array(0), loss: empty, valLoss: empty, gradNorm: empty,
      clipRatio: empty, charsPerSec: empty, latest: null, samples: [], finished: null } });
    const p = { step: 10, totalSteps: 100, epoch: 0, loss: 2, valLoss: null, gradNorm: 1, clipRatio: 1, charsPerSec: 10, etaSeconds: 1 };
    await b.send({ type: 'didProgress', runId: 1, progress: p });
    await b.send({ type: 'didProgress', runId: 2, progress: p });
    assert.equal(b.store.history?.length, 1);
  });
});
