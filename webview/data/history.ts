import type { TrainingHistory, TrainingSample, TrainingEnd } from '../../src/protocol/webview';
import type { TrainProgress } from '../../src/protocol/worker';
import type { TensorHistoryRow } from '../../src/protocol/worker';

/**
 * A training run's history in the webview: the columns of TrainingHistory, grown as progress reports arrive
 * (amortised doubling, so a long run stays cheap). Pure.
 * Dimension legend: N reports.
 */
export class History {
  readonly runId: number;
  readonly title: string;
  length = 0;
  step: Float64Array;        // (capacity) first `length` valid
  loss: Float32Array;
  valLoss: Float32Array;     // NaN where not measured
  gradNorm: Float32Array;
  clipRatio: Float32Array;
  charsPerSec: Float32Array;
  latest: TrainProgress | null;
  samples: TrainingSample[];
  finished: TrainingEnd | null;
  /** Per-tensor diagnostics rows (every statsEvery steps), with the tensors' names; empty before the first. */
  tensorNames: readonly string[];
  tensorRows: TensorHistoryRow[];

  constructor(h: TrainingHistory) {
    this.runId = h.runId;
    this.title = h.title;
    const n = h.step.length;
    const cap = Math.max(64, n * 2);
    const grow = <A extends Float32Array | Float64Array>(src: A, make: (n: number) => A): A => {
      const a = make(cap);
      a.set(src.subarray(0, n));
      return a;
    };
    this.step = grow(h.step, (k) => new Float64Array(k));
    this.loss = grow(h.loss, (k) => new Float32Array(k));
    this.valLoss = grow(h.valLoss, (k) => new Float32Array(k));
    this.gradNorm = grow(h.gradNorm, (k) => new Float32Array(k));
    this.clipRatio = grow(h.clipRatio, (k) => new Float32Array(k));
    this.charsPerSec = grow(h.charsPerSec, (k) => new Float32Array(k));
    this.length = n;
    this.latest = h.latest;
    this.samples = [...h.samples];
    this.finished = h.finished;
    this.tensorNames = h.tensors?.tensors ?? [];
    this.tensorRows = [...(h.tensors?.rows ?? [])];
  }

  /** Appends a report; a report for a step already recorded replaces it (the final report repeats the last). */
  push(p: TrainProgress): void {
    this.latest = p;
    if (p.tensors) {
      this.tensorNames = p.tensors.names;
      this.tensorRows.push(...p.tensors.rows);
    }
    let at = this.length;
    if (at > 0 && this.step[at - 1] === p.step) at--;
    else if (at === this.step.length) this.grow();
    this.step[at] = p.step;
    this.loss[at] = p.loss;
    this.valLoss[at] = p.valLoss ?? NaN;
    this.gradNorm[at] = p.gradNorm;
    this.clipRatio[at] = p.clipRatio;
    this.charsPerSec[at] = p.charsPerSec;
    this.length = at + 1;
  }

  private grow(): void {
    const cap = this.step.length * 2;
    const f64 = (a: Float64Array): Float64Array => { const b = new Float64Array(cap); b.set(a); return b; };
    const f32 = (a: Float32Array): Float32Array => { const b = new Float32Array(cap); b.set(a); return b; };
    this.step = f64(this.step);
    this.loss = f32(this.loss);
    this.valLoss = f32(this.valLoss);
    this.gradNorm = f32(this.gradNorm);
    this.clipRatio = f32(this.clipRatio);
    this.charsPerSec = f32(this.charsPerSec);
  }

  /** Chart points {x: step, y} of a column, skipping NaN (validation loss is measured now and then). */
  points(column: 'loss' | 'valLoss' | 'gradNorm' | 'clipRatio' | 'charsPerSec'): { x: number; y: number }[] {
    const a = this[column];
    const out: { x: number; y: number }[] = [];
    for (let k = 0; k < this.length; k++) if (Number.isFinite(a[k]!)) out.push({ x: this.step[k]!, y: a[k]! });
    return out;
  }
}
