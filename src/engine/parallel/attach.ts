import type { PreparedRun } from '../run';
import { ParallelSteps } from './parallelSteps';
import type { ThreadHost } from './threads';

/**
 * Trains a prepared run on `workers` threads (this one and workers − 1 helpers), when its batch splits evenly;
 * returns a warning instead when it cannot, and null when there is nothing to do. The caller disposes the
 * returned engine when the run ends (detach() hands the carried state back to the trainer first).
 */
export function attachWorkers(run: PreparedRun, workers: number, host: ThreadHost):
  { detach(): void; warning: null } | { detach: null; warning: string } | null {
  if (workers <= 1) return null;
  const { trainer, net, tokens } = run;
  if (trainer.plan.batch % workers !== 0) {
    return { detach: null, warning: `the batch (${trainer.plan.batch}) does not split into ${workers} equal parts: training on one thread` };
  }
  const engine = new ParallelSteps(net, tokens, trainer.plan, host, { shards: workers, helpers: workers - 1 });
  trainer.useEngine(engine);
  return {
    warning: null,
    detach: () => {
      trainer.useEngine(null);
      engine.dispose();
    },
  };
}
