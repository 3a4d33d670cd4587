import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runTrace, type TraceCliOptions } from '../../../src/cli/trace';
import { GatescopeError } from '../../../src/engine/errors';
import { decodeModelFile, encodeModelFile, type ModelFile } from '../../../src/engine/modelfile';
import { Network } from '../../../src/engine/network';
import { predictionGradients } from '../../../src/engine/reach';
import { Rng } from '../../../src/engine/rng';
import { traceRecord, traceTokens, type Trace } from '../../../src/engine/trace';
import type { CellType } from '../../../src/engine/types';
import { Vocabulary } from '../../../src/engine/vocab';
import { readTraceFile, type TraceFile } from '../../../src/protocol/traceFile';
import { traceToJson } from '../../../src/protocol/traceJson';
import { CLI } from './run';

/**
 * `gatescope trace --out` (issue 17 item 2): the trace streamed to safetensors or JSON in segments, read back and
 * compared with the in-memory trace of the engine (traceTokens: one unroll), with the full distribution, and with
 * each other. Run in this process (runTrace, on the kernels the CLI installs), but Ctrl-C, on the built CLI.
 *
 * Exactness: the streamed trace runs the same kernels on the same segments, so its internals, predictions and
 * distributions are the in-memory trace's bit for bit, and a range's are the whole text's (TraceRun textLength). The
 * gradient norms are exact where both ran one segment; a trace in several segments sums them in another order
 * (float32 rounding, 2e-4 as test/unit/engine/traceRun.test.ts). JSON holds String(Number(x.toPrecision(6))) of
 * every float32 value, which JSON.parse gives back as that number exactly.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'gatescope-trace-'));
const ALPHABET = [...'the cat sat on the mat; é🙂\n'];
const TEXT = Array.from({ length: 300 }, (_, t) => ALPHABET[(t * 7 + (t >> 3)) % ALPHABET.length]!).join('');
const input = path.join(dir, 'in.txt');
writeFileSync(input, TEXT);

function modelFile(cell: CellType, layers: number, hidden: number, seed = 3): { file: string; m: ModelFile } {
  const vocab = new Vocabulary([...new Set(TEXT)].sort());
  const net = new Network({ cell, vocabSize: vocab.size, embed: 6, hidden, layers });
  net.initialize(new Rng(seed));
  const file = path.join(dir, `${cell}-${layers}x${hidden}.safetensors`);
  const bytes = encodeModelFile(net, vocab, {}, null);
  writeFileSync(file, bytes);
  return { file, m: decodeModelFile(bytes) };
}

/** Runs `gatescope trace` in this process; returns what it said on standard error. */
async function trace(o: Partial<TraceCliOptions> & { model: string }): Promise<string> {
  const write = process.stderr.write;
  let said = '';
  process.stderr.write = ((s: string) => { said += s; return true; }) as typeof process.stderr.write;
  try {
    assert.equal(await runTrace({ input, ...o }), 0);
  } finally {
    process.stderr.write = write;
  }
  return said;
}

const readBack = (file: string): TraceFile => readTraceFile(new Uint8Array(readFileSync(file)));
const rows = (a: Float32Array, H: number, from: number, to: number): Float32Array => a.subarray(from * H, to * H);
/** JSON's number for a float32 value: its 6 significant digits (null for NaN). */
const six = (x: number): number | null => (Number.isFinite(x) ? Number(x.toPrecision(6)) : null);
const sixRows = (a: ArrayLike<number>, cols: number): (number | null)[][] => Array.from({ length: a.length / cols }, (_, r) => Array.from(Array.prototype.slice.call(a, r * cols, r * cols + cols) as number[], six));

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-7): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / (Math.abs(b[i]!) + floor));
  return m;
}

/** No temporary files (`.NAME.pid.hex.tmp`) left in the folder. */
function noTemporaries(): void {
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
}

