import * as assert from 'node:assert/strict';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { DID_STEP_EVENT, type DidStepBody } from '../../../src/protocol/debug';
import { traceTokens, type Trace } from '../../../src/engine/trace';
import {
  children, Fixture, InProcessAdapter, launch, scopeRef, snapshot, stepAndWait, TEXT, topFrame,
} from './helpers';

const H = 16;
const next = (dc: DebugClient): Promise<DebugProtocol.StoppedEvent> => stepAndWait(dc, dc.nextRequest({ threadId: 1 }));
const back = (dc: DebugClient): Promise<DebugProtocol.StoppedEvent> => stepAndWait(dc, dc.stepBackRequest({ threadId: 1 }));
const cont = (dc: DebugClient): Promise<DebugProtocol.StoppedEvent> => stepAndWait(dc, dc.continueRequest({ threadId: 1 }));

/** Code points of TEXT, so that t indexes characters as the debugger does. */
const CHARS = [...TEXT];
/** 1-based line and UTF-16 column of token t in TEXT, as VS Code counts them. */
function expectedPosition(t: number): { line: number; column: number } {
  const before = CHARS.slice(0, t).join('');
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1]!.length + 1 };
}

/** The top layer's row t of a (T, H) trace array. */
const row = (a: Float32Array, t: number): Float32Array => a.subarray(t * H, (t + 1) * H);
const maxAbs = (a: ArrayLike<number>): number => Math.max(...Array.from(a, Math.abs));

/** A threshold between two of the values, at least `margin` from every value, so float noise cannot move the answer. */
function safeThreshold(values: number[], q: number, margin = 1e-4): number {
  const sorted = [...values].sort((a, b) => a - b);
  for (let k = Math.floor(sorted.length * q); k + 1 < sorted.length; k++) {
    const mid = (sorted[k]! + sorted[k + 1]!) / 2;
    if (sorted[k + 1]! - sorted[k]! > 2 * margin) return mid;
  }
  throw new Error('no safe threshold');
}

