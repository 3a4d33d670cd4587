import { setDefaultKernels, type Kernels } from './kernels';
import { RowSplit } from './parallel/rowSplit';
import type { ThreadHost } from './parallel/threads';
import type { StartRowHelper } from './trace';
import type { FloatArrayConstructor } from './types';
import { createKernels } from './wasm/wasmKernels';

/**
 * The wiring module: the one place that knows the engine's speed-ups and hands them to its core. The core
 * (network, unroll, trace, reach, trainer) computes on the `Kernels` interface and the optional interfaces of
 * speedups.ts; the worker, the CLI and the extension (for the debugger's stepper) call `useFastKernels()` once at
 * start, pass `rowHelpers(threads)` to traces, and `attachWorkers` (parallel/attach.ts) to training runs. Tests
 * install the same kernels (test/setup.ts) so that they test what users run; a test that wants the reference
 * passes `new JsKernels()` explicitly.
 */

/**
 * The kernels every network gets unless its maker names others: WebAssembly SIMD for float32 where the host runs
 * it (relaxed SIMD if it validates), else — and always for float64 — the TypeScript reference.
 */
export function useFastKernels(): void {
  setDefaultKernels((Float: FloatArrayConstructor): Kernels => createKernels('auto', Float));
}

/** Kernels for the engine worker's traces, apart from training's (a trace keeps its buffers in their memory). */
export function traceKernels(): Kernels {
  return createKernels();
}

/**
 * Row helper threads for batch-1 traces, started through `threads` (Node's worker_threads: parallel/nodeThreads):
 * only for the WebAssembly kernels, whose memory a helper thread can share.
 */
export function rowHelpers(threads: ThreadHost): StartRowHelper {
  return (kernels) => RowSplit.start(kernels, threads);
}
