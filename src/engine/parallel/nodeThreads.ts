import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { RowSplitSpec, ShardSpec, ShardThread, ThreadHost } from './threads';

/** workerData.role of a shard helper thread; src/engine/worker.ts serves shards when it sees it. */
export const SHARD_ROLE = 'gatescope-shard';

export interface ShardWorkerData {
  readonly role: typeof SHARD_ROLE;
  readonly spec: ShardSpec;
}

/** workerData.role of a row helper thread (two-thread trace products, rowSplit.ts). */
export const ROW_ROLE = 'gatescope-rows';

export interface RowWorkerData {
  readonly role: typeof ROW_ROLE;
  readonly spec: RowSplitSpec;
}

export function isRowWorkerData(d: unknown): d is RowWorkerData {
  return typeof d === 'object' && d !== null && (d as { role?: unknown }).role === ROW_ROLE;
}

export function isShardWorkerData(d: unknown): d is ShardWorkerData {
  return typeof d === 'object' && d !== null && (d as { role?: unknown }).role === SHARD_ROLE;
}

/**
 * Shard helper threads on Node's worker_threads. Bundled (dist/), a helper is dist/worker.js started with the
 * shard role; from the TypeScript sources (tests, tsx), it is nodeShardMain.ts with tsx loaded into the thread (resolved from the working directory, the project's root under mocha).
 */
export const nodeThreads: ThreadHost = {
  startShardThread(spec: ShardSpec): ShardThread {
    const workerData: ShardWorkerData = { role: SHARD_ROLE, spec };
    const worker = startHelper(workerData);
    return { terminate: () => { void worker.terminate(); } };
  },
  startRowThread(spec: RowSplitSpec): ShardThread {
    const workerData: RowWorkerData = { role: ROW_ROLE, spec };
    const worker = startHelper(workerData);
    // a row helper that fails is only a slower trace: the coordinator computes its rows (rowSplit.ts)
    worker.on('error', () => { /* given up by the coordinator */ });
    return { terminate: () => { void worker.terminate(); } };
  },
};

/** The cores this process may use (os.availableParallelism where Node has it, else the CPUs), for `workers: auto`. */
export function availableCores(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

function startHelper(workerData: ShardWorkerData | RowWorkerData): Worker {
  const fromSource = __filename.endsWith('.ts');
  const file = fromSource ? path.join(__dirname, 'nodeShardMain.ts') : path.join(__dirname, 'worker.js');
  const worker = new Worker(file, { workerData, execArgv: fromSource ? ['--require', 'tsx/cjs'] : [] });
  worker.unref();
  return worker;
}
