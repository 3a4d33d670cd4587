import type { ModelConfig } from '../types';
import type { WasmMemory } from '../wasm/heap';
import type { KernelVariant } from '../wasm/module';

/**
 * The helper threads' plumbing, as the engine's parallel code sees it: what a thread is started with (plain data
 * and shared buffers, structured-cloneable) and the host that starts it (Node: nodeThreads.ts).
 */

/** Everything a helper thread needs to run shards: plain data and shared buffers only (structured-cloneable). */
export interface ShardSpec {
  readonly cfg: ModelConfig;
  readonly T: number;
  readonly B: number;
  readonly shards: number;        // S
  readonly laneLength: number;
  readonly tokens: Int32Array;    // the whole token stream, on a SharedArrayBuffer
  readonly ctrl: Int32Array;      // (CTRL.SIZE) on a SharedArrayBuffer
  readonly data: SharedArrayBuffer;
}

/** What a row helper thread needs: structured-cloneable (a shared memory and a shared control block). */
export interface RowSplitSpec {
  readonly variant: KernelVariant;
  readonly memory: WasmMemory;
  readonly ctrl: Int32Array;
}

/** The thread plumbing the engine needs, implemented by the host (Node: nodeThreads.ts). */
export interface ThreadHost {
  /** Starts a thread that calls serveShards(spec) and returns when it does. */
  startShardThread(spec: ShardSpec): ShardThread;
  /** Starts a thread that calls serveRows(spec) (the trace's two-thread products); optional. */
  startRowThread?(spec: RowSplitSpec): ShardThread;
}

export interface ShardThread {
  /** Frees the thread; called after STOP_SEQ was published. */
  terminate(): void;
}