describe('debug adapter over DAP', function () {
  let fx: Fixture;
  let trace: Trace;
  /** (T, V) the trace's whole next-character distribution at every position (asked for: a trace keeps only the top few). */
  let dist: Float32Array;
  let adapter: InProcessAdapter;
  let dc: DebugClient;

  before(() => {
    fx = new Fixture('lstm', 2);
    trace = traceTokens(fx.file.net, fx.file.vocab.encode(TEXT), { fullProbs: true });
    assert.ok(trace.probs !== null, 'fullProbs keeps the whole distribution');
    dist = trace.probs;
  });
  after(() => fx.dispose());
  beforeEach(async () => {
    adapter = new InProcessAdapter();
    dc = await adapter.start();
  });
  afterEach(() => adapter.stop());

  const args = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ program: fx.program, model: fx.model, stopOnEntry: true, ...extra });

  it('stops on entry at t = 0 on the first character, and tells the extension where it is', async () => {
    const didStep = dc.waitForEvent(DID_STEP_EVENT);
    const stop = await launch(dc, args());
    assert.equal(stop.body.reason, 'entry');
    const f = await topFrame(dc);
    assert.equal(f.name, "t=0 't'");
    assert.deepEqual([f.line, f.column], [1, 1]);
    assert.equal(f.source?.path, fx.program);
    const body = (await didStep).body as DidStepBody;
    assert.equal(body.t, 0);
    assert.equal(body.char, 't');
    assert.equal(body.length, CHARS.length);
    assert.equal(body.top.length, 5);
    assert.equal(body.next?.ch, 'h');
    assert.equal(body.diverged, false);
  });

  it('N steps land at t = N, with the frame on that character in UTF-16 columns (an emoji is one step, two columns)', async () => {
    const steps: DidStepBody[] = [];
    dc.on(DID_STEP_EVENT, (e: DebugProtocol.Event) => steps.push(e.body as DidStepBody));
    await launch(dc, args());
    const emoji = CHARS.indexOf('🙂');
    for (let n = 1; n <= emoji + 2; n++) {
      const stop = await next(dc);
      assert.equal(stop.body.reason, 'step');
      const f = await topFrame(dc);
      assert.equal(f.t, n);
      const want = expectedPosition(n);
      assert.deepEqual([f.line, f.column], [want.line, want.column], `position of t=${n}`);
      assert.equal(f.endColumn, undefined); // so that VS Code places its marker without selecting the character
      const body = steps[steps.length - 1]!;
      assert.deepEqual([body.t, body.line + 1, body.column + 1], [n, want.line, want.column]);
      assert.equal(body.endColumn - body.column, n === emoji ? 2 : CHARS[n] === '\n' ? 0 : 1);
    }
  });

  it('step back restores the state bit for bit, with checkpoints every K steps (replay), and reverse continue goes back to the start', async () => {
    await adapter.stop();
    adapter = new InProcessAdapter();
    dc = await adapter.start({ checkpointBudget: 2048 }); // forces K > 1: most step backs replay from a checkpoint
    await launch(dc, args());
    for (let n = 0; n < 9; n++) await next(dc);
    const at9 = await snapshot(dc, 1);
    assert.ok(at9.size > 6 * H * 2, 'the snapshot covers every unit of every scope');
    for (let n = 0; n < 7; n++) await next(dc);
    const at16 = await snapshot(dc, 1);
    for (let n = 0; n < 7; n++) await back(dc);
    assert.equal((await topFrame(dc)).t, 9);
    assert.deepEqual(await snapshot(dc, 1), at9);
    for (let n = 0; n < 7; n++) await next(dc);
    assert.deepEqual(await snapshot(dc, 1), at16);
    const stop = await stepAndWait(dc, dc.reverseContinueRequest({ threadId: 1 }));
    assert.equal(stop.body.reason, 'entry');
    assert.equal((await topFrame(dc)).t, 0);
  });

  it('a line breakpoint stops when the sequence reaches the line, then continue runs to the end', async () => {
    let ids: number[] = [];
    const stop = await launch(dc, args({ stopOnEntry: false }), async () => {
      const r = await dc.setBreakpointsRequest({ source: { path: fx.program }, breakpoints: [{ line: 3 }] });
      assert.equal(r.body.breakpoints[0]!.verified, true);
      ids = r.body.breakpoints.map((b) => b.id!);
    });
    assert.equal(stop.body.reason, 'breakpoint');
    assert.deepEqual(stop.body.hitBreakpointIds, ids);
    const f = await topFrame(dc);
    assert.equal(f.t, CHARS.indexOf('\n', CHARS.indexOf('\n') + 1) + 1);
    assert.deepEqual([f.line, f.column], [3, 1]);
    const end = await cont(dc);
    assert.equal(end.body.reason, 'end');
    assert.equal((await topFrame(dc)).t, CHARS.length - 1);
  });

  it("an expression breakpoint stops at the first t where the CLI's trace satisfies the condition", async () => {
    const cTop = trace.layers[1]!.c!;
    const values = CHARS.map((_, t) => maxAbs(row(cTop, t)));
    const thr = safeThreshold(values, 0.8);
    const expected = values.findIndex((v) => v > thr);
    assert.ok(expected > 0);
    const stop = await launch(dc, args({ stopOnEntry: false }), () =>
      dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: `max(abs(c)) > ${thr}` }] }));
    assert.equal(stop.body.reason, 'function breakpoint');
    assert.equal((await topFrame(dc)).t, expected);
    // continuing stops at the next t that satisfies it
    const second = values.findIndex((v, t) => t > expected && v > thr);
    if (second > 0) {
      await cont(dc);
      assert.equal((await topFrame(dc)).t, second);
    }
  });

  it("a conditional line breakpoint stops at the first character of its line where the trace satisfies it (gates of layer 0, probabilities)", async () => {
    const f1 = trace.layers[0]!.gates['f']!;
    const line2 = CHARS.indexOf('\n') + 1;
    const line2End = CHARS.indexOf('\n', line2);
    const gate = (t: number): number => f1[t * H + 3]!;
    const thr = safeThreshold(CHARS.slice(line2, line2End + 1).map((_, k) => gate(line2 + k)), 0.5);
    const expected = CHARS.findIndex((_, t) => t >= line2 && t <= line2End && gate(t) < thr);
    const V = fx.file.vocab.size;
    const e = fx.file.vocab.idOf('e')!;
    const pe = (t: number): number => dist[t * V + e]!;
    const pThr = safeThreshold(CHARS.map((_, t) => pe(t)), 0.7, 1e-6);
    const expectedP = CHARS.findIndex((_, t) => t > expected && pe(t) > pThr);
    await launch(dc, args({ stopOnEntry: false }), () => dc.setBreakpointsRequest({
      source: { path: fx.program }, breakpoints: [{ line: 2, condition: `layer(0).f[3] < ${thr}` }],
    }));
    assert.equal((await topFrame(dc)).t, expected);
    await dc.setBreakpointsRequest({ source: { path: fx.program }, breakpoints: [] });
    await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: `p('e') > ${pThr}` }] });
    await cont(dc);
    assert.equal((await topFrame(dc)).t, expectedP);
  });

  it("variables equal the trace's values: gates, c, h of every layer, the prediction and the gradient norms", async () => {
    await launch(dc, args());
    const t = 30;
    for (let n = 0; n < t; n++) await next(dc);
    const close = (got: string, want: number, what: string): void =>
      assert.ok(Math.abs(Number(got) - want) <= 1e-6, `${what}: ${got} vs ${want}`); // the engine's stepper ≡ trace tolerance (today they are bit-equal)
    for (let l = 0; l < 2; l++) {
      const layer = trace.layers[l]!;
      const cVars = await children(dc, await scopeRef(dc, 1, `Cell state c · layer ${l}`));
      const hVars = await children(dc, await scopeRef(dc, 1, `Hidden h · layer ${l}`));
      const gates = await children(dc, await scopeRef(dc, 1, `Gates · layer ${l}`));
      assert.deepEqual([...gates.keys()], ['i', 'f', 'g', 'o']);
      for (let j = 0; j < H; j++) {
        close(cVars.get(String(j))!.value, layer.c![t * H + j]!, `c[${j}] layer ${l}`);
        close(hVars.get(String(j))!.value, layer.h[t * H + j]!, `h[${j}] layer ${l}`);
      }
      assert.equal(cVars.get('3')!.evaluateName, `layer(${l}).c[3]`);
      for (const [name, v] of gates) {
        const units = await children(dc, v.variablesReference);
        for (let j = 0; j < H; j++) close(units.get(String(j))!.value, layer.gates[name]![t * H + j]!, `${name}[${j}]`);
      }
      const grads = await children(dc, await scopeRef(dc, 1, `Gradient norms · layer ${l}`));
      close(grads.get('gradH')!.value, layer.gradH[t]!, 'gradH');
      close(grads.get('gradC')!.value, layer.gradC![t]!, 'gradC');
    }
    const V = fx.file.vocab.size;
    const pred = await children(dc, await scopeRef(dc, 1, 'Prediction'));
    const probs = await children(dc, pred.get('probs')!.variablesReference);
    fx.file.vocab.chars.forEach((ch, v) => {
      const name = ch === '\n' ? "'\\n'" : `'${ch}'`;
      close(probs.get(name)!.value, dist[t * V + v]!, `p(${name})`);
    });
    const actual = fx.file.vocab.idOf(CHARS[t + 1]!)!;
    close(pred.get('loss')!.value, -Math.log(dist[t * V + actual]!), 'loss');
    assert.match(pred.get('next (actual)')!.value, new RegExp(`^'${CHARS[t + 1]}'`));
    const top = [...pred.keys()].filter((k) => k.startsWith('#'));
    assert.equal(top.length, 10);
    const r = await dc.evaluateRequest({ expression: 'layer(1).gradH', frameId: 1, context: 'watch' });
    close(r.body.result, trace.layers[1]!.gradH[t]!, 'evaluate gradH');
  });

  it('Set Value on a unit of h changes the prediction now and the next steps; step back and forth keeps the intervention', async () => {
    await launch(dc, args());
    for (let n = 0; n < 10; n++) await next(dc);
    const V = fx.file.vocab.size;
    const hRef = await scopeRef(dc, 1, 'Hidden h · layer 1');
    const before = await dc.evaluateRequest({ expression: 'probs', frameId: 1, context: 'repl' });
    const invalidated = dc.waitForEvent('invalidated');
    const didStep = dc.waitForEvent(DID_STEP_EVENT);
    const set = await dc.setVariableRequest({ variablesReference: hRef, name: '4', value: '0.9 + 0.05' });
    assert.equal(set.body.value, '0.95'); // the float32 nearest 0.95, written as the shortest decimal that reads back as it
    await invalidated;
    assert.equal(((await didStep).body as DidStepBody).diverged, true);
    // the prediction at t changed (top-layer h feeds the decoder) …
    const p10 = await children(dc, (await dc.evaluateRequest({ expression: 'probs', frameId: 1, context: 'repl' })).body.variablesReference);
    const changed = [...p10.values()].some((v, k) => Math.abs(Number(v.value) - dist[10 * V + k]!) > 1e-4);
    assert.ok(changed, 'the prediction at t follows the edited h');
    assert.notEqual(before.body.result, (await dc.evaluateRequest({ expression: 'probs', frameId: 1, context: 'repl' })).body.result);
    assert.equal((await dc.evaluateRequest({ expression: 'layer(1).h[4]', frameId: 1, context: 'watch' })).body.result, set.body.value);
    // … and so does the next step, which reads the edited state
    await next(dc);
    const after = await snapshot(dc, 1);
    const h11 = Number(after.get('Hidden h · layer 1/0'));
    assert.ok(Math.abs(h11 - trace.layers[1]!.h[11 * H]!) > 1e-7 || Math.abs(Number(after.get('Hidden h · layer 1/1')) - trace.layers[1]!.h[11 * H + 1]!) > 1e-7);
    assert.ok((await children(dc, await scopeRef(dc, 1, 'Interventions'))).has('t=10 layer(1).h[4]'));
    const grads = await children(dc, await scopeRef(dc, 1, 'Gradient norms · layer 1'));
    assert.match(grads.get('note')!.value, /ORIGINAL run/);
    for (let n = 0; n < 3; n++) await back(dc);
    for (let n = 0; n < 3; n++) await next(dc);
    assert.deepEqual(await snapshot(dc, 1), after);
  });

  it('after Set Value the didStep event carries the state at t (h, c, gates, t − 1) for the inspector; without one it carries none', async () => {
    const bodies: DidStepBody[] = [];
    dc.on(DID_STEP_EVENT, (e: DebugProtocol.Event) => bodies.push(e.body as DidStepBody));
    await launch(dc, args());
    for (let n = 0; n < 6; n++) await next(dc);
    assert.ok(bodies.length > 0 && bodies.every((b) => b.state === null), 'no state while the run is the plain one');
    const V = fx.file.vocab.size;
    const didStep = dc.waitForEvent(DID_STEP_EVENT);
    await dc.setVariableRequest({ variablesReference: await scopeRef(dc, 1, 'Hidden h · layer 1'), name: '3', value: '-1' });
    const body = (await didStep).body as DidStepBody;
    const st = body.state!;
    assert.equal(body.reason, 'setValue');
    assert.equal(st.layers.length, 2);
    // at t the edited unit, the rest as traced; the gates of step t and the state before it are the trace's
    const t = 6;
    const near = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) < 1e-5, `${what}: ${a} vs ${b}`);
    st.layers.forEach((l, k) => {
      const tl = trace.layers[k]!;
      l.h.forEach((v, j) => near(v, k === 1 && j === 3 ? -1 : tl.h[t * H + j]!, `layer ${k} h[${j}]`));
      l.c!.forEach((v, j) => near(v, tl.c![t * H + j]!, `layer ${k} c[${j}]`));
      l.hPrev.forEach((v, j) => near(v, tl.h[(t - 1) * H + j]!, `layer ${k} h(t − 1)[${j}]`));
      l.cPrev!.forEach((v, j) => near(v, tl.c![(t - 1) * H + j]!, `layer ${k} c(t − 1)[${j}]`));
      assert.deepEqual(Object.keys(l.gates), ['i', 'f', 'g', 'o']);
      l.gates['f']!.forEach((v, j) => near(v, tl.gates['f']![t * H + j]!, `layer ${k} f[${j}]`));
    });
    near(st.pChar!, dist[(t - 1) * V + fx.file.vocab.idOf(CHARS[t]!)!]!, 'p of the character at t');
    assert.deepEqual(st.edits, [{ t, offset: CHARS.slice(0, t).join('').length, layer: 1, state: 'h', unit: 3, value: -1 }]);
    // the prediction in the body is the edited one, and reading the state moved nothing
    const top1 = Number((await dc.evaluateRequest({ expression: 'max(probs)', frameId: 1, context: 'watch' })).body.result);
    near(top1, body.top[0]!.p, 'top-1 probability');
    assert.equal((await topFrame(dc)).t, t);
    // one step on, the state before t is the edited one
    await next(dc);
    const later = bodies[bodies.length - 1]!;
    assert.equal(later.t, t + 1);
    assert.equal(later.state!.layers[1]!.hPrev[3], -1);
    for (let n = 0; n < 2; n++) await back(dc);
    assert.equal(bodies[bodies.length - 1]!.state, null, 'before the intervention the state is the plain one again');
  });

  it('Set Value on c of layer 0 leaves the current prediction alone and changes the next one', async () => {
    await launch(dc, args());
    for (let n = 0; n < 5; n++) await next(dc);
    const probsNow = (await dc.evaluateRequest({ expression: 'probs', frameId: 1, context: 'repl' })).body.result;
    await dc.setVariableRequest({ variablesReference: await scopeRef(dc, 1, 'Cell state c · layer 0'), name: '0', value: '3' });
    assert.equal((await dc.evaluateRequest({ expression: 'probs', frameId: 1, context: 'repl' })).body.result, probsNow);
    await next(dc);
    const V = fx.file.vocab.size;
    const p = await children(dc, (await dc.evaluateRequest({ expression: 'probs', frameId: 1, context: 'repl' })).body.variablesReference);
    assert.ok([...p.values()].some((v, k) => Math.abs(Number(v.value) - dist[6 * V + k]!) > 1e-5));
    await assert.rejects(dc.setVariableRequest({ variablesReference: (await children(dc, await scopeRef(dc, 1, 'Gates · layer 0'))).get('f')!.variablesReference, name: '0', value: '1' }),
      /Only units of the cell state c and the hidden state h can be set/);
    await assert.rejects(dc.setVariableRequest({ variablesReference: await scopeRef(dc, 1, 'Hidden h · layer 0'), name: '0', value: "'e'" }), /must be a number/);
  });

  it('a bad expression gets a clear error with its position: at the breakpoint, in watch and in the REPL', async () => {
    let line: DebugProtocol.SetBreakpointsResponse | undefined;
    let fn: DebugProtocol.SetFunctionBreakpointsResponse | undefined;
    await launch(dc, args(), async () => {
      line = await dc.setBreakpointsRequest({
        source: { path: fx.program },
        breakpoints: [{ line: 1, condition: 'f[3 < 0.1' }, { line: 2, condition: 'c[17] > 2' }, { line: 3, hitCondition: 'often' }, { line: 9 }],
      });
      fn = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'max(abs(cc)) > 3' }, { name: "top1 == 5" }, { name: 'h' }, { name: "p('Z') < 0.1" }] });
    });
    const [b1, b2, b3, b4] = line!.body.breakpoints;
    assert.equal(b1!.verified, false);
    assert.match(b1!.message!, /bad condition: expected '\]' after the index, found the end of the expression \(column 10 of "f\[3 < 0.1"\)/);
    assert.match(b2!.message!, /index 17 is out of range: units are numbered 0 to 15 \(column 3/);
    assert.match(b3!.message!, /bad hit count: the hit count "often" is not a number/);
    assert.match(b4!.message!, /no character of the stepped text is on line 9/);
    const [f1, f2, f3, f4] = fn!.body.breakpoints;
    assert.match(f1!.message!, /unknown name 'cc' \(did you mean 'c'\?\)|unknown name 'cc'.*names: .*\bc\b/);
    assert.match(f2!.message!, /cannot compare a character with a number.*column 9/);
    assert.match(f3!.message!, /a condition must be true or false, but this is a vector of 16/);
    assert.match(f4!.message!, /"Z" is not in the model's vocabulary \(column 3/);
    await assert.rejects(dc.evaluateRequest({ expression: 'layer(2).h[0]', frameId: 1, context: 'watch' }), /layers are numbered from 0 to 1, not 2 \(column 7/);
    await assert.rejects(dc.evaluateRequest({ expression: 'c = 1', frameId: 1, context: 'repl' }), /unexpected character '=' \(compare with ==.*\n {2}c = 1\n {4}\^/);
  });

  it('a condition that fails while running stops there with the error', async () => {
    const stop = await launch(dc, args({ stopOnEntry: false }), () =>
      dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'c[t] > 100' }] }));
    assert.equal(stop.body.reason, 'function breakpoint');
    assert.match(stop.body.text ?? '', /index 16 is out of range/);
    assert.equal((await topFrame(dc)).t, 16);
  });

  it('logpoints print at every line start without stopping; hit counts pick the n-th hit', async () => {
    const logs: DebugProtocol.OutputEvent[] = [];
    dc.on('output', (e: DebugProtocol.OutputEvent) => { if (e.body.output.startsWith('line ')) logs.push(e); });
    const stop = await launch(dc, args({ stopOnEntry: false }), async () => {
      await dc.setBreakpointsRequest({
        source: { path: fx.program },
        breakpoints: [{ line: 1, logMessage: 'line {t}: {ch} then {top1} {{ok}}' }, { line: 3, logMessage: 'line 3 at t={t}' }],
      });
      await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: "ch == 'a'", hitCondition: '4' }] });
    });
    const fourthA = CHARS.reduce<number[]>((acc, ch, t) => (ch === 'a' ? [...acc, t] : acc), [])[3]!;
    assert.equal((await topFrame(dc)).t, fourthA);
    assert.equal(stop.body.reason, 'function breakpoint');
    await cont(dc);
    assert.equal(logs.length, 2);
    assert.match(logs[0]!.body.output, /^line 0: 't' then '.' \{ok\}\n$|^line 0: 't' then '.+' \{ok\}\n$/);
    assert.equal(logs[0]!.body.category, 'console');
    assert.equal(logs[0]!.body.line, 1);
    assert.equal(logs[1]!.body.output, `line 3 at t=${CHARS.lastIndexOf('\n', CHARS.length - 2) + 1}\n`);
    assert.equal(logs[1]!.body.line, 3);
  });

  it('Step Into gives a frame per layer; Step Out returns to the timestep, then runs to the end of the line', async () => {
    await launch(dc, args());
    await stepAndWait(dc, dc.stepInRequest({ threadId: 1 }));
    let frames = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
    assert.deepEqual(frames.map((f) => f.name), ["layer 0 · t=0 't'", "t=0 't'"]);
    const scopes = (await dc.scopesRequest({ frameId: frames[0]!.id })).body.scopes.map((s) => s.name);
    assert.deepEqual(scopes, ['Gates', 'Cell state c', 'Hidden h', 'Gradient norms', 'Prediction']);
    const watch = await dc.evaluateRequest({ expression: 'h[0]', frameId: frames[0]!.id, context: 'watch' });
    assert.equal(Math.fround(Number(watch.body.result)), trace.layers[0]!.h[0]);
    await stepAndWait(dc, dc.stepInRequest({ threadId: 1 }));
    assert.equal((await topFrame(dc)).name, "layer 1 · t=0 't'");
    await stepAndWait(dc, dc.stepInRequest({ threadId: 1 }));
    assert.equal((await topFrame(dc)).name, "layer 0 · t=1 'h'");
    await stepAndWait(dc, dc.stepOutRequest({ threadId: 1 }));
    frames = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
    assert.deepEqual(frames.map((f) => f.name), ["t=1 'h'"]);
    await stepAndWait(dc, dc.stepOutRequest({ threadId: 1 }));
    assert.equal((await topFrame(dc)).t, CHARS.indexOf('\n'));
    await stepAndWait(dc, dc.stepOutRequest({ threadId: 1 }));
    assert.equal((await topFrame(dc)).t, CHARS.indexOf('\n', CHARS.indexOf('\n') + 1));
  });

  it('restart goes back to t = 0 and forgets interventions', async () => {
    await launch(dc, args());
    for (let n = 0; n < 4; n++) await next(dc);
    await dc.setVariableRequest({ variablesReference: await scopeRef(dc, 1, 'Hidden h · layer 1'), name: '0', value: '1' });
    const stop = await stepAndWait(dc, dc.restartRequest({ arguments: args() as DebugProtocol.LaunchRequestArguments }));
    assert.equal(stop.body.reason, 'entry');
    assert.equal((await topFrame(dc)).t, 0);
    assert.ok(!(await dc.scopesRequest({ frameId: 1 })).body.scopes.some((s) => s.name === 'Interventions'));
  });

  it('evaluates for hover, watch and the REPL; vectors page their units; completions list names and functions', async () => {
    await launch(dc, args());
    const v = await dc.evaluateRequest({ expression: 'abs(layer(0).c) * 2', frameId: 1, context: 'repl' });
    assert.match(v.body.result, /^\(16\) min .* max .* mean /);
    assert.equal(v.body.indexedVariables, 16);
    const page = await dc.variablesRequest({ variablesReference: v.body.variablesReference, filter: 'indexed', start: 10, count: 4 });
    assert.deepEqual(page.body.variables.map((x) => x.name), ['10', '11', '12', '13']);
    assert.equal(Math.fround(Number(page.body.variables[0]!.value)), Math.fround(2 * Math.abs(trace.layers[0]!.c![10]!)));
    assert.equal(page.body.variables[0]!.evaluateName, '(abs(layer(0).c) * 2)[10]');
    assert.equal((await dc.evaluateRequest({ expression: 'top1', frameId: 1, context: 'hover' })).body.result.length, 3);
    assert.equal((await dc.evaluateRequest({ expression: "ch == 't' && t == 0", frameId: 1, context: 'watch' })).body.result, 'true');
    const c = await dc.completionsRequest({ text: 'ma', column: 3, frameId: 1 });
    assert.deepEqual(c.body.targets.map((x) => x.label), ['max']);
    const all = await dc.completionsRequest({ text: 'layer(0).', column: 10, frameId: 1 });
    assert.ok(all.body.targets.some((x) => x.label === 'gradH'));
    // layers are numbered from 0, as in the inspector, the CLI and PyTorch's _l0 names
    assert.equal((await dc.evaluateRequest({ expression: 'layer(0)', frameId: 1, context: 'repl' })).body.result, 'layer 0');
    const layerFn = (await dc.completionsRequest({ text: 'lay', column: 4, frameId: 1 })).body.targets.find((x) => x.label === 'layer');
    assert.match(layerFn?.detail ?? '', /numbered from 0 \(layer\(0\) is the first\)/);
  });

  it('breakpoints in other files are refused, and a text with characters outside the vocabulary does not launch', async () => {
    await launch(dc, args(), async () => {
      const r = await dc.setBreakpointsRequest({ source: { path: '/elsewhere.txt' }, breakpoints: [{ line: 1 }] });
      assert.equal(r.body.breakpoints[0]!.verified, false);
      assert.match(r.body.breakpoints[0]!.message!, /only in the text it steps through/);
    });
    await adapter.stop();
    adapter = new InProcessAdapter();
    dc = await adapter.start();
    await dc.initializeRequest();
    await assert.rejects(dc.launchRequest(args({ text: 'the cat: ZZ', startOffset: 0 }) as DebugProtocol.LaunchRequestArguments),
      /2 characters are not in the model's vocabulary: ':' \(U\+003A\), 'Z' \(U\+005A\)/);
  });

  it('steps through a selection, placing it in the document by its start offset', async () => {
    const start = TEXT.indexOf('dog');
    await launch(dc, args({ text: 'dog 🙂 ate', startOffset: start }));
    const f = await topFrame(dc);
    assert.deepEqual([f.name, f.line, f.column], ["t=0 'd'", 2, 5]);
    for (let n = 0; n < 6; n++) await next(dc);
    assert.deepEqual(await topFrame(dc).then((x) => [x.name, x.line, x.column]), ["t=6 'a'", 2, 12]);
    const r = await dc.setBreakpointsRequest({ source: { path: fx.program }, breakpoints: [{ line: 1 }, { line: 2 }] });
    assert.deepEqual(r.body.breakpoints.map((b) => b.verified), [false, true]);
  });

  it('pause interrupts a long continue, which runs in slices and yields between them', async () => {
    await adapter.stop();
    const long = new Fixture('gru', 1, TEXT.repeat(30), 5);
    try {
      adapter = new InProcessAdapter();
      // slices of 1 ms with 10 ms breaks: the run takes many slices, and the pause lands between two
      dc = await adapter.start({ sliceMs: 1, yieldToHost: () => new Promise((r) => setTimeout(r, 10)) });
      await launch(dc, { program: long.program, model: long.model, stopOnEntry: true });
      await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'max(abs(h)) > 100' }] });
      const stopped = dc.waitForEvent('stopped') as Promise<DebugProtocol.StoppedEvent>;
      await dc.continueRequest({ threadId: 1 });
      await new Promise((r) => setTimeout(r, 15));
      await assert.rejects(dc.nextRequest({ threadId: 1 }), /running: pause it first/);
      await dc.pauseRequest({ threadId: 1 });
      const stop = await stopped;
      assert.equal(stop.body.reason, 'pause');
      const t = (await topFrame(dc)).t;
      assert.ok(t > 0 && t < [...TEXT.repeat(30)].length - 1, `paused at ${t}`);
    } finally {
      long.dispose();
    }
  });
});

