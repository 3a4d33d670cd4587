import type { TrainingEnd, TrainingHistory, TrainingSample } from '../protocol/webview';
import type { TrainProgress } from '../protocol/worker';
import type { TensorHistory, TensorHistoryRow } from '../engine/types';

/** Diagnostics rows a recorder keeps (the model file keeps 512). */
const MAX_TENSOR_ROWS = 2048;

/**
 * The training history a model file keeps (`gatescope.history`), as the dashboard shows a run: its steps, loss,
 * gradient norm, clip ratio and per-tensor diagnostics (no validation loss or speed: the file does not keep them).
 */
export function historyFromModel(runId: number, title: string, h: TensorHistory): TrainingHistory {
  const col = (f: (r: TensorHistoryRow) => number): Float32Array => Float32Array.from(h.rows, f);
  return {
    runId, title, step: Float64Array.from(h.rows, (r) => r.step), loss: col((r) => r.loss), valLoss: new Float32Array(h.rows.length).fill(NaN),
    gradNorm: col((r) => r.gradNorm), clipRatio: col((r) => r.clipRatio), charsPerSec: new Float32Array(h.rows.length).fill(NaN),
    latest: null, samples: [], finished: { reason: 'done', message: null }, tensors: h,
  };
}

/**
 * A training run's history on the host: every progress report, the samples and how it ended. It answers a
 * (re)opened dashboard with the whole history as typed columns, and writes the loss history as CSV. No vscode.
 * Dimension legend: N reports.
 */
export class TrainingRecorder {
  private readonly reports: TrainProgress[] = [];
  readonly samples: TrainingSample[] = [];
  finished: TrainingEnd | null = null;
  /** The model file the run wrote, once known. */
  model: string | null = null;

  /** `title`: what the dashboard calls the run (the text it trains on, once the controller says). */
  constructor(readonly runId: number, public title: string) {}

  get latest(): TrainProgress | null {
    return this.reports[this.reports.length - 1] ?? null;
  }

  /** The per-tensor diagnostics rows of the run, as they came (every statsEvery steps), thinned past MAX_TENSOR_ROWS. */
  private tensorNames: readonly string[] = [];
  private tensorRows: TensorHistoryRow[] = [];

  /** Records a report; one for a step already recorded replaces it (the final report repeats the last step). */
  add(p: TrainProgress): void {
    if (p.tensors) {
      this.tensorNames = p.tensors.names;
      this.tensorRows.push(...p.tensors.rows);
      // a long run: every other row, still the whole run
      if (this.tensorRows.length > MAX_TENSOR_ROWS) this.tensorRows = this.tensorRows.filter((_, i) => i % 2 === 0);
    }
    const last = this.latest;
    if (last && last.step === p.step) this.reports[this.reports.length - 1] = p;
    else this.reports.push(p);
  }

  history(): TrainingHistory {
    const n = this.reports.length;
    const col = (f: (p: TrainProgress) => number): Float32Array => Float32Array.from(this.reports, f);
    const step = new Float64Array(n);
    this.reports.forEach((p, k) => { step[k] = p.step; });
    return {
      runId: this.runId, title: this.title, step,
      loss: col((p) => p.loss), valLoss: col((p) => p.valLoss ?? NaN), gradNorm: col((p) => p.gradNorm),
      clipRatio: col((p) => p.clipRatio), charsPerSec: col((p) => p.charsPerSec),
      latest: this.latest, samples: [...this.samples], finished: this.finished,
      tensors: this.tensorRows.length ? { tensors: this.tensorNames, gap: 0, rows: [...this.tensorRows] } : null,
    };
  }

  /** The loss history as CSV: a header, then one row per report; empty cells where nothing was measured. */
  csv(): string {
    const num = (v: number | null): string => (v === null || !Number.isFinite(v) ? '' : String(v));
    const rows = this.reports.map((p) => [p.step, p.epoch, num(p.loss), num(p.valLoss), num(p.gradNorm), num(p.clipRatio), num(Math.round(p.charsPerSec))].join(','));
    return ['step,epoch,loss,val_loss,grad_norm,clip_ratio,chars_per_sec', ...rows].join('\n') + '\n';
  }
}