/** The streamed file equals the in-memory trace at positions [a, b) (every layer, or those given). */
function assertEqualsTrace(f: TraceFile, ref: Trace, a: number, b: number, H: number, grads: boolean, layers?: number[]): void {
  const k = f.predictions.k;
  assert.deepEqual(f.tokens, ref.tokens.slice(a, b), 'tokens');
  assert.deepEqual(f.predictions.topIds, ref.predictions.topIds.slice(a * k, b * k), 'top ids');
  assert.deepEqual(f.predictions.topProbs, ref.predictions.topProbs.slice(a * k, b * k), 'top probabilities');
  assert.deepEqual(f.predictions.entropy, ref.predictions.entropy.slice(a, b), 'entropy');
  if (ref.probs && f.probs) assert.deepEqual(f.probs, ref.probs.slice(a * f.shape.vocab.length, b * f.shape.vocab.length), 'probs');
  ref.layers.forEach((r, l) => {
    const mine = f.layers[l];
    if (layers && !layers.includes(l)) return assert.equal(mine, null, `layer ${l} not written`);
    for (const g of Object.keys(r.gates)) assert.deepEqual(mine!.gates[g], rows(r.gates[g]!, H, a, b), `${g}, layer ${l}`);
    if (r.c) assert.deepEqual(mine!.c, rows(r.c, H, a, b), `c, layer ${l}`);
    assert.deepEqual(mine!.h, rows(r.h, H, a, b), `h, layer ${l}`);
    if (grads) {
      assert.deepEqual(mine!.gradH, r.gradH.slice(a, b), `gradH, layer ${l}`);
      if (r.gradC) assert.deepEqual(mine!.gradC, r.gradC.slice(a, b), `gradC, layer ${l}`);
    }
  });
}

/** The JSON holds the safetensors file's values to 6 significant digits, under the schema's names. */
function assertJsonHolds(json: Record<string, any>, f: TraceFile): void {
  assert.deepEqual([json['format'], json['version'], json['cell'], json['text']], ['gatescope-trace', 2, f.shape.cell, f.facts.text]);
  assert.deepEqual(json['tokens'], Array.from(f.tokens));
  assert.equal(json['loss'], f.facts.loss);
  assert.deepEqual(json['top'], { k: f.predictions.k, ids: Array.from({ length: f.shape.T }, (_, t) => Array.from(f.predictions.topIds.subarray(t * f.predictions.k, (t + 1) * f.predictions.k))), probs: sixRows(f.predictions.topProbs, f.predictions.k) });
  assert.deepEqual(json['pNext'], Array.from(f.predictions.pNext, six));
  assert.deepEqual(json['entropy'], Array.from(f.predictions.entropy, six));
  if (f.probs) assert.deepEqual(json['probs'], sixRows(f.probs, f.shape.vocab.length));
  else assert.equal(json['probs'], undefined);
  assert.equal(json['layers'].length, f.shape.modelLayers);
  f.layers.forEach((l, i) => {
    if (l === null) return assert.equal(json['layers'][i], null);
    const j = json['layers'][i];
    for (const g of Object.keys(l.gates)) assert.deepEqual(j[g], sixRows(l.gates[g]!, f.shape.hidden), g);
    if (l.c) assert.deepEqual(j.c, sixRows(l.c, f.shape.hidden));
    assert.deepEqual(j.h, sixRows(l.h, f.shape.hidden));
    assert.deepEqual(j.gradH, Array.from(l.gradH, six));
    if (l.gradC) assert.deepEqual(j.gradC, Array.from(l.gradC, six));
  });
  if (f.saliency) {
    assert.deepEqual([json['lossAt'], json['lossAtValue']], [f.facts.lossAt, f.facts.lossAtValue]);
    assert.deepEqual(json['saliency'], Array.from(f.saliency, six));
  }
  if (f.paramGrads) for (const [name, g] of f.paramGrads) assert.deepEqual(json['paramGrads'][name], Array.from(g, six), name);
  if (f.facts.range) assert.deepEqual(json['range'], f.facts.range);
}

