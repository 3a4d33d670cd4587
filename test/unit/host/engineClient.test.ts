import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { EngineClient, type WorkerCrashedError } from '../../../src/host/engineClient';
import { decodeModelFile } from '../../../src/engine/modelfile';
import { type RemoteError } from '../../../src/protocol/messenger';
import { DEFAULT_TRAIN_OPTIONS } from '../../../src/engine/trainer';
import { emptyTrace, fillSegment, finishTrace, traceDataBytes, type TraceData } from '../../../src/protocol/trace';

/** The host's client against the real worker bundle (npm test builds dist/ first). */
const WORKER = path.join(__dirname, '../../../dist/worker.js');
const TEXT = 'the quick brown fox jumps over the lazy dog 🙂\n'.repeat(40);
const options = { ...DEFAULT_TRAIN_OPTIONS, hidden: 16, embed: 8, seq: 16, batch: 4, steps: 40 };

describe('engine worker through EngineClient', function () {
  this.timeout(30_000);
  let client: EngineClient;
  before(function () { if (!existsSync(WORKER)) this.skip(); });
  beforeEach(() => { client = new EngineClient(WORKER); });
  afterEach(() => client.dispose());

  it('keeps a keyed trace for reach requests: a click costs a short backward, the summary is the same each time', async () => {
    const bytes = new Uint8Array(readFileSync(path.join(__dirname, '../../../examples/models/stdlib-rnn.safetensors')));
    const text = readFileSync(path.join(__dirname, '../../../examples/python-stdlib/textwrap.py'), 'utf8').slice(0, 3000);
    assert.equal(await client.reach('p1:model', 500, 100, 0), null, 'nothing kept under an unknown key');
    const tr = await client.trace(bytes, text, 'p1:model');
    const T = tr.tokens.length;
    const a = (await client.reach('p1:model', 500, 100, 0))!;
    assert.equal(a.cell, 'rnn_tanh');
    assert.equal(a.prediction!.at, 500);
    assert.equal(a.prediction!.maxK, 100, 'the chart\'s K steps back');
    const salient = (await client.reach('p1:model', 500, 100, 0, 0))!;
    assert.equal(salient.prediction!.maxK, 500, 'the saliency back to the start of the strip\'s window');
    assert.equal(salient.prediction!.saliency.length, 501);
    assert.ok(a.prediction!.layers[0]!.gradH instanceof Float64Array);
    assert.ok(a.prediction!.layers[0]!.gradH[100]! < 1e-3 * a.prediction!.layers[0]!.gradH[0]!, 'a trained RNN forgets within 100 steps');
    assert.equal(a.summary!.positions, 40);
    assert.equal(a.summary!.maxK, 100);
    assert.equal(a.summary!.layers[0]!.gradH.median[0], 1);
    assert.equal(a.factors!.kind, 'sigma');
    const b = (await client.reach('p1:model', 200, 100, 0))!;
    assert.deepEqual(Array.from(b.summary!.layers[0]!.gradH.median), Array.from(a.summary!.layers[0]!.gradH.median), 'the kept summary is sent again, whole');
    const last = (await client.reach('p1:model', T - 1, 100, 0))!;
    assert.equal(last.prediction, null);
    assert.match(last.predictionNote!, /last character has no next character to predict/);
    await client.trace(bytes, 'short text', 'p2:model');
    const short = (await client.reach('p2:model', 3, 100, 0))!;
    assert.equal(short.summary!.maxK, 8);
    assert.match(short.summaryNote!, /The text has 10 characters: the reach is measured 8 steps back, not 100/);
    await client.trace(bytes, 'ab', 'p3:model');
    const tiny = (await client.reach('p3:model', 0, 100, 0))!;
    assert.equal(tiny.summary, null);
    assert.match(tiny.summaryNote!, /too short/);
    for (const key of ['p4', 'p5', 'p6']) await client.trace(bytes, 'short text', key);
    assert.equal(await client.reach('p1:model', 500, 100, 0), null, 'the least recently used trace was dropped');
  });

  it('streams a trace in segments: the shape, each segment in order, then the loss and norms — equal to a trace in one piece', async () => {
    const bytes = new Uint8Array(readFileSync(path.join(__dirname, '../../../examples/models/stdlib-lstm.safetensors')));
    const text = readFileSync(path.join(__dirname, '../../../examples/python-stdlib/textwrap.py'), 'utf8').slice(0, 3000);
    const whole = await client.trace(bytes, text);
    let data: TraceData | null = null;
    const starts: number[] = [];
    const end = await client.traceStream(1, bytes, null, text, 'k1', 2 ** 30, {
      start: (shape, segments) => { data = emptyTrace(shape); assert.ok(segments > 1, `${segments} segments`); },
      segment: (seg) => { starts.push(seg.start); fillSegment(data!, seg); },
    });
    assert.equal(end.cancelled, false);
    if (end.cancelled) return;
    assert.equal(end.kept, 'internals');
    assert.deepEqual(starts, [...starts].sort((x, y) => x - y), 'segments in order');
    const got = finishTrace(data!, end);
    // the internals bit-identical (the same fused recurrence on every segment), the norms to float rounding
    assert.deepEqual(got.layers[0]!.h, whole.layers[0]!.h);
    assert.deepEqual(got.layers[0]!.gates['f'], whole.layers[0]!.gates['f']);
    assert.deepEqual(got.predictions.topIds, whole.predictions.topIds);
    assert.ok(Math.abs(got.loss - whole.loss) < 1e-5 * whole.loss);
    for (let t = 0; t < whole.tokens.length; t++) {
      assert.ok(Math.abs(got.layers[0]!.gradH[t]! - whole.layers[0]!.gradH[t]!) <= 1e-3 * whole.layers[0]!.gradH[t]! + 1e-9, `gradH at ${t}`);
    }
    // the reach on the streamed trace answers as on the other
    const r = (await client.reach('k1', 500, 100, 0))!;
    assert.equal(r.prediction!.at, 500);
  });

  it('a streamed trace over the memory budget is refused before it starts; one over half of it keeps checkpoints and recomputes windows', async () => {
    const bytes = new Uint8Array(readFileSync(path.join(__dirname, '../../../examples/models/stdlib-lstm.safetensors')));
    const text = readFileSync(path.join(__dirname, '../../../examples/python-stdlib/textwrap.py'), 'utf8').slice(0, 3000);
    const none = { start: () => assert.fail('no shape for a refused trace'), segment: () => assert.fail('no segment') };
    await assert.rejects(client.traceStream(2, bytes, null, text, 'k2', 2 ** 20, none), (e: RemoteError) =>
      /more than the 1 MB the setting gatescope\.inspector\.memoryMB allows: inspect a part of the text/.test(e.message));
    const whole = await client.trace(bytes, text, 'full');
    const shape = { layers: 1, gates: ['i', 'f', 'g', 'o'], hidden: whole.hidden, cell: 'lstm' as const };
    const budget = Math.ceil(1.5 * traceDataBytes(shape, whole.tokens.length, 10));
    const end = await client.traceStream(3, bytes, null, text, 'k3', budget, { start: () => undefined, segment: () => undefined });
    assert.equal(end.cancelled === false && end.kept, 'checkpoints');
    // the reach from a window recomputed from checkpoints equals the reach on the kept internals
    const a = (await client.reach('k3', 1500, 100, 0))!, b = (await client.reach('full', 1500, 100, 0))!;
    assert.equal(a.prediction!.at, 1500);
    assert.ok(Math.abs(a.prediction!.loss - b.prediction!.loss) < 1e-6 * b.prediction!.loss);
    for (let k = 0; k <= 100; k++) {
      assert.ok(Math.abs(a.prediction!.layers[0]!.gradH[k]! - b.prediction!.layers[0]!.gradH[k]!) <= 1e-5 * b.prediction!.layers[0]!.gradH[k]! + 1e-12, `k = ${k}`);
    }
    await assert.rejects(client.units('k3', { feature: { kind: 'column' }, quantity: 'all', layer: null, top: 5, pick: null }),
      /unit search needs every gate and state of the trace/);
  });

  it('stops a streamed trace between two segments when cancelled', async () => {
    const bytes = new Uint8Array(readFileSync(path.join(__dirname, '../../../examples/models/stdlib-lstm.safetensors')));
    const text = readFileSync(path.join(__dirname, '../../../examples/python-stdlib/textwrap.py'), 'utf8').slice(0, 10_000);
    let segments = 0;
    const end = await client.traceStream(4, bytes, null, text, 'k4', 2 ** 30, {
      start: () => undefined,
      segment: () => { if (segments++ === 0) void client.cancelTrace(4); },
    });
    assert.equal(end.cancelled, true);
    assert.ok(end.cancelled && end.forwarded < 10_000, 'it stopped before the end');
    assert.equal(await client.reach('k4', 10, 5, 0), null, 'a stopped trace is not kept');
  });

  it('an inspector load sends the model once: describe holds it, the trace takes it, and a worker that lost it gets the bytes again', async () => {
    const bytes = new Uint8Array(readFileSync(path.join(__dirname, '../../../examples/models/stdlib-rnn.safetensors')));
    const text = 'def wrap(text, width=70):\n    return text\n';
    const summary = await client.describe(bytes, 'p1');
    assert.equal(summary.config.cell, 'rnn_tanh');
    const sent: unknown[] = [];
    const worker = (client as unknown as { worker: { postMessage(m: unknown): void } }).worker;
    const post = worker.postMessage.bind(worker);
    worker.postMessage = (m: unknown) => { sent.push(m); post(m); };
    const held = await client.traceHeld('p1', bytes, text, 'p1:model');
    const plain = await client.trace(bytes, text);
    assert.deepEqual(Array.from(held.layers[0]!.h), Array.from(plain.layers[0]!.h), 'the held model is the model');
    const bodies = sent.map((m) => (m as { body?: { type?: string; model?: unknown } }).body);
    assert.deepEqual(bodies[0]!.model, { held: 'p1' }, 'the trace names the held model instead of sending its bytes');
    assert.ok(bodies[1]!.model instanceof Uint8Array);
    // taken by the trace: a second traceHeld (a worker restarted in between) falls back to the bytes
    sent.length = 0;
    const again = await client.traceHeld('p1', bytes, text);
    assert.deepEqual(Array.from(again.layers[0]!.h), Array.from(plain.layers[0]!.h));
    assert.equal(sent.length, 2, 'asked for the held model, then sent the bytes');
    await assert.rejects(client.traceHeld('p9', new Uint8Array(8), text), (e: RemoteError) => { assert.ok(e.wire.user, e.message); assert.match(e.message, /safetensors|header|file/i); return true; }, 'a bad file sent after all is still refused');
  });

  it('says when a run starts memorising: the best-validation checkpoints as they come, then overfitSince in the progress', async () => {
    // a text of a few sentences, a model that can learn it by heart, validated often
    const text = 'The cat sat on the mat. A dog ran in the fog. '.repeat(8) + 'Birds fly high over the blue sea.\n'.repeat(3);
    const runId = client.newRunId();
    const run = client.train({ runId, text, source: 'tiny.txt', options: { ...options, hidden: 64, embed: 16, seq: 16, batch: 4, lr: 0.02, valFrac: 0.15, steps: 400 },
      resume: null, evalEvery: 5, checkpointEvery: 100, totalSteps: 400 });
    const best: number[] = [];
    run.onCheckpoint((c) => { if (c.best) best.push(c.step); });
    await run.started;
    const end = await run.finished;
    assert.equal(end.reason, 'done');
    assert.ok(best.length >= 2 && best.every((s, k) => k === 0 || s > best[k - 1]!), `best checkpoints at ${best}`);
    const p = end.progress!;
    assert.ok(p.overfitSince != null, 'the validation loss turned up and the run said so');
    assert.ok(p.overfitSince > best[0]!, `overfitting at ${p.overfitSince}, after a best at ${best[0]}`);
    assert.equal(best.at(-1), p.bestVal!.step, 'the last best checkpoint is the best validation');
  });

  it('trains to the end through a run handle: progress, a final checkpoint that loads, the end', async () => {
    const runId = client.newRunId();
    const seen: number[] = [];
    client.onRun((r) => seen.push(r.runId));
    const run = client.train({ runId, text: TEXT, source: 'fox.txt', options, resume: null, evalEvery: 10, checkpointEvery: 0, totalSteps: 40 });
    assert.deepEqual(seen, [runId], 'every run is announced as it starts');
    const checkpoints: Uint8Array[] = [];
    run.onCheckpoint((c) => { if (c.final) checkpoints.push(c.bytes); });
    const started = await run.started;
    assert.equal(started.startStep, 0);
    assert.equal(started.config.hidden, 16);
    const end = await run.finished;
    assert.equal(end.reason, 'done');
    assert.equal(end.progress?.step, 40);
    assert.equal(checkpoints.length, 1);
    const m = decodeModelFile(checkpoints[0]!);
    assert.equal(m.training?.step, 40);
    assert.equal(m.info.source, 'fox.txt');

    const trace = await client.trace(checkpoints[0]!, 'the fox 🙂');
    assert.ok(trace.predictions.topProbs instanceof Float32Array && trace.layers[0]!.h instanceof Float32Array, 'arrays cross as typed arrays');
    assert.equal(trace.probs, null, 'the inspector gets the top predictions, not the whole distribution');
    assert.equal(trace.tokens.length, 9);
    assert.equal(trace.layers[0]!.gates['f']!.length, 9 * 16);
    const summary = await client.describe(checkpoints[0]!);
    assert.equal(summary.resumableFrom, 40);
    assert.equal(summary.trainOptions?.hidden, 16);
  });

  it('trains on two workers (same seed → same model) and stops their helper threads at the end', async () => {
    const models: Uint8Array[] = [];
    for (let k = 0; k < 2; k++) {
      const run = client.train({ runId: client.newRunId(), text: TEXT, source: 'x', options, resume: null, evalEvery: 10, checkpointEvery: 0, totalSteps: 40, workers: 2 });
      run.onCheckpoint((c) => { if (c.final) models.push(c.bytes); });
      assert.deepEqual((await run.started).warnings, []);
      await run.finished;
    }
    assert.equal(decodeModelFile(models[0]!).training?.step, 40);
    assert.equal(decodeModelFile(models[0]!).training?.options.workers, 2, 'the checkpoint records the count, for a resume to reproduce');
    assert.deepEqual(decodeModelFile(models[0]!).net.params, decodeModelFile(models[1]!).net.params);
  });

  it('cancels between two slices: nothing more runs once the worker has the request, and a loadable checkpoint is sent', async () => {
    const run = client.train({ runId: client.newRunId(), text: TEXT.repeat(10), source: 'x', options: { ...options, hidden: 64 }, resume: null, evalEvery: 1000, checkpointEvery: 0, totalSteps: 1_000_000 });
    let final: Uint8Array | null = null;
    let progressed = 0, afterCancel = 0, cancelled = false;
    run.onCheckpoint((c) => { if (c.final) final = c.bytes; });
    run.onProgress((p) => {
      if (cancelled) afterCancel++;
      if (p.step > 0 && p.charsPerSec > 0) progressed++;
    });
    await run.started;
    while (progressed < 1) await new Promise((r) => setTimeout(r, 50));
    await run.cancel();
    cancelled = true; // the worker set its flag when it answered; its loop checks it before the next slice
    const end = await run.finished;
    assert.equal(end.reason, 'cancelled');
    assert.equal(afterCancel, 0, 'no slice ran after the cancel was answered');
    assert.ok(final !== null);
    assert.ok(decodeModelFile(final!).training!.step > 0);
  });

  it('reports user errors as such: a run that cannot start rejects `started` and ends with the error', async () => {
    const run = client.train({ runId: 9, text: 'abc', source: 'x', options, resume: null, evalEvery: 10, checkpointEvery: 0, totalSteps: 5 });
    await assert.rejects(run.started, (e: RemoteError) => e.wire.user && /too short/.test(e.message));
    const end = await run.finished;
    assert.equal(end.reason, 'error');
    assert.match(end.error!.message, /too short/);
    await assert.rejects(client.describe(new Uint8Array([1, 2, 3])), (e: RemoteError) => e.wire.user);
  });

  it('streams a sample\'s text to its caller in chunks', async () => {
    const bytes = new Uint8Array(readFileSync(path.join(__dirname, '../../../examples/models/stdlib-rnn.safetensors')));
    const chunks: string[] = [];
    const text = await client.sample(1, bytes, { prime: 'def ', length: 300, temperature: 1, topK: 0, greedy: false }, 7, (c) => chunks.push(c));
    assert.equal(text.length > 0, true);
    assert.equal(chunks.join(''), text);
  });

  it('survives a crashed worker: pending requests fail, onCrash fires, the next request works', async () => {
    const crashed = new Promise<WorkerCrashedError>((r) => client.onCrash(r));
    await client.crashForTest();
    const err = await crashed;
    assert.match(err.message, /stopped unexpectedly.*crash requested by a test/);
    assert.equal(client.running, false);
    const run = client.train({ runId: client.newRunId(), text: TEXT, source: 'x', options, resume: null, evalEvery: 10, checkpointEvery: 0, totalSteps: 3 });
    assert.equal((await run.finished).reason, 'done');
  });

  it('ends a running run with the crash, so that nobody waits for its end', async () => {
    const run = client.train({ runId: client.newRunId(), text: TEXT.repeat(10), source: 'x', options, resume: null, evalEvery: 1000, checkpointEvery: 0, totalSteps: 1_000_000 });
    await run.started;
    await client.crashForTest();
    const end = await run.finished;
    assert.equal(end.reason, 'error');
    assert.equal(end.error?.user, false);
    assert.match(end.error!.message, /stopped unexpectedly/);
  });
});
