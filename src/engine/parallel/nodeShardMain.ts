import { workerData } from 'node:worker_threads';
import { isShardWorkerData } from './nodeThreads';
import { serveShards } from './shards';

// A shard helper thread started from the TypeScript sources (see nodeThreads.ts); bundled, worker.ts does this.
if (isShardWorkerData(workerData)) serveShards(workerData.spec);
