import type { TrainingEnd, TrainingHistory, TrainingSample } from '../protocol/webview';
import type { TrainProgress } from '../protocol/worker';

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

  constructor(readonly runId: number, readonly title: string) {}

  get latest(): TrainProgress | null {
    return this.reports[this.reports.length - 1] ?? null;
  }

  /** Records a report; one for a step already recorded replaces it (the final report repeats the last step). */
  add(p: TrainProgress): void {
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
    };
  }

  /** The loss history as CSV: a header, then one row per report; empty cells where nothing was measured. */
  csv(): string {
    const num = (v: number | null): string => (v === null || !Number.isFinite(v) ? '' : String(v));
    const rows = this.reports.map((p) => [p.step, p.epoch, num(p.loss), num(p.valLoss), num(p.gradNorm), num(p.clipRatio), num(Math.round(p.charsPerSec))].join(','));
    return ['step,epoch,loss,val_loss,grad_norm,clip_ratio,chars_per_sec', ...rows].join('\n') + '\n';
  }
}