describe('debug adapter over DAP: a plain RNN with ReLU', function () {
  let fx: Fixture;
  let trace: Trace;
  let adapter: InProcessAdapter;
  let dc: DebugClient;

  before(() => {
    fx = new Fixture('rnn_relu', 1);
    trace = traceTokens(fx.file.net, fx.file.vocab.encode(TEXT));
  });
  after(() => fx.dispose());
  beforeEach(async () => {
    adapter = new InProcessAdapter();
    dc = await adapter.start();
  });
  afterEach(() => adapter.stop());

  it('names the cell and its activation, shows h and the gradient norms (no gates, no c), and its h is the trace\'s', async () => {
    const banner = dc.waitForEvent('output') as Promise<DebugProtocol.OutputEvent>;
    await launch(dc, { program: fx.program, model: fx.model, stopOnEntry: true });
    assert.match((await banner).body.output, /: RNN \(ReLU\), 1 layer of 16 units\. Expressions: h\[3\] == 0, sum\(h > 0\) < 4, /);
    const t = 12;
    for (let n = 0; n < t; n++) await next(dc);
    const { body } = await dc.scopesRequest({ frameId: 1 });
    assert.deepEqual(body.scopes.map((s) => s.name), ['Prediction', 'Hidden h', 'Gradient norms']);
    const h = trace.layers[0]!.h.subarray(t * H, (t + 1) * H);
    assert.ok(h.some((x) => x === 0) && h.some((x) => x > 0), 'silent and active units at this step');
    const hVars = await children(dc, await scopeRef(dc, 1, 'Hidden h'));
    for (let j = 0; j < H; j++) assert.ok(Math.abs(Number(hVars.get(String(j))!.value) - h[j]!) <= 1e-6, `h[${j}]`);
    const evaluate = async (expression: string): Promise<string> => (await dc.evaluateRequest({ expression, frameId: 1, context: 'watch' })).body.result;
    assert.equal(await evaluate('sum(h == 0)'), String(h.filter((x) => x === 0).length));
    assert.equal(await evaluate('all(h == relu(h))'), 'true');
    const grads = await children(dc, await scopeRef(dc, 1, 'Gradient norms'));
    assert.ok(Math.abs(Number(grads.get('gradH')!.value) - trace.layers[0]!.gradH[t]!) <= 1e-6);
    assert.equal(grads.get('gradC'), undefined);
    await assert.rejects(dc.evaluateRequest({ expression: 'f[0]', frameId: 1, context: 'watch' }),
      /f is not a gate of a plain RNN \(it has none: h = relu\(W_ih·x \+ b_ih \+ W_hh·h \+ b_hh\)\)/);
    assert.equal(await evaluate('layer(0).h[3]'), await evaluate('h[3]'));
    await assert.rejects(dc.evaluateRequest({ expression: 'layer(1).h[3]', frameId: 1, context: 'watch' }),
      /the model has 1 layer: layer\(0\) is the only one, not layer\(1\)/);
  });
});
