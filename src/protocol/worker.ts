import type { CellType, ModelConfig, ModelInfo, SampleOptions, TensorHistory, TensorHistoryRow, TrainOptions } from '../engine/types';
import type { ReachData } from './reach';
import type { TraceData, TraceSegmentData, TraceShape, TraceTail } from './trace';
import type { TraceExportFormat } from './traceExport';
import type { UnitsQuery, UnitsView } from './units';

/** A model file the worker holds from a `describe` with `hold` (see WorkerRequest 'trace'). */
export interface HeldModel {
  readonly held: string;
}

/** Host → worker requests. Model files cross as their bytes (the host does all file I/O). */
export type WorkerRequest =
  /**
   * Start training (a fresh model, or resuming `resume`) on `workers` threads (default 1); replies once the run
   * has started, with its summary. `info` is recorded in every checkpoint's metadata (the text's sources and hash);
   * `vocab` fixes a fresh model's vocabulary (a comparison model shares its model's).
   */
  | { type: 'train'; runId: number; text: string; source: string; options: TrainOptions; resume: Uint8Array | null;
      evalEvery: number; checkpointEvery: number; totalSteps: number; workers?: number; info?: ModelInfo; vocab?: readonly string[];
      /** `workers` came from "auto": lower it to a divisor of the batch the text allows (a short text shrinks it). */
      workersAuto?: boolean }
  /** Stop a run between two steps; it sends a final checkpoint and didFinish. */
  | { type: 'cancel'; runId: number }
  /**
   * Trace a text with a model. With `key`, the worker keeps the network and the trace under it (a few, the least
   * recently used dropped first, all of them after a minute without traces) for `reach` requests. `model` is the
   * file's bytes, or `{ held }`: the bytes a `describe` just held under that name (sent once, not twice); the
   * reply is then an error with code 'not-held' when the worker no longer has them (it restarted).
   */
  | { type: 'trace'; model: Uint8Array | HeldModel; text: string; key?: string }
  /**
   * The same trace in segments: didTraceStart (its shape), then didTraceSegment for each segment in order, then
   * the reply — the loss and the gradient norms (a second, segmented pass). Kept under `key` like `trace`; `reach`,
   * `units` and `traceJson` on that key wait for it. `budgetBytes` bounds what the trace holds in the host's webview
   * and here together (src/protocol/trace.ts traceDataBytes for the webview's part): a trace whose data alone is
   * larger is refused before it starts; the worker keeps its copy of the internals only where both fit, and
   * recomputes windows from checkpoints otherwise. `cancelTrace` stops it between two segments.
   */
  | { type: 'traceStream'; traceId: number; model: Uint8Array | HeldModel; text: string; key: string; budgetBytes: number }
  | { type: 'cancelTrace'; traceId: number }
  /**
   * The gradient reach of the prediction at `at` on the trace kept under `key`, up to `maxK` steps back, with the
   * summary over many predictions and the per-step factor of `layer`. With `saliencyFrom` (a timestep ≤ at), the
   * prediction's gradients and saliency reach back to it (the start of the text strip's window), else `maxK`
   * steps. Replies ReachData, or null when the trace is no longer kept (trace again with the key).
   */
  | { type: 'reach'; key: string; at: number; maxK: number; layer: number; saliencyFrom?: number }
  /**
   * Rank the units of the trace kept under `key` against a feature of its text (src/engine/units.ts searchFeature).
   * Replies UnitsView (src/protocol/units.ts), or null when the trace is no longer kept (trace again with the key).
   */
  | { type: 'units'; key: string; query: UnitsQuery }
  /**
   * The trace kept under `key` as JSON (src/protocol/traceJson.ts: the schema of `gatescope trace --json`), its UTF-8
   * bytes, transferred: built here so that the host never holds the string. Replies null when the trace is no longer
   * kept (trace again with the key); an error when no JSON text could hold it (traceJson.ts MAX_JSON_NUMBERS).
   */
  | { type: 'traceJson'; key: string }
  /**
   * Start writing the trace kept under `key` as a file (src/protocol/traceExport.ts): replies its size (exact for
   * safetensors, estimated for JSON), or null when the trace is no longer kept; then each `exportNext` replies the
   * next piece of the file (transferred), null at its end. One export per id; `exportClose` drops one left unfinished.
   */
  | { type: 'exportOpen'; exportId: number; key: string; format: TraceExportFormat }
  | { type: 'exportNext'; exportId: number }
  | { type: 'exportClose'; exportId: number }
  /** Generate text; chunks stream as didSample notifications, the reply comes at the end. */
  | { type: 'sample'; sampleId: number; model: Uint8Array; options: SampleOptions; seed: number }
  /** Stop a sample stream. */
  | { type: 'cancelSample'; sampleId: number }
  /** Check and describe a model file; with `hold`, keep its bytes under that name for the next `trace` of it. */
  | { type: 'describe'; model: Uint8Array; hold?: string }
  /**
   * Make a PyTorch model (torch.save or safetensors under any names) a Gatescope model file. `vocab`: the text of a
   * vocabulary file (a JSON list or object, or one token per line) when the model has none; without it such a model
   * is an error with code 'needs-vocabulary'.
   */
  | { type: 'import'; model: Uint8Array; fileName: string; vocab: { text: string; fileName: string } | null; cell: CellType | null; module: string | null }
  /** The recurrent modules of a PyTorch model, for the user to choose one when an import says 'choose-module'. */
  | { type: 'recurrentModules'; model: Uint8Array }
  /** Test hook: crash the worker the way a bug would. */
  | { type: 'crash' };

