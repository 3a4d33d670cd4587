import type { TrainOptions } from './types';

/**
 * How long and how big a run should be for a text of a given size, and when its validation loss says to stop.
 * A small file trained with defaults made for megabytes is memorised: 1,000 steps of 32 × 64 characters on 12 KB
 * are 160 passes over it, and the validation loss climbs while the training loss falls. Both the extension and the
 * CLI use these where the user named nothing, and say what they chose.
 */

/** Passes over the text a default run makes: enough to learn a small text's regularities, too few to memorise it. */
export const DEFAULT_PASSES = 20;
/** Default steps stay in [MIN, MAX]: a few minutes at most on a laptop for the default model. */
export const MIN_DEFAULT_STEPS = 150;
export const MAX_DEFAULT_STEPS = 3000;
/** Texts shorter than this get the smaller default model (64 hidden units instead of 128): fewer weights to memorise with. */
export const SMALL_TEXT_CHARS = 30_000;

/** Steps and hidden size for a fresh run on `chars` characters with `batch` lanes of `seq` characters. */
export function sizedDefaults(chars: number, batch: number, seq: number): { steps: number; hidden: number; passes: number } {
  const perStep = Math.max(1, batch * seq);
  const steps = Math.min(MAX_DEFAULT_STEPS, Math.max(MIN_DEFAULT_STEPS, Math.round((DEFAULT_PASSES * chars) / perStep)));
  return { steps, hidden: chars < SMALL_TEXT_CHARS ? 64 : 128, passes: (steps * perStep) / Math.max(1, chars) };
}

/** In words, for the log and the CLI: what was chosen and why. */
export function describeSizedDefaults(chars: number, o: Pick<TrainOptions, 'steps' | 'hidden' | 'batch' | 'seq'>): string {
  const passes = (o.steps * o.batch * o.seq) / Math.max(1, chars);
  return `${o.steps} steps (about ${passes < 10 ? passes.toFixed(1) : Math.round(passes)} passes over ${chars.toLocaleString('en-US')} characters)` +
    `${chars < SMALL_TEXT_CHARS ? `, ${o.hidden} hidden units for a small text` : ''}`;
}

/** A relative rise of the validation loss above its best that counts (noise from one batch stays below it). */
export const RISE = 0.02;
/** Measurements in a row above best × (1 + RISE) before it is called overfitting. */
export const PATIENCE = 2;

export interface ValidationState {
  /** The lowest validation loss so far and its step. */
  readonly best: { readonly step: number; readonly loss: number } | null;
  /** This measurement is a new best. */
  readonly improved: boolean;
  /** The first measurement at which the loss has stayed above the best long enough: memorising, not learning. */
  readonly overfitting: boolean;
}

/**
 * Watches the validation loss of a run: its best, and the moment it has risen RISE above the best for PATIENCE
 * measurements in a row (said once; a new best re-arms it).
 */
export class ValidationWatch {
  private best: { step: number; loss: number } | null = null;
  private above = 0;
  private said = false;

  push(step: number, valLoss: number): ValidationState {
    if (!Number.isFinite(valLoss)) return { best: this.best, improved: false, overfitting: false };
    if (this.best === null || valLoss < this.best.loss) {
      this.best = { step, loss: valLoss };
      this.above = 0;
      this.said = false;
      return { best: this.best, improved: true, overfitting: false };
    }
    this.above = valLoss > this.best.loss * (1 + RISE) ? this.above + 1 : 0;
    const overfitting = !this.said && this.above >= PATIENCE;
    if (overfitting) this.said = true;
    return { best: this.best, improved: false, overfitting };
  }
}