describe('gatescope trace --out: streamed, binary and partial traces', function () {
  this.timeout(120_000);
  const lstm = modelFile('lstm', 2, 24);
  const tokens = lstm.m.vocab.encode(TEXT);

  for (const [cell, layers] of [['lstm', 2], ['gru', 1], ['rnn_relu', 2]] as const) {
    it(`${cell}: the safetensors trace is the in-memory trace (float32, exactly); the JSON is it to 6 digits, the same bytes as traceToJson`, async () => {
      const { file, m } = cell === 'lstm' ? lstm : modelFile(cell, layers, 16);
      const st = path.join(dir, `${cell}.safetensors`), js = path.join(dir, `${cell}.json`);
      assert.match(await trace({ model: file, out: st, fullProbs: true }), /^traced 300 characters: loss \d\.\d{4} nats\/char; wrote .*\.safetensors\n$/);
      await trace({ model: file, out: js, fullProbs: true });
      noTemporaries();
      const ref = traceTokens(m.net, tokens, { fullProbs: true });
      const f = readBack(st);
      assert.equal(f.facts.loss, ref.loss);
      assert.deepEqual(f.predictions.pNext, ref.predictions.pNext, 'pNext, NaN at the last position');
      assertEqualsTrace(f, ref, 0, 300, m.net.cfg.hidden, true);
      assert.equal(f.shape.gates.length, cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 0);
      const text = readFileSync(js, 'utf8');
      assert.equal(text, traceToJson(ref, m.vocab.chars, cell, m.net.cfg.hidden), 'the inspector\'s JSON of the same trace, byte for byte');
      const json = JSON.parse(text);
      assertJsonHolds(json, f);
      assert.equal(json.pNext[299], null);
    });
  }

  it('--range a:b: every value the whole text\'s at those positions; the loss and norms are the text\'s up to b', async () => {
    const full = path.join(dir, 'full.safetensors');
    await trace({ model: lstm.file, out: full });
    const whole = readBack(full);
    const H = 24;
    for (const [range, a, b] of [['10:200', 10, 200], ['250:', 250, 300], [':1', 0, 1]] as const) {
      const out = path.join(dir, 'range.safetensors');
      const said = await trace({ model: lstm.file, out, range });
      assert.match(said, new RegExp(`^traced positions ${a}…${b - 1} of 300 characters \\(the text up to ${b}\\): loss`));
      const f = readBack(out);
      assert.deepEqual(f.facts.range, [a, b]);
      assert.equal(f.facts.text, [...TEXT].slice(a, b).join(''));
      // the range ending at 200 < 256 runs as the whole text does (fused LSTM recurrence): bit for bit
      const k = whole.predictions.k;
      assert.deepEqual(f.tokens, whole.tokens.slice(a, b));
      assert.deepEqual(f.predictions.topIds, whole.predictions.topIds.slice(a * k, b * k));
      assert.deepEqual(f.predictions.topProbs, whole.predictions.topProbs.slice(a * k, b * k));
      assert.deepEqual(f.predictions.pNext, whole.predictions.pNext.slice(a, b), 'pNext, also at b − 1: the text has the character at b');
      assert.deepEqual(f.predictions.entropy, whole.predictions.entropy.slice(a, b));
      whole.layers.forEach((l, i) => {
        for (const q of ['i', 'f', 'g', 'o'] as const) assert.deepEqual(f.layers[i]!.gates[q], rows(l!.gates[q]!, H, a, b), `${q}, layer ${i}, ${range}`);
        assert.deepEqual(f.layers[i]!.c, rows(l!.c!, H, a, b));
        assert.deepEqual(f.layers[i]!.h, rows(l!.h, H, a, b));
      });
      // nothing after b: the loss and gradients of the text up to b
      if (b > 1) {
        const upTo = traceTokens(lstm.m.net, tokens.subarray(0, b));
        assert.ok(Math.abs(f.facts.loss - upTo.loss) < 1e-6 * upTo.loss, `loss ${f.facts.loss} vs ${upTo.loss}`);
        if (b < 300) assert.notEqual(f.facts.loss, whole.facts.loss);
        for (let l = 0; l < 2; l++) assert.ok(maxRel(f.layers[l]!.gradH, upTo.layers[l]!.gradH.subarray(a, b)) < 2e-4, `gradH layer ${l}`);
      } else {
        assert.ok(Number.isNaN(f.facts.loss), 'one character: no prediction, no loss');
      }
    }
  });

  it('--layers 1 writes layer 1 only; --json writes JSON under any name', async () => {
    const st = path.join(dir, 'l1.safetensors'), js = path.join(dir, 'l1.trace');
    await trace({ model: lstm.file, out: st, layers: '1' });
    await trace({ model: lstm.file, json: js, layers: '1' });
    const f = readBack(st);
    assert.deepEqual(f.shape.layers, [1]);
    assert.equal(f.layers[0], null);
    assert.ok(![...f.metadata.layers!].includes('0'));
    const ref = traceTokens(lstm.m.net, tokens);
    assertEqualsTrace(f, ref, 0, 300, 24, true, [1]);
    const json = JSON.parse(readFileSync(js, 'utf8'));
    assert.equal(json.layers[0], null);
    assertJsonHolds(json, f);
  });

  it('--top-k, pNext and the entropy agree with the whole distribution (--full-probs), computed here', async () => {
    const out = path.join(dir, 'top.safetensors');
    await trace({ model: lstm.file, out, topK: 5, fullProbs: true });
    const f = readBack(out);
    const V = f.shape.vocab.length, k = 5;
    assert.equal(f.predictions.k, 5);
    for (let t = 0; t < 300; t++) {
      const p = f.probs!.subarray(t * V, (t + 1) * V);
      assert.ok(Math.abs(p.reduce((s, x) => s + x, 0) - 1) < 1e-5, 'a distribution');
      const order = Array.from({ length: V }, (_, v) => v).sort((x, y) => p[y]! - p[x]! || x - y);
      assert.deepEqual(Array.from(f.predictions.topIds.subarray(t * k, (t + 1) * k)), order.slice(0, k), `top ids at ${t}`);
      assert.deepEqual(Array.from(f.predictions.topProbs.subarray(t * k, (t + 1) * k)), order.slice(0, k).map((v) => p[v]!));
      if (t < 299) assert.equal(f.predictions.pNext[t], p[f.tokens[t + 1]!]);
      else assert.ok(Number.isNaN(f.predictions.pNext[t]!), 'the last character predicts nothing');
      let h = 0;
      for (let v = 0; v < V; v++) if (p[v]! > 0) h -= p[v]! * Math.log(p[v]!);
      assert.ok(Math.abs(f.predictions.entropy[t]! - h) <= 1e-6 * h, `entropy at ${t}: ${f.predictions.entropy[t]} vs ${h}`);
    }
  });

  it('in segments, with --loss-at, --param-grads and a range: the saliency and gradients of that prediction', async () => {
    const st = path.join(dir, 'seg.safetensors'), js = path.join(dir, 'seg.json');
    const o = { model: lstm.file, segment: 64, lossAt: 150, paramGrads: true, range: '100:280' };
    assert.match(await trace({ ...o, out: st }), /gradients of the prediction at 150 \(loss \d\.\d{4} nats\)/);
    await trace({ ...o, out: js });
    noTemporaries();
    const f = readBack(st);
    const ref = traceTokens(lstm.m.net, tokens.subarray(0, 280), { lossAt: 150, paramGrads: true, fullProbs: true });
    assertEqualsTrace(f, ref, 100, 280, 24, false);
    for (let l = 0; l < 2; l++) {
      assert.ok(maxRel(f.layers[l]!.gradH, ref.layers[l]!.gradH.subarray(100, 280)) < 2e-4, `gradH layer ${l}`);
      assert.ok(f.layers[l]!.gradH.subarray(51).every((x) => x === 0), 'nothing after 150 reaches its loss');
      assert.ok(f.layers[l]!.gradH.subarray(0, 51).every((x) => x > 0));
    }
    const pg = predictionGradients(lstm.m.net, traceRecord(lstm.m.net, ref), 150);
    assert.equal(f.facts.lossAtValue, pg.loss);
    assert.ok(Math.abs(pg.loss + Math.log(f.predictions.pNext[50]!)) < 1e-6, 'L_T = −log p(x_{T+1})');
    for (let t = 100; t <= 150; t++) assert.equal(f.saliency![t - 100], Math.fround(pg.saliency[150 - t]!), `saliency at ${t}`);
    assert.ok(f.saliency!.subarray(51).every((x) => x === 0));
    for (const t of lstm.m.net.layout.tensors) {
      const g = f.paramGrads!.get(t.name)!;
      assert.deepEqual(f.shape.paramGrads!.find((p) => p.name === t.name)!.shape, t.shape);
      assert.ok(maxRel(g, ref.paramGrads!.get(t.name)!, 1e-5) < 1e-3, t.name);
    }
    assertJsonHolds(JSON.parse(readFileSync(js, 'utf8')), f);
  });

  it('refuses bad options before tracing, naming what would do, and writes nothing', async () => {
    const before = readdirSync(dir).sort();
    const refused = async (o: Partial<TraceCliOptions>, re: RegExp): Promise<void> => {
      await assert.rejects(runTrace({ model: lstm.file, input, out: path.join(dir, 'no.json'), ...o }), (e: unknown) => e instanceof GatescopeError && re.test(e.message));
    };
    await refused({ out: path.join(dir, 'no.txt') }, /--out .*no\.txt: the format comes from the extension, \.json or \.safetensors, not \.txt/);
    await refused({ json: path.join(dir, 'no.json') }, /--out and --json both name the output/);
    await refused({ out: undefined }, /--out FILE\.json or FILE\.safetensors/);
    await refused({ range: '20-30' }, /--range 20-30: write a:b/);
    await refused({ range: '1.5:3' }, /write a:b/);
    await refused({ range: '200:400' }, /--range 200:400 ends beyond the text: the text has 300 characters \(positions 0…299\); the end may be at most 300/);
    await refused({ range: '300:' }, /starts beyond the text/);
    await refused({ range: '30:30' }, /--range 30:30 is empty: its start \(30\) must come before its end \(30, excluded\)/);
    await refused({ layers: '0,2' }, /--layers 0,2: this model has 2 layers, 0…1 \(0-based\); there is no layer 2/);
    await refused({ layers: 'top' }, /--layers top: write layer numbers separated by commas/);
    await refused({ topK: 99 }, /--top-k 99 is more than the model's vocabulary of \d+ characters \(V = \d+\)/);
    await refused({ range: '10:20', lossAt: 19 }, /--loss-at 19 is outside --range 10:20: the predictions inside it are at 10…18/);
    await refused({ range: '10:20', lossAt: 5 }, /outside --range 10:20/);
    await refused({ lossAt: 299 }, /position 299 is the last character/);
    await refused({ out: lstm.file }, /one of the inputs/);
    assert.deepEqual(readdirSync(dir).sort(), before, 'nothing written');
  });

  describe('the built CLI', () => {
    before(function () { if (!existsSync(CLI)) this.skip(); });

    it('Ctrl-C while tracing: exit 130, no output and no temporary file left', async () => {
      const big = modelFile('lstm', 1, 128, 4);
      const long = path.join(dir, 'long.txt');
      writeFileSync(long, TEXT.repeat(200)); // 60,000 characters: seconds of forward
      const out = path.join(dir, 'ctrl-c.json');
      const child = spawn(process.execPath, [CLI, 'trace', '-m', big.file, '-i', long, '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      // the first segment's rows land in temporary files beside the output: the forward is under way
      const started = Date.now();
      while (!readdirSync(dir).some((f) => f.startsWith('.ctrl-c.json.')) && Date.now() - started < 30_000) await new Promise((r) => setTimeout(r, 10));
      child.kill('SIGINT');
      assert.equal(await exited, 130, stderr);
      assert.match(stderr, /interrupted: .*ctrl-c\.json not written/);
      assert.ok(!existsSync(out));
      noTemporaries();
    });
  });
});
