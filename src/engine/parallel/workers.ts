/**
 * How many workers a training run uses: the command line's `--workers` and the extension's
 * `gatescope.training.workers`, each either a count or "auto". A run's numbers depend on its worker count (the
 * batch's shards are summed in that order, see shards.ts), never on timing, so the count is recorded in the model
 * file and a resume under "auto" reuses it.
 */

/**
 * The most workers "auto" takes. The coordinator sums the n shard gradients alone, in one pass over n·P floats,
 * while a shard's own work shrinks less than n-fold (it reads all the weights whatever its lanes). Measured
 * (src/engine/parallel/bench.mjs; docs/performance.md, "Workers") at batch 32 on configs A and B, a step on n idle
 * cores is 1.9–2.0× (n = 2), 3.4× (4), 4.6–4.8× (8) and 4.0–4.2× (16) as fast as on one: from 8 to 16 the
 * reduction (~2 ns per parameter and shard: B 15 ms a step at n = 8, 34 ms at 16) grows by more than the smaller
 * shards save (B 12.5 ms). Synchronisation (~20 µs a step) does not count.
 */
export const AUTO_WORKERS_CAP = 8;

/**
 * The workers a run asks for: an explicit count as it is (attachWorkers warns when it does not split the batch);
 * "auto" as the cores less `reserve` (at least 1), at most AUTO_WORKERS_CAP, lowered to the largest count that
 * divides the batch, so that auto always splits it.
 */
export function resolveWorkers(requested: number | 'auto', cores: number, batch: number, reserve = 0): number {
  if (requested !== 'auto') return requested;
  let n = Math.max(1, Math.min(AUTO_WORKERS_CAP, Math.floor(cores) - reserve));
  while (batch % n !== 0) n--;
  return n;
}

/** The workers of a resumed run, and what the log says about them. */
export interface ResumeWorkers {
  readonly workers: number;
  /** The model does not record its count: the continuation may differ from the run it continues. */
  readonly note: string | null;
  /** The user named another count than the recorded one: the continuation differs from the run it continues. */
  readonly warning: string | null;
}

/**
 * The workers of a resumed run. "auto" continues with the count the model recorded (bit for bit the run it
 * continues) unless that count does not split the batch (the batch changed, and with it the run); a model without
 * a record (saved before it was kept, or by the PyTorch companion) gets "auto", with a note. An explicit count other
 * than the recorded one wins, with a warning that the continuation differs from an uninterrupted run.
 */
export function resumeWorkers(requested: number | 'auto', recorded: number | undefined, cores: number, batch: number, reserve = 0): ResumeWorkers {
  if (requested === 'auto') {
    if (recorded !== undefined && batch % recorded === 0) return { workers: recorded, note: null, warning: null };
    const workers = resolveWorkers('auto', cores, batch, reserve);
    if (recorded !== undefined) return { workers, note: null, warning: null };
    return {
      workers, warning: null,
      note: `the model does not record how many workers trained it (saved by an older Gatescope, whose default was 1, or by the PyTorch companion): ` +
        `resuming on ${workers} (auto); unless it was trained on ${workers}, the continuation differs by float rounding from an uninterrupted run`,
    };
  }
  if (recorded !== undefined && recorded !== requested) {
    return {
      workers: requested, note: null,
      warning: `resuming on ${requested} worker${requested === 1 ? '' : 's'} a run trained on ${recorded}: gradients are summed in another order, ` +
        `so the continuation differs by float rounding from an uninterrupted run (workers "auto" continues it exactly)`,
    };
  }
  return { workers: requested, note: null, warning: null };
}
