import type { PreparedRun } from '../run';
import type { TrainingState } from '../trainer';
import { ParallelSteps } from './parallelSteps';
import type { ThreadHost } from './threads';

/** A run's workers, as attached: what its numbers depend on, and how to save and end it. */
export interface AttachedWorkers {
  /** The worker count the run's numbers depend on: its shards per step (1: the trainer alone). */
  readonly workers: number;
  /** Why the run trains on one thread rather than on the count asked for, or null. */
  readonly warning: string | null;
  /** The training state to save: the trainer's, with `options.workers` recorded so that a resume can reproduce it. */
  snapshot(): TrainingState;
  /** Hands the carried state back to the trainer and stops the helper threads (nothing to do on one worker). */
  detach(): void;
}

/**
 * Trains a prepared run on `workers` shards per step, when its batch splits evenly (else one thread, and a warning),
 * on at most `threads` threads: this one and threads − 1 helpers. Fewer threads than shards compute the same
 * numbers (a shard is claimed by whichever thread is free, see shards.ts), so a run recorded on more workers than
 * this machine has cores continues exactly without oversubscribing them. The caller calls detach() when the run ends.
 */
export function attachWorkers(run: PreparedRun, workers: number, host: ThreadHost, threads = workers): AttachedWorkers {
  const { trainer, net, tokens } = run;
  const single = (warning: string | null): AttachedWorkers => ({
    workers: 1, warning, snapshot: () => recording(trainer.snapshot(), 1), detach: () => undefined,
  });
  if (workers <= 1) return single(null);
  if (trainer.plan.batch % workers !== 0) {
    return single(`the batch (${trainer.plan.batch}) does not split into ${workers} equal parts: training on one thread`);
  }
  const helpers = Math.max(0, Math.min(workers, threads) - 1);
  const engine = new ParallelSteps(net, tokens, trainer.plan, host, { shards: workers, helpers });
  trainer.useEngine(engine);
  let attached = true;
  return {
    workers,
    warning: null,
    snapshot: () => recording(trainer.snapshot(), workers),
    detach: () => {
      if (!attached) return;
      attached = false;
      trainer.useEngine(null);
      engine.dispose();
    },
  };
}

function recording(state: TrainingState, workers: number): TrainingState {
  return { ...state, options: { ...state.options, workers } };
}