/** What the worker answers each request with. */
export interface WorkerReplies {
  train: TrainStarted;
  cancel: void;
  trace: TraceData;
  traceStream: TraceStreamEnd;
  cancelTrace: void;
  reach: ReachData | null;
  units: UnitsView | null;
  traceJson: Uint8Array | null;
  exportOpen: { readonly size: number } | null;
  exportNext: Uint8Array | null;
  exportClose: void;
  sample: string;
  cancelSample: void;
  describe: ModelSummary;
  import: ImportedModel;
  recurrentModules: { readonly name: string; readonly detail: string }[];
  crash: void;
}

/** A PyTorch model made a Gatescope model (engine/importModel.ts): the file, and what became what. */
export interface ImportedModel {
  readonly bytes: Uint8Array;
  readonly config: ModelConfig;
  readonly format: 'torch.save' | 'safetensors';
  readonly mapping: readonly { readonly to: string; readonly from: string }[];
  readonly notes: readonly string[];
}

/** Worker → host notifications. */
export type WorkerNotification =
  /** A few times a second while training. */
  | { type: 'didProgress'; runId: number; progress: TrainProgress }
  /** A model file (periodic checkpoint or final), to be written atomically by the host. */
  | { type: 'didCheckpoint'; runId: number; step: number; bytes: Uint8Array; final: boolean; best?: boolean }
  /** The run is over: done, cancelled, or stopped by an error (the last good checkpoint was sent before). */
  | { type: 'didFinish'; runId: number; reason: 'done' | 'cancelled' | 'error'; error?: { message: string; user: boolean }; progress: TrainProgress | null }
  | { type: 'didSample'; sampleId: number; text: string }
  /** A streamed trace's shape, before its first segment. */
  | { type: 'didTraceStart'; traceId: number; shape: TraceShape; segments: number }
  /** One segment of a streamed trace (its arrays transferred). */
  | { type: 'didTraceSegment'; traceId: number; segment: TraceSegmentData };

/** Reply to `traceStream`: the tail, or where it stopped when cancelled. */
export type TraceStreamEnd =
  | ({ readonly cancelled: false; readonly kept: 'internals' | 'checkpoints' } & TraceTail)
  | { readonly cancelled: true; readonly forwarded: number };

export interface TrainProgress {
  readonly step: number;
  readonly totalSteps: number;
  readonly epoch: number;
  readonly loss: number;
  readonly valLoss: number | null;
  readonly gradNorm: number;
  readonly clipRatio: number;
  readonly charsPerSec: number;
  /** Seconds left at the current speed. */
  readonly etaSeconds: number;
  /** The lowest validation loss so far and its step (null before the first measurement or without validation). */
  readonly bestVal?: { readonly step: number; readonly loss: number } | null;
  /**
   * The latest step at which the validation loss had stayed 2% above its best for two measurements
   * (engine/schedule.ts): the model memorises the text; null while that has not happened. Kept once it has, so a
   * throttled report cannot miss it; compare with bestVal.step for whether it has recovered since.
   */
  readonly overfitSince?: number | null;
  /**
   * The per-tensor diagnostics measured since the previous report (every statsEvery steps: engine/diagnostics.ts),
   * with the tensors' names in the model file's order; absent when none was measured since.
   */
  readonly tensors?: { readonly names: readonly string[]; readonly rows: readonly TensorHistoryRow[] };
}

/** Reply to `train`. */
export interface TrainStarted {
  readonly config: ModelConfig;
  readonly parameters: number;
  readonly characters: number;
  readonly heldOut: number;
  readonly seq: number;
  readonly batch: number;
  readonly startStep: number;
  readonly warnings: readonly string[];
}

/** Reply to `describe`. */
export interface ModelSummary {
  readonly config: ModelConfig;
  readonly parameters: number;
  readonly vocab: readonly string[];
  readonly info: ModelInfo;
  readonly resumableFrom: number | null;
  /** The settings it was trained with (from its training state, checked when the worker read the file); null without one. */
  readonly trainOptions: TrainOptions | null;
  /** The training history the file keeps (`gatescope.history`: at most 512 rows over the run); null without one. */
  readonly history?: TensorHistory | null;
  readonly warnings: readonly string[];
}


/** The per-tensor training diagnostics, as they cross to the host and the webview (engine/diagnostics.ts). */
export type { TensorHistory, TensorHistoryRow } from '../engine/types';
