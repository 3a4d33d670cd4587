import { workerData } from 'node:worker_threads';
import { useFastKernels } from '../backend';
import { isRowWorkerData, isShardWorkerData } from './nodeThreads';
import { serveRows } from './rowSplit';
import { serveShards } from './shards';

// A shard helper thread started from the TypeScript sources (see nodeThreads.ts); bundled, worker.ts does this.
useFastKernels();
if (isShardWorkerData(workerData)) serveShards(workerData.spec);
else if (isRowWorkerData(workerData)) serveRows(workerData.spec);
